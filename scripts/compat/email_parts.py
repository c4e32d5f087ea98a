#!/usr/bin/env python3
"""Lists the attachments Python's email package finds in each email.

For every file named, prints one JSON line:
  {"file": ..., "parts": [{"filename", "content_type", "size"}...], "defects": [...]}
or {"file": ..., "error": "..."} when Python cannot read it at all.

A leaf counts as an attachment as dsr counts one (parser.isBody): anything
but a text/plain or text/html part with no file name and no "attachment"
disposition, and no AppleDouble header (application/applefile: Finder data,
never the file, which dsr passes over as mail clients hide it). The file name is decoded (RFC 2231 by get_filename, RFC 2047
words as a Python consumer would with email.header), the size is that of
get_payload(decode=True). Standard library only.
"""

import email
import email.header
import email.policy
import json
import sys


def filename_of(part):
    try:
        name = part.get_filename()
    except Exception:  # a malformed parameter
        return ""
    if not name:
        return ""
    if any("\udc80" <= c <= "\udcff" for c in name):
        # Raw 8-bit bytes (surrogate-escaped): UTF-8, else Windows-1252,
        # as a Python program reading real mail would decode them.
        raw = name.encode("utf-8", "surrogateescape")
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            name = raw.decode("cp1252", "replace")
    if "=?" in name:
        try:
            name = str(email.header.make_header(email.header.decode_header(name)))
        except Exception:
            pass
    return name


def parts_of(msg):
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        name = filename_of(part)
        disp = (part.get_content_disposition() or "").lower()
        if not name and disp != "attachment" and ctype in ("text/plain", "text/html"):
            continue
        if ctype == "application/applefile":
            continue
        payload = part.get_payload(decode=True)
        if payload is None:
            payload = b""
        out.append({"filename": name, "content_type": ctype, "size": len(payload)})
    return out


def record(path):
    """The JSON record of one email file."""
    try:
        with open(path, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.compat32)
        defects = sorted({type(d).__name__ for p in msg.walk() for d in p.defects})
        return {"file": path, "parts": parts_of(msg), "defects": defects}
    except Exception as e:  # noqa: BLE001 - any failure is a result here
        return {"file": path, "error": "%s: %s" % (type(e).__name__, e)}


def main(paths):
    for path in paths:
        print(json.dumps(record(path), ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
