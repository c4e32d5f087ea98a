#!/usr/bin/env python3
"""Damages a PDF: overwrites every object header ("N 0 obj") with junk,
keeping the length, so the xref points at garbage.

Usage: garble_headers.py IN OUT
"""
import sys

b = bytearray(open(sys.argv[1], "rb").read())
i = 0
while True:
    i = b.find(b" 0 obj", i)
    if i < 0:
        break
    b[i:i + 6] = b"#$%&'("
    i += 6
open(sys.argv[2], "wb").write(bytes(b))
