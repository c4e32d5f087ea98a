#!/usr/bin/env python3
"""Peer agreement of dsr on the third-party corpus (`make compat`).

    compat.py DSR_BINARY CORPUS_DIR [REPORT_DIR]

Three checks, each printed as figures and a list of every disagreement:

1. Emails: wherever Python's email package finds a PDF or Word part,
   `dsr check --json` must find it too (same file name and content type;
   a different decoded size is listed as well).
2. PDFs: wherever `qpdf --check` accepts a PDF and `pdftk
   dump_data_fields_utf8` reads its fields, `dsr parse-pdf` must read the
   same fields (pdftk is asked only where qpdf --json finds form fields):
   every filled field by the same name with the same value
   (check boxes "Off" and empty count as unfilled), and, as a second
   figure, every field name at all. Where qpdf warns about a PDF that
   names an AcroForm (it reconstructed the xref table, say) or rejects it,
   pdftk is asked directly, and where it reads filled fields, so must we.
3. No third-party email, PDF or Word file may come out as a DSR referral or
   consent form: each PDF and .docx is sent through `dsr check` in a
   minimal email of its own, under its own file name.
4. Outlook's wrappers: each winmail.dat (TNEF) and Outlook item (.msg),
   attached to an email of its own, must give dsr check the files Debian's
   tnef and msgconvert take out of it, by name and size (where the peer
   fails part way, at least the files it gave).

5. Bounces: over sisimai's set of real bounces, delay warnings and other
   automatic emails, the Message-IDs `dsr check` reads as returned
   undelivered must be those sisimai (scripts/compat/sisimai_verdicts.pl,
   Perl) reads in a bounce it finds failed (Action failed, a class-5
   status, or reason "expired": given up after retrying), and none where
   it finds no failure. Every difference is listed.

The report is also written to REPORT_DIR (default: next to the corpus) as
report.md and report.json. DSR_COMPAT_ONLY=emails,pdfs,forms,wrappers,bounces (the default)
names the checks to run, e.g. DSR_COMPAT_ONLY=pdfs,forms after a change to
the PDF reader. Standard library only; needs qpdf and pdftk, and tnef and
msgconvert for the wrappers, Perl with JSON and Class::Accessor::Lite for
the bounces.
"""

import concurrent.futures as cf
import email.message
import html
import json
import os
import subprocess
import sys
import tempfile
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import email_parts  # noqa: E402

TODAY = "2026-11-25"
WORD_TYPES = {
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
FORM_KINDS = {"referral", "consent", "both"}


def files_under(root):
    out = []
    for d, _, names in os.walk(root):
        out += [os.path.join(d, n) for n in names]
    return sorted(out)


def short(path, corpus):
    return os.path.relpath(path, corpus)


def sanitise(name):
    """parser.sanitiseFilename, for comparing Python's names with ours."""
    name = name.replace("\\", "/").rstrip("/").split("/")[-1]
    if name in (".", ""):
        return ""
    name = "".join(c for c in name if unicodedata.category(c) != "Cc").strip()
    return name[:200]


def is_form_part(p):
    name = p["filename"].lower()
    return (p["content_type"] == "application/pdf" or p["content_type"] in WORD_TYPES
            or name.endswith((".pdf", ".doc", ".docx")))


def dsr_check(dsr, files, batch=50):
    """file -> the dsr check --json result, or {"error": ...}."""
    results = {}
    for i in range(0, len(files), batch):
        chunk = files[i:i + batch]
        try:
            run = subprocess.run([dsr, "check", "--json", "--today", TODAY, *chunk],
                                 capture_output=True, timeout=1800)
        except subprocess.TimeoutExpired:
            for f in chunk:
                results[f] = {"error": "dsr check timed out on its batch"}
            continue
        for line in run.stdout.decode("utf-8", "replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            results[rec["file"]] = rec
        for line in run.stderr.decode("utf-8", "replace").splitlines():
            for f in chunk:
                if line.startswith("dsr check: %s: " % f):
                    results[f] = {"error": line[len("dsr check: %s: " % f):]}
        for f in chunk:
            results.setdefault(f, {"error": "no result (exit %d)" % run.returncode})
    return results


def form_violation(rec):
    """Why a dsr check result counts as a DSR form, or None."""
    if rec.get("referral") or rec.get("consent"):
        return "read as a %s" % " and ".join(k for k in ("referral", "consent") if rec.get(k))
    kinds = [a["kind"] for a in rec.get("attachments", []) if a.get("kind") in FORM_KINDS]
    if kinds:
        return "attachment classified as %s" % ", ".join(kinds)
    return None


# ---------------------------------------------------------------- emails

def check_emails(dsr, corpus):
    files = files_under(os.path.join(corpus, "email"))
    py = {f: email_parts.record(f) for f in files}
    ours = dsr_check(dsr, files)
    rep = {"emails": len(files), "python_unreadable": [], "with_form_parts": 0, "agree": 0,
           "disagreements": [], "size_differences": [], "dsr_unreadable": [], "violations": [],
           "python_lost_name": []}
    for f in files:
        p, o = py[f], ours[f]
        if "error" in p:
            rep["python_unreadable"].append({"file": short(f, corpus), "error": p["error"]})
        if "error" in o:
            rep["dsr_unreadable"].append({"file": short(f, corpus), "error": o["error"]})
        else:
            v = form_violation(o)
            if v:
                rep["violations"].append({"file": short(f, corpus), "why": v})
        wanted = [x for x in p.get("parts", []) if is_form_part(x)]
        if not wanted:
            continue
        rep["with_form_parts"] += 1
        found = o.get("attachments", [])
        missing = []
        for w in wanted:
            name = sanitise(w["filename"])
            match = [a for a in found if a["filename"] == name and a["content_type"] == w["content_type"]]
            if not match and "\ufffd" in name:
                # Python lost the raw 8-bit name (U+FFFD): the same part
                # is the one of that type and size.
                match = [a for a in found if a["content_type"] == w["content_type"] and a["size"] == w["size"]]
                if match:
                    rep["python_lost_name"].append({"file": short(f, corpus), "python": name, "dsr": match[0]["filename"]})
            if not match:
                missing.append(w)
            elif all(a["size"] != w["size"] for a in match):
                rep["size_differences"].append({"file": short(f, corpus), "part": name,
                                                "python": w["size"], "dsr": match[0]["size"]})
        if missing:
            rep["disagreements"].append({
                "file": short(f, corpus),
                "python": [(m["filename"], m["content_type"], m["size"]) for m in missing],
                "dsr": [(a["filename"], a["content_type"], a["size"]) for a in found] if "error" not in o else o["error"],
            })
        else:
            rep["agree"] += 1
    return rep


# ---------------------------------------------------------------- PDFs

def run_tool(args, stdin=None, timeout=60):
    try:
        r = subprocess.run(args, input=stdin, capture_output=True, timeout=timeout)
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        return -1, b"", b"timed out"


PDFTK_KEYS = {"FieldType", "FieldName", "FieldNameAlt", "FieldFlags", "FieldValue", "FieldValueDefault",
              "FieldJustification", "FieldMaxLength", "FieldStateOption"}


def pdftk_fields(out):
    """The fields of pdftk dump_data_fields_utf8: name -> [(type, values)],
    a list since two field objects can share one full name. A value that
    runs over several lines (pdftk writes a multi-line text as is) is
    joined with "\n"; a field with several FieldValue lines (an array
    value) keeps them all."""
    fields = {}
    for block in out.decode("utf-8", "replace").split("---\n"):
        name, ftype, values, last = None, "", [], None
        for line in block.split("\n"):
            key, sep, val = line.partition(": ")
            if not sep or key not in PDFTK_KEYS:
                if last == "FieldValue" and values:
                    values[-1] += "\n" + line
                continue
            last = key
            if key == "FieldName":
                name = val
            elif key == "FieldType":
                ftype = val
            elif key == "FieldValue":
                values.append(val)
        if name is not None:
            values = [html.unescape(v) for v in values]
            fields.setdefault(name, []).append((ftype, values))
    return fields


def pdftk_value(entries):
    """The filled value pdftk gives a name, and the alternatives that also
    count as the same: each field object's first value and all of them
    joined."""
    options = []
    ftype = entries[0][0]
    for t, values in entries:
        if values:
            options += [norm(values[0], t), norm("\n".join(values), t)]
    options = [o for o in options if o]
    return ftype, options


def norm(value, ftype):
    v = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if ftype == "Button" and v == "Off":
        return ""
    return v


def check_one_pdf(dsr, f):
    res = {"file": f}
    rc, _, err = run_tool(["qpdf", "--check", f])
    res["qpdf"] = rc
    qpdf_names = set()
    if rc != 0:
        # A file qpdf warns about (3: it reconstructed the xref table, say)
        # or gives up on (2): pdftk may still read its fields, and so must
        # we. Only files that name an AcroForm are worth pdftk's second.
        with open(f, "rb") as fh:
            if b"/AcroForm" not in fh.read():
                return res
        res["qpdf_fields"] = -1  # not asked
    else:
        # pdftk (a JVM) costs a second a file: ask it only about PDFs that
        # qpdf says have form fields.
        rc, out, _ = run_tool(["qpdf", "--json", "--json-key=acroform", f])
        try:
            qfields = json.loads(out)["acroform"]["fields"]
            res["qpdf_fields"] = len(qfields)
            qpdf_names = {x.get("fullname") for x in qfields}
        except (ValueError, KeyError, TypeError, AttributeError):
            res["qpdf_fields"] = 0
        if res["qpdf_fields"] == 0:
            return res
    rc, out, _ = run_tool(["pdftk", f, "dump_data_fields_utf8"])
    res["pdftk"] = rc
    if rc != 0:
        return res
    fields = pdftk_fields(out)
    res["fields"] = len(fields)
    if not fields:
        return res
    with open(f, "rb") as fh:
        data = fh.read()
    rc, out, err = run_tool([dsr, "parse-pdf"], stdin=data, timeout=60)
    ours = {}
    try:
        doc = json.loads(out)
    except ValueError:
        doc = {"error": "parse-pdf exit %d: %s" % (rc, err.decode("utf-8", "replace")[:200])}
    for form in doc.get("forms") or []:
        for k, v in (form.get("ByName") or {}).items():
            ours.setdefault(k, v)
    res["dsr_error"] = doc.get("reason") or doc.get("error") or ""
    filled = {}
    for k, entries in fields.items():
        ftype, options = pdftk_value(entries)
        if options:
            filled[k] = (ftype, options)
    res["filled"] = len(filled)
    res["missing"] = sorted(k for k in filled if k not in ours)
    res["different"] = sorted((k, ours[k], filled[k][1][0]) for k in filled
                              if k in ours and norm(ours[k], filled[k][0]) not in filled[k][1])
    res["names_missing"] = sorted(k for k in fields if k not in ours)
    # A name pdftk reports and qpdf does not: pdftk's field walk lists a
    # node that is no field, or follows a cycle (see BENCHMARKS.md).
    res["pdftk_only"] = sorted(k for k in res["names_missing"] if k not in qpdf_names)
    return res


def check_pdfs(dsr, corpus, workers):
    files = files_under(os.path.join(corpus, "pdf"))
    with cf.ThreadPoolExecutor(workers) as ex:
        results = list(ex.map(lambda f: check_one_pdf(dsr, f), files))
    rep = {"pdfs": len(files), "qpdf_accepts": 0, "qpdf_fields": 0, "pdftk_reads": 0, "with_fields": 0,
           "with_filled": 0, "agree_filled": 0, "agree_names": 0, "fields_filled": 0,
           "fields_same": 0, "disagreements": []}
    dmg = {"files": 0, "pdftk_filled": 0, "agree_filled": 0, "fields_filled": 0, "fields_same": 0, "disagreements": []}
    rep["damaged"] = dmg
    for r in results:
        if r.get("qpdf") != 0:
            # qpdf warned or failed; pdftk read filled fields: do we?
            if r.get("qpdf_fields") == -1:
                dmg["files"] += 1
            if r.get("pdftk") == 0 and r.get("filled"):
                dmg["pdftk_filled"] += 1
                dmg["fields_filled"] += r["filled"]
                dmg["fields_same"] += r["filled"] - len(r["missing"]) - len(r["different"])
                if not r["missing"] and not r["different"]:
                    dmg["agree_filled"] += 1
                else:
                    dmg["disagreements"].append({
                        "file": short(r["file"], corpus), "qpdf": r["qpdf"], "filled": r["filled"],
                        "dsr_error": r["dsr_error"], "missing": r["missing"][:8], "missing_count": len(r["missing"]),
                        "different": r["different"][:5], "different_count": len(r["different"]),
                    })
            continue
        rep["qpdf_accepts"] += 1
        if not r.get("qpdf_fields"):
            continue
        rep["qpdf_fields"] += 1
        if r.get("pdftk") != 0:
            continue
        rep["pdftk_reads"] += 1
        if not r.get("fields"):
            continue
        rep["with_fields"] += 1
        if not r["names_missing"]:
            rep["agree_names"] += 1
        if r["filled"]:
            rep["with_filled"] += 1
            rep["fields_filled"] += r["filled"]
            rep["fields_same"] += r["filled"] - len(r["missing"]) - len(r["different"])
            if not r["missing"] and not r["different"]:
                rep["agree_filled"] += 1
        if r["missing"] or r["different"] or r["names_missing"]:
            rep["disagreements"].append({
                "file": short(r["file"], corpus), "fields": r["fields"], "filled": r["filled"],
                "dsr_error": r["dsr_error"], "missing": r["missing"][:8], "missing_count": len(r["missing"]),
                "different": r["different"][:5], "different_count": len(r["different"]),
                "names_missing_count": len(r["names_missing"]),
                "pdftk_only": r["pdftk_only"][:8],
            })
    return rep


# ---------------------------------------------------------------- forms

def check_classification(dsr, corpus, tmp):
    files = files_under(os.path.join(corpus, "pdf")) + files_under(os.path.join(corpus, "docx"))
    wrapped = {}
    for i, f in enumerate(files):
        msg = email.message.EmailMessage()
        msg["From"] = "referrer@example.org"
        msg["To"] = "dsr@example.org"
        msg["Subject"] = "Referral"
        msg["Message-ID"] = "<compat-%d@example.org>" % i
        msg.set_content("Please find the form attached.\n")
        with open(f, "rb") as fh:
            data = fh.read()
        name = os.path.basename(f).split("%")[-1]
        if f.lower().endswith(".pdf"):
            msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
        else:
            msg.add_attachment(data, maintype="application",
                               subtype="vnd.openxmlformats-officedocument.wordprocessingml.document", filename=name)
        w = os.path.join(tmp, "%05d.eml" % i)
        with open(w, "wb") as fh:
            fh.write(msg.as_bytes())
        wrapped[w] = f
    ours = dsr_check(dsr, sorted(wrapped))
    rep = {"documents": len(files), "violations": [], "kinds": {}, "unreadable_reasons": {}}
    for w, f in sorted(wrapped.items()):
        o = ours[w]
        if "error" in o:
            rep["violations"].append({"file": short(f, corpus), "why": "dsr check failed: " + o["error"]})
            continue
        v = form_violation(o)
        if v:
            rep["violations"].append({"file": short(f, corpus), "why": v})
        for a in o.get("attachments", []):
            rep["kinds"][a["kind"]] = rep["kinds"].get(a["kind"], 0) + 1
            if a.get("error"):
                rep["unreadable_reasons"][a["error"]] = rep["unreadable_reasons"].get(a["error"], 0) + 1
    return rep


# ---------------------------------------------------------------- wrappers

def collapse(name):
    """msgconvert folds a long file name across header lines."""
    return " ".join(sanitise(name).split())


def peer_wrapped_files(f, tmp):
    """name -> size as the peer takes the files out, and whether it finished."""
    out = tempfile.mkdtemp(dir=tmp)
    if f.lower().endswith(".tnef") or f.lower().endswith(".dat"):
        rc, _, _ = run_tool(["tnef", "-C", out, "--overwrite", f])
        return {collapse(n): os.path.getsize(os.path.join(out, n)) for n in os.listdir(out)}, rc == 0
    eml = os.path.join(out, "item.eml")
    rc, _, _ = run_tool(["msgconvert", "--outfile", eml, f])
    if rc != 0 or not os.path.exists(eml):
        return {}, False
    rec = email_parts.record(eml)
    return {collapse(p["filename"]): p["size"] for p in rec.get("parts", []) if p["filename"]}, True


def check_wrappers(dsr, corpus, tmp):
    files = files_under(os.path.join(corpus, "wrap"))
    wrapped = {}
    for i, f in enumerate(files):
        msg = email.message.EmailMessage()
        msg["From"] = "referrer@example.org"
        msg["Subject"] = "Referral"
        msg["Message-ID"] = "<compat-wrap-%d@example.org>" % i
        msg.set_content("Please find the forms attached.\n")
        with open(f, "rb") as fh:
            data = fh.read()
        if f.lower().endswith(".msg"):
            msg.add_attachment(data, maintype="application", subtype="vnd.ms-outlook", filename="item.msg")
        else:
            msg.add_attachment(data, maintype="application", subtype="ms-tnef", filename="winmail.dat")
        w = os.path.join(tmp, "wrap-%05d.eml" % i)
        with open(w, "wb") as fh:
            fh.write(msg.as_bytes())
        wrapped[w] = f
    ours = dsr_check(dsr, sorted(wrapped))
    rep = {"files": len(files), "peer_finished": 0, "agree": 0, "files_out": 0, "disagreements": [],
           "peer_failed": []}
    for w, f in sorted(wrapped.items()):
        want, finished = peer_wrapped_files(f, tmp)
        o = ours[w]
        # The wrapper itself is left out by its name (and when it cannot
        # be opened it is "unsupported"); a file taken out of it counts
        # whatever dsr makes of it, an old Word .doc ("unsupported") too.
        got = {collapse(a["filename"]): a["size"] for a in o.get("attachments", [])
               if a["filename"] not in ("winmail.dat", "item.msg")}
        rep["files_out"] += len(got)
        if finished:
            rep["peer_finished"] += 1
            ok = got == want
        else:
            ok = all(got.get(k) == v for k, v in want.items())
            rep["peer_failed"].append({"file": short(f, corpus), "peer": len(want), "dsr": len(got)})
        if ok:
            rep["agree"] += 1
        else:
            rep["disagreements"].append({"file": short(f, corpus), "peer": want, "dsr": got,
                                         "error": o.get("error", "")})
    return rep


# ---------------------------------------------------------------- report

# ---------------------------------------------------------------- bounces

def sisimai_failed(facts):
    """Whether sisimai reads a failure, and the returned ids it names."""
    failed, ids = False, []
    for f in facts:
        if f["action"] == "failed" or f["reason"] == "expired" or (f["action"] == "" and f["status"].startswith("5")):
            failed = True
            if f["messageid"] and f["messageid"] not in ids:
                ids.append(f["messageid"])
    return failed, ids


def check_bounces(dsr, corpus):
    files = files_under(os.path.join(corpus, "bounce"))
    lib = os.path.join(corpus, "tools", "sisimai", "lib")
    if not files or not os.path.isdir(lib):
        return {"skipped": "no sisimai bounces or library in the corpus (fetch-corpus.sh)"}
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sisimai_verdicts.pl")
    sis = {}
    for i in range(0, len(files), 200):
        chunk = files[i:i + 200]
        run = subprocess.run(["perl", "-I", lib, script, *chunk], capture_output=True, timeout=600)
        by_name = {os.path.basename(f): f for f in chunk}
        for line in run.stdout.decode("utf-8", "replace").splitlines():
            rec = json.loads(line)
            sis[by_name.get(rec["file"], rec["file"])] = rec["facts"]
    # sisimai reads nothing in a message with old Mac line ends (a CR
    # alone; maildir/mac holds copies of maildir/bsd so saved): its
    # verdict on the same bounce with LF or CRLF line ends (maildir/bsd or
    # maildir/dos) stands for it.
    twins = {}
    for f in files:
        with open(f, "rb") as fh:
            data = fh.read()
        if b"\n" not in data and b"\r" in data and not sis.get(f):
            for d in ("bsd", "dos"):
                twin = f.replace("maildir%mac%", "maildir%" + d + "%")
                if sis.get(twin):
                    twins[f] = twin
                    break
    ours = dsr_check(dsr, files)
    rep = {"files": len(files), "cr_line_ends_read_by_twin": len(twins), "sisimai_failed": 0, "sisimai_failed_with_id": 0, "agree": 0,
           "no_failure": 0, "no_failure_agree": 0, "missed": [], "differ": [], "more": [],
           "returned_not_failed": [], "failed_no_id_dsr_has": 0, "dsr_unreadable": []}
    for f in files:
        o = ours[f]
        if "error" in o:
            rep["dsr_unreadable"].append({"file": short(f, corpus), "error": o["error"]})
            continue
        got = o.get("undelivered") or []
        failed, want = sisimai_failed(sis.get(twins.get(f, f), []))
        row = {"file": short(f, corpus), "sisimai": want, "dsr": got}
        if not failed:
            rep["no_failure"] += 1
            if got:
                rep["returned_not_failed"].append(row)
            else:
                rep["no_failure_agree"] += 1
            continue
        rep["sisimai_failed"] += 1
        if not want:
            rep["failed_no_id_dsr_has"] += bool(got)
            continue
        rep["sisimai_failed_with_id"] += 1
        if got == want:
            rep["agree"] += 1
        elif not got:
            rep["missed"].append(row)
        elif set(want) <= set(got):
            rep["more"].append(row)
        else:
            rep["differ"].append(row)
    return rep


def markdown_bounces(w, b):
    w("\n## Bounces: what returns undelivered, dsr check vs sisimai\n")
    if "skipped" in b:
        w("- skipped: " + b["skipped"])
        return
    w("- files: %d; sisimai reads a failure in %d, naming the returned message in %d; dsr names the same: %s" % (
        b["files"], b["sisimai_failed"], b["sisimai_failed_with_id"], pct(b["agree"], b["sisimai_failed_with_id"])))
    w("- sisimai reads no failure (a delay, an auto-reply, a report) in %d; dsr returns nothing in %s" % (
        b["no_failure"], pct(b["no_failure_agree"], b["no_failure"])))
    w("- failed, sisimai names no returned message, dsr names one: %d" % b["failed_no_id_dsr_has"])
    w("- with old Mac line ends (CR alone), which sisimai does not read, judged by sisimai's reading of the"
      " same bounce in maildir/bsd or maildir/dos: %d" % b["cr_line_ends_read_by_twin"])
    for kind, label in (("missed", "MISSED"), ("differ", "DIFFER"), ("more", "MORE"), ("returned_not_failed", "NOT-FAILED")):
        for d in b[kind]:
            w("  - %s %s: sisimai %s; dsr %s" % (label, d["file"], d["sisimai"], d["dsr"]))
    for d in b["dsr_unreadable"]:
        w("  - DSR-UNREADABLE %s: %s" % (d["file"], d["error"]))


def pct(a, b):
    return "%d/%d (%.1f%%)" % (a, b, 100.0 * a / b) if b else "0/0"


def markdown(em, pdf, cls, wrap=None, bounces=None):
    """The report; a check not run (None) is left out."""
    out = []
    w = out.append
    if em:
        markdown_emails(w, em)
    if pdf:
        markdown_pdfs(w, pdf)
    if cls:
        markdown_forms(w, cls)
    if wrap:
        markdown_wrappers(w, wrap)
    if bounces:
        markdown_bounces(w, bounces)
    return "\n".join(out) + "\n"


def markdown_wrappers(w, wrap):
    w("\n## Outlook's wrappers: winmail.dat and .msg, dsr check vs tnef and msgconvert\n")
    w("- wrappers: %d (the peer finished on %d); the same files, by name and size: %s; files taken out by dsr: %d" % (
        wrap["files"], wrap["peer_finished"], pct(wrap["agree"], wrap["files"]), wrap["files_out"]))
    for d in wrap["peer_failed"]:
        w("  - PEER-FAILED %s: the peer gave %d files before failing, dsr %d" % (d["file"], d["peer"], d["dsr"]))
    for d in wrap["disagreements"]:
        w("  - DISAGREE %s: peer %s; dsr %s %s" % (d["file"], d["peer"], d["dsr"], d["error"]))


def markdown_emails(w, em):
    w("## Emails: PDF and Word parts, dsr check vs Python's email package\n")
    w("- emails: %d; Python cannot read %d; dsr check cannot read %d" % (
        em["emails"], len(em["python_unreadable"]), len(em["dsr_unreadable"])))
    w("- emails where Python finds a PDF or Word part: %d; dsr finds every one of them in %s" % (
        em["with_form_parts"], pct(em["agree"], em["with_form_parts"])))
    w("- same part, different decoded size: %d" % len(em["size_differences"]))
    w("- of the agreeing, Python lost the 8-bit file name (U+FFFD) and dsr decoded it: %d" % len(em["python_lost_name"]))
    for d in em["python_lost_name"]:
        w("  - NAME %s: Python %r, dsr %r" % (d["file"], d["python"], d["dsr"]))
    for d in em["disagreements"]:
        w("  - DISAGREE %s: Python %s; dsr %s" % (d["file"], d["python"], d["dsr"]))
    for d in em["size_differences"]:
        w("  - SIZE %s: %s Python %d bytes, dsr %d" % (d["file"], d["part"], d["python"], d["dsr"]))
    for d in em["dsr_unreadable"]:
        w("  - DSR-UNREADABLE %s: %s" % (d["file"], d["error"]))
    w("- third-party emails read as a referral or consent: %d" % len(em["violations"]))
    for d in em["violations"]:
        w("  - FORM %s: %s" % (d["file"], d["why"]))
    w("")


def markdown_pdfs(w, pdf):
    w("## PDFs: form fields, dsr parse-pdf vs pdftk (on files qpdf --check accepts)\n")
    w("- PDFs: %d; qpdf --check accepts %d; of those, qpdf finds form fields in %d; pdftk reads %d of them,"
      " with fields in %d, filled fields in %d" % (
          pdf["pdfs"], pdf["qpdf_accepts"], pdf["qpdf_fields"], pdf["pdftk_reads"], pdf["with_fields"],
          pdf["with_filled"]))
    w("- every filled field read with pdftk's name and value: %s PDFs; %s fields" % (
        pct(pdf["agree_filled"], pdf["with_filled"]), pct(pdf["fields_same"], pdf["fields_filled"])))
    w("- every field name (filled or not) found: %s PDFs" % pct(pdf["agree_names"], pdf["with_fields"]))
    for d in pdf["disagreements"]:
        w("  - DISAGREE %s: %d fields, %d filled; missing %d %s; different %d %s; names missing %d%s" % (
            d["file"], d["fields"], d["filled"], d["missing_count"], d["missing"], d["different_count"],
            [tuple(x) for x in d["different"]], d["names_missing_count"],
            "; dsr: " + d["dsr_error"] if d["dsr_error"] else "")
          + ("; of those, qpdf lists no field %s" % d["pdftk_only"] if d.get("pdftk_only") else ""))
    w("")
    dmg = pdf.get("damaged")
    if dmg is None:
        return
    w("## Damaged PDFs: filled fields, dsr parse-pdf vs pdftk (on files qpdf --check warns about or rejects)\n")
    w("- PDFs naming an AcroForm that qpdf --check warns about (exit 3) or rejects (exit 2): %d; pdftk reads"
      " filled fields in %d" % (dmg["files"], dmg["pdftk_filled"]))
    w("- every filled field read with pdftk's name and value: %s PDFs; %s fields" % (
        pct(dmg["agree_filled"], dmg["pdftk_filled"]), pct(dmg["fields_same"], dmg["fields_filled"])))
    for d in dmg["disagreements"]:
        w("  - DISAGREE %s (qpdf exit %d): %d filled; missing %d %s; different %d %s%s" % (
            d["file"], d["qpdf"], d["filled"], d["missing_count"], d["missing"], d["different_count"],
            [tuple(x) for x in d["different"]], "; dsr: " + d["dsr_error"] if d["dsr_error"] else ""))
    w("")


def markdown_forms(w, cls):
    w("## Classification: no third-party file is a DSR form\n")
    w("- PDF and Word files, each in an email of its own: %d; read as a referral or consent: %d" % (
        cls["documents"], len(cls["violations"])))
    w("- attachment kinds: %s" % ", ".join("%s %d" % kv for kv in sorted(cls["kinds"].items())))
    w("- unreadable, by reason: %s" % "; ".join("%s: %d" % kv for kv in sorted(
        cls["unreadable_reasons"].items(), key=lambda kv: -kv[1])))
    for d in cls["violations"]:
        w("  - FORM %s: %s" % (d["file"], d["why"]))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    dsr, corpus = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    report_dir = sys.argv[3] if len(sys.argv) > 3 else os.path.dirname(corpus)
    workers = int(os.environ.get("DSR_COMPAT_JOBS", "2"))
    only = set(os.environ.get("DSR_COMPAT_ONLY", "emails,pdfs,forms,wrappers,bounces").split(","))
    em = pdf = cls = wrap = bounces = None
    if "emails" in only:
        em = check_emails(dsr, corpus)
        print("emails done", file=sys.stderr)
    if "pdfs" in only:
        pdf = check_pdfs(dsr, corpus, workers)
        print("pdfs done", file=sys.stderr)
    if "forms" in only:
        with tempfile.TemporaryDirectory() as tmp:
            cls = check_classification(dsr, corpus, tmp)
    if "wrappers" in only:
        with tempfile.TemporaryDirectory() as tmp:
            wrap = check_wrappers(dsr, corpus, tmp)
    if "bounces" in only:
        bounces = check_bounces(dsr, corpus)
    text = markdown(em, pdf, cls, wrap, bounces)
    with open(os.path.join(report_dir, "report.md"), "w") as f:
        f.write(text)
    with open(os.path.join(report_dir, "report.json"), "w") as f:
        json.dump({"emails": em, "pdfs": pdf, "classification": cls, "wrappers": wrap, "bounces": bounces}, f, indent=1, ensure_ascii=False)
    print(text)


if __name__ == "__main__":
    main()
