#!/usr/bin/env python3
"""Rewrites a merged referral + consent (qpdf's, in QDF form) the way
tools that join same-named fields do (Acrobat's Combine Files, PDFBox's
join mode, iText's merged fields): each field qpdf renamed NAME+1 becomes a
second widget of field NAME, so one field, with the first form's value, is
shown on both forms' pages.

Usage: joinfields.py IN.qdf OUT.qdf  (then fix-qdf, see make-form-fixtures.sh)
"""
import re
import sys

src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read().decode("latin-1")
objs = {int(m.group(1)): m.group(2) for m in re.finditer(r"(?ms)^(\d+) 0 obj\n(.*?)\nendobj", data)}


def put(num, body):
    global data
    pat = re.compile(r"(?ms)^%d 0 obj\n.*?\nendobj" % num)
    data, n = pat.subn(lambda _: "%d 0 obj\n%s\nendobj" % (num, body), data, count=1)
    assert n == 1, num
    objs[num] = body


def by_name(name):
    for num, body in objs.items():
        if re.search(r"/T \(%s\)" % re.escape(name), body):
            return num
    return None


FIELD_KEYS = ("/T", "/FT", "/V", "/DV", "/Ff", "/MaxLen", "/TU", "/TM")


def widget_only(body, parent):
    """The dictionary without its field keys, as a kid of parent."""
    lines = [l for l in body.split("\n") if not any(l.strip().startswith(k + " ") for k in FIELD_KEYS)]
    out = "\n".join(lines)
    return out.replace("<<", "<<\n  /Parent %d 0 R" % parent, 1)


acro = int(re.search(r"/AcroForm (\d+) 0 R", data).group(1))
fields_body = objs[acro]
first = max(objs) + 1
joined = 0
for num, body in sorted(objs.items()):
    m = re.search(r"/T \((\w+)\+1\)", body)
    if not m:
        continue
    base = by_name(m.group(1))
    assert base is not None, m.group(1)
    b = objs[base]
    keep = [l for l in b.split("\n") if any(l.strip().startswith(k + " ") for k in FIELD_KEYS)]
    parent = first + joined
    joined += 1
    pbody = "<<\n%s\n  /Kids [ %d 0 R %d 0 R ]\n>>" % ("\n".join(keep), base, num)
    data = data.replace("\nxref\n", "\n%d 0 obj\n%s\nendobj\n\nxref\n" % (parent, pbody), 1)
    objs[parent] = pbody
    put(base, widget_only(b, parent))
    put(num, widget_only(body, parent))
    fields_body = re.sub(r"\b%d 0 R\b" % base, "%d 0 R" % parent, fields_body, count=1)
    fields_body = re.sub(r"\s*\b%d 0 R\b" % num, "", fields_body, count=1)
assert joined > 0, "no renamed fields"
put(acro, fields_body)
open(dst, "wb").write(data.encode("latin-1"))
