#!/usr/bin/env python3
"""Rewrites a filled DSR referral (in qpdf's QDF form) so that its buttons
take their export values from /Opt, as Acrobat and some form designers
write them (PDF 32000-1:2008, 12.7.4.2.4 and 12.7.4.2.3):

- every Yes/No radio group: the widget states become the kids' positions
  (/0, /1), the field gets /Opt [(Yes) (No)] and /V the chosen position;
- the plan_ehcp check box: on state /0 with /Opt [(Yes)];
- cyp_gender, a combo box on our form, becomes a radio group of five
  widgets, /Opt [(Male) (Female) (Non-binary) (Other) (Prefer not to say)],
  with /V the position of the value the combo box held.

Usage: optforms.py IN.qdf OUT.qdf  (then fix-qdf, see make-form-fixtures.sh)
"""
import re
import sys

src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read().decode("latin-1")

obj_re = re.compile(r"(?ms)^(\d+) 0 obj\n(.*?)\nendobj")
objs = {int(m.group(1)): m.group(2) for m in obj_re.finditer(data)}


def put(num, body):
    global data
    pat = re.compile(r"(?ms)^%d 0 obj\n.*?\nendobj" % num)
    data, n = pat.subn(lambda _: "%d 0 obj\n%s\nendobj" % (num, body), data, count=1)
    assert n == 1, num
    objs[num] = body


def field(name):
    for num, body in objs.items():
        if re.search(r"/T \(%s\)" % re.escape(name), body):
            return num, body
    raise SystemExit("no field " + name)


def on_state(body):
    """The widget's state other than /Off in its normal appearance."""
    n = re.search(r"/N <<(.*?)>>", body, re.S).group(1)
    states = [s for s in re.findall(r"/([A-Za-z0-9]+) \d+ 0 R", n) if s != "Off"]
    assert len(states) == 1, states
    return states[0]


def rename_state(body, old, new):
    body = re.sub(r"(/N <<.*?)/%s( \d+ 0 R)" % old, r"\g<1>/%s\2" % new, body, flags=re.S)
    body = re.sub(r"(/D <<.*?)/%s( \d+ 0 R)" % old, r"\g<1>/%s\2" % new, body, flags=re.S)
    return re.sub(r"/AS /%s\b" % old, "/AS /%s" % new, body)


# Yes/No radio groups: Ff 49152 (radio, no toggle to off) with two kids.
for num, body in list(objs.items()):
    if "/Ff 49152" not in body or "/Kids [" not in body:
        continue
    kids = [int(k) for k in re.findall(r"(\d+) 0 R", re.search(r"/Kids \[(.*?)\]", body, re.S).group(1))]
    opt = []
    value = re.search(r"/V /(\w+)", body)
    new_v = None
    for j, k in enumerate(kids):
        s = on_state(objs[k])
        opt.append(s)
        put(k, rename_state(objs[k], s, str(j)))
        if value and value.group(1) == s:
            new_v = str(j)
    if value and new_v is not None:
        body = body.replace(value.group(0), "/V /" + new_v)
    body = body.replace("/Kids [", "/Opt [%s]\n  /Kids [" % " ".join("(%s)" % o for o in opt), 1)
    put(num, body)

# The plan_ehcp check box: one widget, its own field.
num, body = field("plan_ehcp")
s = on_state(body)
body = rename_state(body, s, "0")
body = re.sub(r"/V /%s\b" % s, "/V /0", body)
body = body.replace("/T (plan_ehcp)", "/Opt [(%s)]\n  /T (plan_ehcp)" % s)
put(num, body)

# cyp_gender: the combo box becomes a radio group over the same line.
genders = ["Male", "Female", "Non-binary", "Other", "Prefer not to say"]
num, body = field("cyp_gender")
v = re.search(r"/V <feff([0-9a-f]+)>", body, re.I)
chosen = bytes.fromhex(v.group(1)).decode("utf-16-be") if v else ""
page = re.search(r"/P (\d+) 0 R", body).group(1)
x0, y0 = [float(t) for t in re.search(r"/Rect \[\s*([\d.]+)\s+([\d.]+)", body).groups()]
# Appearance streams of an existing radio widget, for the new widgets.
_, auto = field("dx_autism")
kid = int(re.search(r"/Kids \[\s*(\d+) 0 R", auto).group(1))
on_ap = re.search(r"/0 (\d+) 0 R", objs[kid]).group(1)
off_ap = re.search(r"/Off (\d+) 0 R", objs[kid]).group(1)
first = max(objs) + 1
widgets = []
for j, g in enumerate(genders):
    n = first + j
    widgets.append(n)
    state = str(j) if g == chosen else "Off"
    w = ("<<\n  /AP <<\n    /N <<\n      /%d %s 0 R\n      /Off %s 0 R\n    >>\n  >>\n"
         "  /AS /%s\n  /F 4\n  /MK <<\n    /CA (l)\n  >>\n  /P %s 0 R\n  /Parent %d 0 R\n"
         "  /Rect [ %.3f %.3f %.3f %.3f ]\n  /Subtype /Widget\n  /Type /Annot\n>>"
         % (j, on_ap, off_ap, state, page, num, x0 + 20 * j, y0, x0 + 20 * j + 8, y0 + 8))
    objs[n] = w
    data = data.replace("\nxref\n", "\n%d 0 obj\n%s\nendobj\n\nxref\n" % (n, w), 1)
new_v = "/V /%d" % genders.index(chosen) if chosen in genders else ""
put(num, "<<\n  /DV /Off\n  /FT /Btn\n  /Ff 49152\n  /Kids [ %s ]\n  /Opt [ %s ]\n  /T (cyp_gender)\n  %s\n>>"
    % (" ".join("%d 0 R" % w for w in widgets), " ".join("(%s)" % g for g in genders), new_v))
# The page lists the new widgets instead of the combo box.
pnum = int(page)
pbody = re.sub(r"\b%d 0 R\b" % num, " ".join("%d 0 R" % w for w in widgets), objs[pnum], count=1)
put(pnum, pbody)

open(dst, "wb").write(data.encode("latin-1"))
