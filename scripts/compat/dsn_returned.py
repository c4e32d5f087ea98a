#!/usr/bin/env python3
"""Lists, for each email named, what a delivery report says came back.

For every file, one JSON line {"file": ..., "ids": [...]} (or {"file": ...,
"error": "..."}), read with Python's email package by the rule the parser's
Submission.Undelivered follows (parser/dsn.go), written apart from it: an
email that is a multipart/report, not a read receipt
(report-type=disposition-notification), or that is of another type and comes
from a mail system (a null Return-Path or From, or a From address whose local part
is mailer-daemon, postmaster, post_master, mail-daemon or Exchange's
microsoftexchange329e71ec88ae4615bbc36ab6ce41109e), with a message/delivery-status part
in which a recipient's Action is "failed", gives the Message-ID of each
message it returns (message/rfc822, or its header alone in
text/rfc822-headers or message/rfc822-headers), else those of its own
In-Reply-To; any other email gives none. Message-IDs without their angle
brackets; only those with an "@", as every one the intake writes has.
Standard library only.
"""

import email
import email.policy
import email.utils
import json
import re
import sys

REPORT_TYPES = ("message/delivery-status", "message/global-delivery-status")
HEADER_TYPES = ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers")


def message_ids(value):
    return [i for i in re.findall(r"<([^<>\s]+)>", value or "") if "@" in i]


def failed(part):
    payload = part.get_payload()
    # Python reads a delivery-status part as its groups of fields.
    text = payload if isinstance(payload, str) else "\n".join(str(g) for g in payload)
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "action" and value.strip().lower().startswith("failed"):
            return True
    return False


MAIL_SYSTEMS = ("mailer-daemon", "postmaster", "post_master", "mail-daemon",
                "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e")


def from_mail_system(msg):
    if "<>" in ((msg.get("Return-Path") or "").strip(), (msg.get("From") or "").strip()):
        return True
    addr = email.utils.parseaddr(msg.get("From") or "")[1]
    return addr.partition("@")[0].lower() in MAIL_SYSTEMS


def returned_ids(msg):
    if msg.get_content_type() == "multipart/report":
        if (msg.get_param("report-type") or "").lower() == "disposition-notification":
            return []
    elif not from_mail_system(msg):
        return []
    any_failed, ids = False, []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in REPORT_TYPES:
            any_failed = any_failed or failed(part)
        elif ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                ids += message_ids(inner[0].get("Message-ID"))[:1]
        elif ctype in HEADER_TYPES:
            raw = part.get_payload(decode=True) or b""
            head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
            ids += message_ids(email.message_from_bytes(head + b"\n\n").get("Message-ID"))[:1]
    if not any_failed:
        return []
    return ids or message_ids(msg.get("In-Reply-To"))


def main(paths):
    for path in paths:
        try:
            with open(path, "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.compat32)
            print(json.dumps({"file": path, "ids": returned_ids(msg)}))
        except Exception as e:  # noqa: BLE001 - any failure is a result here
            print(json.dumps({"file": path, "error": "%s: %s" % (type(e).__name__, e)}))


if __name__ == "__main__":
    main(sys.argv[1:])
