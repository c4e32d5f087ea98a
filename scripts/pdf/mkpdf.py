#!/usr/bin/env python3
"""Writes small hand-made PDFs that real tools will not produce.

Usage: mkpdf.py KIND OUT
  cyclic-pages  a /Pages node whose /Kids holds itself (the pdf library
                spins forever in Reader.Page)
  many-pages    70 one-line pages (over the 60-page limit)
  prev-loop     an xref whose /Prev points back at itself (the library
                loops forever opening it)
  huge-size     a trailer claiming 2,000,000,000 objects
  label-inline  a one-page form typed as "Label: value" lines, as a word
                processor prints it (one text line per field)
  type0-table   a referral laid out as a two-column table in a Type0
                (Identity-H, two-byte) font with a ToUnicode map and
                relative Td moves, as Word's PDF export writes it
"""
import sys


def build(objs, trailer_extra=b"", prev_self=False):
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, body in enumerate(objs, start=1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    prev = b" /Prev %d" % xref if prev_self else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s%s >>\n" % (len(objs) + 1, prev, trailer_extra)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def stream(data):
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def text_page(lines, parent=2, font=4, content=None):
    return b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (parent, font, content)


def content(lines):
    ops = [b"BT /F1 10 Tf"]
    y = 800
    for l in lines:
        ops.append(b"1 0 0 1 56 %d Tm (%s) Tj" % (y, l.encode("cp1252")))
        y -= 16
    ops.append(b"ET")
    return stream(b"\n".join(ops))


def main(kind, path):
    if kind == "cyclic-pages":
        objs = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
            FONT,
            content(["DSR-REFERRAL", "Surname   Cycle"]),
        ]
        data = build(objs)
    elif kind == "many-pages":
        n = 70
        kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n))
        objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n), FONT]
        for i in range(n):
            objs.append(text_page(None, content=5 + 2 * i, font=3))
            objs.append(content(["Page %d" % (i + 1)]))
        data = build(objs)
    elif kind == "prev-loop":
        objs = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            text_page(None, content=5),
            FONT,
            content(["Looping xref"]),
        ]
        data = build(objs, prev_self=True)
    elif kind == "huge-size":
        objs = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            text_page(None, content=5),
            FONT,
            content(["Huge"]),
        ]
        data = build(objs).replace(b"/Size 6", b"/Size 2000000000")
    elif kind == "label-inline":
        objs = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            text_page(None, content=5),
            FONT,
            content([
                "DSR-CONSENT",
                "Consent Form",
                "Name of child / young person: Zo\u00eb Hart",
                "Date of birth: 3 March 2012",
                "NHS number: 999 105 8834",
                "Consent is given by: Person with parental responsibility",
                "I consent to inclusion on the DSR: Yes",
                "I have been given the DSR fact sheet: Yes",
            ]),
        ]
        data = build(objs)
    elif kind == "type0-table":
        def hx(t):
            return b"<" + "".join("%04X" % ord(c) for c in t).encode() + b">"
        ops = [b"BT /T1 16 Tf 1 0 0 1 56 800 Tm", hx("Referral Form") + b" Tj", b"ET"]
        rows = [
            ("Date of referral", ["19/11/2026"]),
            ("Surname", ["Okafor-L\u00e9vesque"]),
            ("Date of birth", ["07/07/2013"]),
            ("NHS number", ["999 314 9586"]),
            ("Address", ["12 Elmfield Road", "Bromley"]),
            ("Postcode", ["BR1 1LR"]),
            ("Diagnosed autism", ["\u2612 Yes \u2610 No"]),
            ("Diagnosed learning disability", ["\u2610 Yes \u2612 No"]),
            ("Proposed RAG rating", ["Amber"]),
        ]
        # Each row: label at the left, value cell 190pt to the right, the
        # value lines vertically centred on the label as Word centres cells.
        ops.append(b"BT /T1 10 Tf 56 760 Td")
        for label, vals in rows:
            ops.append(hx(label) + b" Tj")
            n = len(vals)
            start = (n - 1) * 6.0
            ops.append(b"190 %.1f Td" % start)
            for i, v in enumerate(vals):
                # Kerned as TJ arrays, the way Word writes runs.
                parts = b" ".join(hx(ch) + (b" -15" if j % 3 == 0 else b"") for j, ch in enumerate(v))
                ops.append(b"[" + parts + b"] TJ")
                if i < n - 1:
                    ops.append(b"0 -12 Td")
            ops.append(b"-190 %.1f Td" % (-(start - (n - 1) * 12.0) - 28))
        ops.append(b"ET")
        cmap = b"""/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def /CMapType 2 def
1 begincodespacerange <0000> <FFFF> endcodespacerange
1 beginbfrange <0020> <00FF> <0020> endbfrange
2 beginbfchar <2610> <2610> <2612> <2612> endbfchar
endcmap CMapName currentdict /CMap defineresource pop end end"""
        objs = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /T1 4 0 R >> >> /Contents 7 0 R >>",
            b"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Calibri /Encoding /Identity-H /DescendantFonts [5 0 R] /ToUnicode 6 0 R >>",
            b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+Calibri /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 500 /W [32 [226] 48 57 507] >>",
            stream(cmap),
            stream(b"\n".join(ops)),
        ]
        data = build(objs)
    else:
        sys.exit("unknown kind " + kind)
    with open(path, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
