#!/usr/bin/env python3
"""Saves a filled form the way viewers do when a referrer edits it.

Usage: viewer_saves.py KIND SRC OUT FIELD=VALUE...
  pdfjs   an incremental update written as pdf.js (Firefox) writes it:
          the changed field objects, then a cross-reference STREAM whose
          /Prev is the original classic xref table
  hybrid  an incremental update as Acrobat writes a hybrid-reference
          file: the changed field objects in an object stream, listed by
          a cross-reference stream that the classic table's trailer names
          with /XRefStm; the table and the stream have the same /Prev

SRC must have a classic xref table and uncompressed field objects (as
pdftk writes them). Each FIELD's /V is replaced with VALUE (UTF-16BE).
"""
import re
import sys
import zlib


def utf16(v):
    return b"<FEFF" + v.encode("utf-16-be").hex().upper().encode() + b">"


def changed_objects(src, changes):
    out = {}
    for field, value in changes.items():
        m = re.search(rb"(\d+) 0 obj\s*<<((?:(?!endobj).)*?)/T \(" + re.escape(field.encode()) + rb"\)", src, re.S)
        if not m:
            sys.exit("no field " + field)
        num = int(m.group(1))
        start = m.start()
        end = src.index(b"endobj", start)
        body = src[src.index(b"obj", start) + 3:end].strip()
        body, n = re.subn(rb"/V (\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f]*>|/\w+)", b"/V " + utf16(value), body, count=1)
        if n != 1:
            sys.exit("no /V in field " + field)
        out[num] = body
    return out


def last_startxref(src):
    return int(re.findall(rb"startxref\s+(\d+)", src)[-1])


def trailer_entries(src):
    t = src[src.rindex(b"trailer"):]
    root = re.search(rb"/Root (\d+ \d+ R)", t).group(1)
    info = re.search(rb"/Info (\d+ \d+ R)", t).group(1)
    ids = re.search(rb"/ID \[([^\]]*)\]", t).group(1)
    size = int(re.search(rb"/Size (\d+)", t).group(1))
    return root, info, ids, size


def xref_stream(rows, index, extra):
    """rows: (type, f2, f3) in /Index order; written as pdf.js does, W [1 4 2], flate."""
    data = b"".join(bytes([t]) + f2.to_bytes(4, "big") + f3.to_bytes(2, "big") for t, f2, f3 in rows)
    z = zlib.compress(data)
    idx = b" ".join(b"%d %d" % p for p in index)
    return b"<< /Type /XRef /W [1 4 2] /Index [" + idx + b"] " + extra + b" /Filter /FlateDecode /Length %d >>\nstream\n" % len(z) + z + b"\nendstream"


def pdfjs(src, changes):
    objs = changed_objects(src, changes)
    prev = last_startxref(src)
    root, info, ids, size = trailer_entries(src)
    out = bytearray(src)
    if not out.endswith(b"\n"):
        out += b"\n"
    offs = {}
    for num in sorted(objs):
        offs[num] = len(out)
        out += b"%d 0 obj\n" % num + objs[num] + b"\nendobj\n"
    xnum = size
    offs[xnum] = len(out)
    rows, index = [], []
    for num in sorted(offs):
        rows.append((1, offs[num], 0))
        index.append((num, 1))
    extra = b"/Size %d /Prev %d /Root %s /Info %s /ID [%s]" % (size + 1, prev, root, info, ids)
    out += b"%d 0 obj\n" % xnum + xref_stream(rows, index, extra) + b"\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % offs[xnum]
    return bytes(out)


def hybrid(src, changes):
    objs = changed_objects(src, changes)
    prev = last_startxref(src)
    root, info, ids, size = trailer_entries(src)
    out = bytearray(src)
    if not out.endswith(b"\n"):
        out += b"\n"
    # The object stream holding the changed fields.
    nums = sorted(objs)
    head, body = [], b""
    for num in nums:
        head.append(b"%d %d" % (num, len(body)))
        body += objs[num] + b"\n"
    head = b" ".join(head) + b"\n"
    z = zlib.compress(head + body)
    stm = size
    xs = size + 1
    stm_off = len(out)
    out += b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n" % (stm, len(nums), len(head), len(z)) + z + b"\nendstream\nendobj\n"
    # The cross-reference stream for the compressed objects.
    xs_off = len(out)
    rows = [(2, stm, i) for i in range(len(nums))]
    index = [(n, 1) for n in nums]
    extra = b"/Size %d /Prev %d" % (size + 2, prev)
    out += b"%d 0 obj\n" % xs + xref_stream(rows, index, extra) + b"\nendobj\n"
    # The classic table lists only the uncompressed objects.
    table_off = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n"
    out += b"%d 2\n%010d 00000 n \n%010d 00000 n \n" % (stm, stm_off, xs_off)
    out += b"trailer\n<< /Size %d /Prev %d /XRefStm %d /Root %s /Info %s /ID [%s] >>\n" % (size + 2, prev, xs_off, root, info, ids)
    out += b"startxref\n%d\n%%%%EOF\n" % table_off
    return bytes(out)


def main():
    kind, src, out = sys.argv[1:4]
    changes = dict(a.split("=", 1) for a in sys.argv[4:])
    data = open(src, "rb").read()
    fn = {"pdfjs": pdfjs, "hybrid": hybrid}[kind]
    open(out, "wb").write(fn(data, changes))


if __name__ == "__main__":
    main()
