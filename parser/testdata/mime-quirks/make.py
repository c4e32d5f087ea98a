#!/usr/bin/env python3
"""Writes the damaged copies of the sample emails in this folder.

Each copy takes a clean sample (testdata/samples/NN-*/message.eml) and
damages its MIME the way one real mailer does; TestMIMEQuirks asserts the
referral and consent are read from each exactly as from the clean email.
Only the standard library is used; run it from anywhere:

    python3 parser/testdata/mime-quirks/make.py

The output is deterministic, so rerunning it must leave `git status` clean.
"""

import base64
import binascii
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "..", "..", "..", "testdata", "samples")


def sample(name):
    with open(os.path.join(SAMPLES, name, "message.eml"), "rb") as f:
        return f.read()


def boundary_of(raw):
    return re.search(rb'boundary="([^"]+)"', raw).group(1)


def eol_of(raw):
    return b"\r\n" if b"\r\n" in raw[:2000] else b"\n"


def split_parts(raw):
    """The header, and the parts (each with its header) of a one-level
    multipart message, without the delimiter lines."""
    b = boundary_of(raw)
    nl = eol_of(raw)
    head, body = raw.split(nl + nl, 1)
    chunks = body.split(b"--" + b)
    parts = [c[len(nl):-len(nl)] for c in chunks[1:-1]]
    return head, parts, b, nl


def join_parts(head, parts, b, nl, close=True):
    out = head + nl + nl
    for p in parts:
        out += b"--" + b + nl + p + nl
    if close:
        out += b"--" + b + b"--" + nl
    return out


def b64_parts_unpadded(raw, wrap=None):
    """Strips the base64 padding, optionally rewrapping the lines to a
    width that is not a multiple of four (Thunderbird extensions, PHP
    mailers, and hand-rolled scripts do both)."""
    head, parts, b, nl = split_parts(raw)
    out = []
    for p in parts:
        ph, pb = p.split(nl + nl, 1)
        if b"base64" in ph.lower():
            data = b"".join(pb.split()).rstrip(b"=")
            if wrap:
                pb = nl.join(data[i:i + wrap] for i in range(0, len(data), wrap))
            else:
                pb = nl.join(data[i:i + 76] for i in range(0, len(data), 76))
        out.append(ph + nl + nl + pb)
    return join_parts(head, out, b, nl)


def uuencode(data, name, nl):
    lines = [b"begin 644 " + name]
    for i in range(0, len(data), 45):
        lines.append(binascii.b2a_uu(data[i:i + 45]).rstrip(b"\n"))
    lines += [b"`", b"end"]
    return nl.join(lines)


def to_uuencode(raw, ctes=(b"x-uuencode", b"uuencode")):
    """Converts the base64 attachments to x-uuencode (old Eudora, Pegasus,
    some Unix mailers and gateways)."""
    head, parts, b, nl = split_parts(raw)
    out, k = [], 0
    for p in parts:
        ph, pb = p.split(nl + nl, 1)
        if b"base64" in ph.lower():
            data = base64.b64decode(b"".join(pb.split()))
            name = re.search(rb'filename="([^"]+)"', ph).group(1)
            ph = re.sub(rb"(?i)Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: " + ctes[k % len(ctes)], ph)
            pb = uuencode(data, name, nl)
            k += 1
        out.append(ph + nl + nl + pb)
    return join_parts(head, out, b, nl)


def uuencode_in_body(raw):
    """One text/plain body with the files uuencoded at its end, as Outlook
    Express and Pegasus send with "uuencode" chosen."""
    head, parts, b, nl = split_parts(raw)
    text, files = b"", []
    for p in parts:
        ph, pb = p.split(nl + nl, 1)
        if b"base64" in ph.lower():
            name = re.search(rb'filename="([^"]+)"', ph).group(1)
            files.append(uuencode(base64.b64decode(b"".join(pb.split())), name, nl))
        else:
            text = pb
    head = re.sub(rb'Content-Type: multipart/mixed; boundary="[^"]+"', b"Content-Type: text/plain; charset=us-ascii", head)
    return head + nl + nl + text + nl + nl + (nl + nl).join(files) + nl


def utf7(raw):
    """A UTF-7 text body, subject and file name (old Outlook and some
    mobile mailers chose UTF-7 for non-ASCII text)."""
    head, parts, b, nl = split_parts(raw)
    out = []
    for p in parts:
        ph, pb = p.split(nl + nl, 1)
        if ph.lower().startswith(b"content-type: text/plain"):
            ph = re.sub(rb'charset="?us-ascii"?', b'charset="utf-7"', ph)
            pb = pb.replace(b"Referral and consent for L.C. attached.",
                            "Referral and consent for L.C. attached \u2013 Fran\u00e7oise at reception has the originals.".encode("utf-7"))
        elif b"Referral Form" in ph:
            word = b"=?utf-7?Q?DSR_Referral_Form_" + "\u2013".encode("utf-7") + b"_Lily_Chambers.pdf?="
            ph = re.sub(rb'name="DSR Referral Form - Lily Chambers.pdf"', b'name="' + word + b'"', ph)
        out.append(ph + nl + nl + pb)
    head = head.replace(b"Subject: DSR referral - L.C.", b"Subject: =?utf-7?Q?DSR_referral_" + "\u2013".encode("utf-7") + b"_L.C.?=")
    return join_parts(head, out, b, nl)


def doubled_delimiter(raw):
    """A delimiter line written twice: an empty part (seen from list
    software and some webmail forwards)."""
    head, parts, b, nl = split_parts(raw)
    return join_parts(head, parts[:1] + [b""] + parts[1:], b, nl).replace(
        b"--" + b + nl + nl + b"--" + b, b"--" + b + nl + b"--" + b)


def nested_prefix(raw):
    """The text body wrapped in multipart/alternative whose boundary is the
    outer one with "-1" added (JavaMail- and Outlook-style numbering)."""
    head, parts, b, nl = split_parts(raw)
    head = head.replace(b'boundary="' + b + b'"', b'boundary="outer"')
    text = parts[0]
    html = (b'Content-Type: text/html; charset="us-ascii"' + nl + nl +
            b"<p>Dear DSR team,</p><p>Referral and consent for L.C. attached.</p>")
    alt = (b'Content-Type: multipart/alternative; boundary="outer-1"' + nl + nl +
           b"--outer-1" + nl + text + nl + b"--outer-1" + nl + html + nl + b"--outer-1--")
    return join_parts(head, [alt] + parts[1:], b"outer", nl)


def rename_boundary(raw, old, new):
    return raw.replace(old, new)


def write(name, data, how, index):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    index.append((name, how))


def main():
    s01 = sample("01-fillable-pdf-happy")
    s02 = sample("02-flattened-pdf-happy")
    s03 = sample("03-docx-happy")
    b01 = boundary_of(s01)
    nl01 = eol_of(s01)
    index = []
    write("01-empty-parameter.eml", s01.replace(b"multipart/mixed; boundary=", b"multipart/mixed;; boundary="),
          "`multipart/mixed;; boundary=...` (an empty parameter)", index)
    write("01-doubled-delimiter.eml", doubled_delimiter(s01),
          "the delimiter before the consent form written twice (an empty part)", index)
    write("01-inner-boundary-prefix.eml", nested_prefix(s01),
          "outer boundary `outer`, the text in multipart/alternative with boundary `outer-1`", index)
    write("02-inner-boundary-prefix.eml",
          rename_boundary(s02, b"_000_LO4P265MB00C5F1827F3D38B6BA599B33_", b"_004_LO4P265MB00C5F1827F3D38B6BA599B33_-1"),
          "Outlook's nested multipart/alternative renamed so its boundary is the outer one plus `-1`", index)
    enc = "".join("%%%02X" % c for c in b01)
    write("01-rfc2231-boundary.eml",
          s01.replace(b'boundary="' + b01 + b'"', b"boundary*=''" + enc.encode()),
          "the boundary RFC 2231-encoded with an empty charset: `boundary*=''%3D%3D...`", index)
    write("01-rfc2231-boundary-continued.eml",
          s01.replace(b'boundary="' + b01 + b'"',
                      b'boundary*0="' + b01[:12] + b'";' + nl01 + b' boundary*1="' + b01[12:] + b'"'),
          "the boundary split into RFC 2231 continuations `boundary*0=...; boundary*1=...`", index)
    write("01-missing-close-delimiter.eml", s01[:s01.rindex(b"--" + b01 + b"--")],
          "the closing delimiter `--boundary--` missing (a truncated save, some scripts)", index)
    write("01-base64-unpadded.eml", b64_parts_unpadded(s01),
          "the PDFs' base64 with its `=` padding stripped", index)
    write("01-base64-unaligned.eml", b64_parts_unpadded(s01, wrap=75),
          "the PDFs' base64 unpadded and wrapped at 75 characters (no line a multiple of 4)", index)
    write("03-base64-unpadded.eml", b64_parts_unpadded(s03),
          "the DOCX forms' base64 with its padding stripped", index)
    write("01-utf7.eml", utf7(s01),
          "a `utf-7` text body, subject and referral file name", index)
    write("01-x-uuencode.eml", to_uuencode(s01),
          "the forms sent `Content-Transfer-Encoding: x-uuencode` and `uuencode`", index)
    write("03-x-uuencode.eml", to_uuencode(s03),
          "the DOCX forms sent x-uuencode and uuencode", index)
    write("01-uuencode-in-body.eml", uuencode_in_body(s01),
          "one text/plain body ending in two `begin 644 name` blocks (Python finds no parts here)", index)
    write("01-mbox-from.eml", b"From priya.raman@nhs.net Fri Nov 20 09:30:00 2026" + nl01 + s01,
          "a saved file opening with the mbox `From ` line", index)
    write("03-mac-line-ends.eml", s03.replace(b"\r\n", b"\n").replace(b"\n", b"\r"),
          "every line ended by a CR alone (a message saved with classic Mac OS line ends)", index)
    everything = b"From priya.raman@nhs.net Fri Nov 20 09:30:00 2026" + nl01 + doubled_delimiter(b64_parts_unpadded(s01))
    everything = everything.replace(b"multipart/mixed; boundary=", b"multipart/mixed;; boundary=")
    everything = everything[:everything.rindex(b"--" + b01 + b"--")]
    write("01-all-at-once.eml", everything,
          "mbox line, empty parameter, doubled delimiter, unpadded base64 and no close delimiter together", index)
    with open(os.path.join(HERE, "INDEX.md"), "w") as f:
        f.write("# Damaged copies of the samples (written by make.py)\n\n")
        f.write("The number is the sample each comes from (testdata/samples/NN-*).\n\n")
        f.write("| file | how the MIME was damaged |\n|---|---|\n")
        for name, how in index:
            f.write("| %s | %s |\n" % (name, how))


if __name__ == "__main__":
    main()
