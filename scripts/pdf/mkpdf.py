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

The label-inline consent, written in ways the pdf library cannot read
although viewers do (each must read as label-inline does):
  filters         its content in four streams: ASCIIHexDecode,
                  ASCII85Decode over LZWDecode, LZWDecode with the TIFF
                  predictor, FlateDecode with PNG predictors (every row
                  filter)
  escapes         strings with escapes the standard leaves to the reader
                  ("\+", "\:", "\9" mean the character), in the content
                  and in the catalog
  deep-pages      its page 40 /Pages levels down
  duplicate-page  a blank second page object listed twice in /Kids
  inline-image    inline images (BI ... ID ... EI) whose data holds
                  parentheses, backslashes and "EI" between the lines
"""
import zlib
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


LABEL_INLINE = [
    "DSR-CONSENT",
    "Consent Form",
    "Name of child / young person: Zo\u00eb Hart",
    "Date of birth: 3 March 2012",
    "NHS number: 999 105 8834",
    "Consent is given by: Person with parental responsibility",
    "I consent to inclusion on the DSR: Yes",
    "I have been given the DSR fact sheet: Yes",
]


def content_ops(lines, esc=lambda b: b):
    ops = [b"BT /F1 10 Tf"]
    y = 800
    for l in lines:
        ops.append(b"1 0 0 1 56 %d Tm (%s) Tj" % (y, esc(l.encode("cp1252"))))
        y -= 16
    ops.append(b"ET")
    return ops


def lzw(data, early=1):
    """PDF LZW: MSB-first codes, clear first, EOD last."""
    table = {bytes([i]): i for i in range(256)}
    nxt, width = 258, 9
    bits, nbits, out = 0, 0, bytearray()

    def put(code):
        nonlocal bits, nbits
        bits = (bits << width) | code
        nbits += width
        while nbits >= 8:
            out.append((bits >> (nbits - 8)) & 0xFF)
            nbits -= 8

    put(256)
    w = b""
    for c in data:
        wc = w + bytes([c])
        if wc in table:
            w = wc
            continue
        put(table[w])
        table[wc] = nxt
        nxt += 1
        if nxt + early > (1 << width) and width < 12:
            width += 1
        w = bytes([c])
    if w:
        put(table[w])
    put(257)
    if nbits:
        out.append((bits << (8 - nbits)) & 0xFF)
    return bytes(out)


def png_predict(data, columns):
    """PNG predictors, cycling through the five row filters."""
    out, prior = bytearray(), bytes(columns)
    rows = [data[i:i + columns].ljust(columns, b" ") for i in range(0, len(data), columns)]
    for r, row in enumerate(rows):
        t = r % 5
        enc = bytearray([t])
        for i, x in enumerate(row):
            a = row[i - 1] if i else 0
            b = prior[i]
            c = prior[i - 1] if i else 0
            if t == 0:
                p = 0
            elif t == 1:
                p = a
            elif t == 2:
                p = b
            elif t == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            enc.append((x - p) & 0xFF)
        out += enc
        prior = row
    return bytes(out)


def tiff_predict(data, columns):
    out = bytearray()
    for i in range(0, len(data), columns):
        row = data[i:i + columns]
        out += bytes([row[0]]) + bytes((row[j] - row[j - 1]) & 0xFF for j in range(1, len(row)))
    return bytes(out)


def a85(data):
    import base64
    return base64.a85encode(data) + b"~>"


def raw_stream(dict_entries, data):
    return b"<< %s /Length %d >>\nstream\n" % (dict_entries, len(data)) + data + b"\nendstream"


def label_inline_variant(kind):
    page = lambda contents, parent=2: b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents %s >>" % (parent, contents)
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
    if kind == "filters":
        ops = content_ops(LABEL_INLINE)
        # Four streams, the text split between them at operator bounds.
        parts = [b"\n".join(ops[:3]), b"\n".join(ops[3:5]), b"\n".join(ops[5:7]), b"\n".join(ops[7:])]
        parts = [p + b"\n" for p in parts]
        tiff = parts[2].ljust(((len(parts[2]) + 15) // 16) * 16, b" ")
        streams = [
            raw_stream(b"/Filter /ASCIIHexDecode", parts[0].hex().encode() + b">"),
            raw_stream(b"/Filter [/ASCII85Decode /LZWDecode]", a85(lzw(parts[1]))),
            raw_stream(b"/Filter /LZWDecode /DecodeParms << /Predictor 2 /Columns 16 /EarlyChange 0 >>", lzw(tiff_predict(tiff, 16), early=0)),
            raw_stream(b"/Filter /FlateDecode /DecodeParms << /Predictor 15 /Columns 12 >>", zlib.compress(png_predict(parts[3], 12))),
        ]
        objs = [catalog, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page(b"[5 0 R 6 0 R 7 0 R 8 0 R]"), FONT] + streams
    elif kind == "escapes":
        def esc(b):
            # Escapes a reader must take as the character itself.
            return b.replace(b":", b"\\:").replace(b"999", b"\\9\\9\\9").replace(b"DSR-", b"DSR\\-")
        catalog = b"<< /Type /Catalog /Pages 2 0 R /Lang (en\\+GB) >>"
        objs = [catalog, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page(b"5 0 R"), FONT, stream(b"\n".join(content_ops(LABEL_INLINE, esc)))]
    elif kind == "deep-pages":
        depth = 40
        # Object 2 is the root /Pages, 6.. the nested nodes, 3 the page.
        objs = [catalog, None, page(b"5 0 R", parent=6 + depth - 2), FONT, content(LABEL_INLINE)]
        nodes = [2] + list(range(6, 6 + depth - 1))
        node_objs = {}
        for i, n in enumerate(nodes):
            kid = nodes[i + 1] if i + 1 < len(nodes) else 3
            parent = b" /Parent %d 0 R" % nodes[i - 1] if i else b""
            node_objs[n] = b"<< /Type /Pages /Kids [%d 0 R] /Count 1%s >>" % (kid, parent)
        objs[1] = node_objs[2]
        for n in nodes[1:]:
            objs.append(node_objs[n])
    elif kind == "duplicate-page":
        objs = [catalog, b"<< /Type /Pages /Kids [3 0 R 6 0 R 6 0 R] /Count 3 >>", page(b"5 0 R"), FONT, content(LABEL_INLINE),
                page(b"7 0 R"), stream(b"")]
    elif kind == "inline-image":
        ops = content_ops(LABEL_INLINE)
        img = bytes([0x28, 0x5C, 0x29, 0x45, 0x49, 0x29, 0x28, 0x0A, 0x45, 0x49, 0x5C, 0x5C, 0x28, 0x00, 0xFF, 0x3E])
        bi = [
            b"q 16 0 0 16 400 780 cm BI /W 4 /H 4 /BPC 8 /CS /G ID " + img + b" EI Q",
            b"q 16 0 0 16 400 700 cm BI /W 16 /H 1 /BPC 8 /CS /G /F /AHx ID\n" + img.hex().encode() + b">\nEI Q",
            b"q 8 0 0 8 400 600 cm BI /IM true /W 8 /H 2 ID \x29\x5c EI Q",
        ]
        ops = ops[:2] + [b"ET"] + bi[:1] + [b"BT /F1 10 Tf"] + ops[2:5] + [b"ET"] + bi[1:] + [b"BT /F1 10 Tf"] + ops[5:]
        objs = [catalog, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page(b"5 0 R"), FONT, stream(b"\n".join(ops))]
    else:
        return None
    return build(objs)


def main(kind, path):
    data = label_inline_variant(kind)
    if data is not None:
        with open(path, "wb") as f:
            f.write(data)
        return
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
            content(LABEL_INLINE),
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
