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
in which a recipient's Action is "failed" (or SendGrid's "expired"), gives the Message-ID of each
message it returns (message/rfc822, or its header alone in
text/rfc822-headers or message/rfc822-headers), else those of its own
In-Reply-To; any other email gives none. Message-IDs without their angle
brackets; only those with an "@", as every one the intake writes has.

A mail system's email with no delivery-status part naming an Action (a bounce in
plain text, as qmail, Exim and old Gmail write them; or a
multipart/report of report-type delivery-status, or none, that left the
part out) is read from its text/plain parts outside any attached message:
the first Message-ID line in each (indented or quoted with ">" allowed,
the id perhaps on the next line) names a returned message, and the text
before it is the mail system's own words (blanks and line ends as one
space), a failure if they hold one of
FAILURES or a class-5 status code (5.1.1), unless they or the Subject hold
one of the WARNINGS. A failed one gives the attached messages' ids, else
those lines' ids, else its In-Reply-To; a report that failed returns the
lines' ids too when it attaches no message.
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


def actions(part):
    """Whether a delivery-status part names any Action, and whether one is
    failed (or SendGrid's "expired")."""
    payload = part.get_payload()
    # Python reads a delivery-status part as its groups of fields.
    text = payload if isinstance(payload, str) else "\n".join(str(g) for g in payload)
    acted = False
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "action":
            acted = True
            if value.strip().lower().startswith(("failed", "expired")):
                return True, True
    return acted, False


MAIL_SYSTEMS = ("mailer-daemon", "postmaster", "post_master", "mail-daemon",
                "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e")


def from_mail_system(msg):
    # The null address, alone or named (DragonFly's dma: MAILER-DAEMON <>).
    if any((msg.get(k) or "").strip().endswith("<>") for k in ("Return-Path", "From")):
        return True
    addr = email.utils.parseaddr(msg.get("From") or "")[1]
    return addr.partition("@")[0].lower() in MAIL_SYSTEMS


WARNING_SUBJECTS = ("delay", "warning", "still being retried", "will retry")
WARNINGS = (
    "delivery attempts will continue", "will continue to try", "will keep trying", "will be retried",
    "will retry", "still being retried", "still trying", "not yet been delivered", "no action is required",
    "has been delayed", "is delayed", "temporarily deferred",
)
FAILURES = (
    "not be delivered", "couldn't be delivered", "can't be delivered", "wasn't delivered", "not delivered",
    "unable to deliver", "not able to deliver", "n't able to deliver", "could not deliver", "couldn't deliver",
    "failed to deliver",
    "delivery failed", "delivery has failed", "delivery failure", "failed permanently", "permanent error",
    "permanent failure", "permanent fatal", "undeliverable", "undelivered", "returned mail",
    "non-delivery", "nondelivery", "user unknown", "unknown user", "no such user", "does not exist",
    "mailbox unavailable", "rejected", "giving up", "given up", "gave up",
    "retry timeout exceeded", "could not be sent", "did not reach", "failure reason", "failed address",
    "failed recipient",
    "unzustellbar", "nicht zugestellt", "n'a pas pu être remis", "non remis",
)
PERMANENT = re.compile(r"(?:^|[^0-9.])5\.[0-7]\.[0-9]{1,3}(?:[^0-9.]|\.(?:[^0-9]|$)|$)")
ID_LINE = re.compile(rb"^[ \t>]*message-id:(.*)$", re.I)


def lenient_id(value):
    """The first id of a Message-ID value: <a@b>, or a bare a@b."""
    for f in re.split(r"[ \t,\r\n]+", value):
        f = f.strip("<>")
        if f and "@" in f:
            return f
    return ""


def copied_id(text):
    """Where the first Message-ID line starts in text, and its id; or -1."""
    lines = text.split(b"\n")
    at = 0
    for i, line in enumerate(lines):
        m = ID_LINE.match(line)
        if m:
            value = m.group(1).decode("latin-1")
            if not value.strip() and i + 1 < len(lines):
                value = lines[i + 1].decode("latin-1")
            found = lenient_id(value)
            if found:
                return at, found
        at += len(line) + 1
    return -1, ""


def verdict(own):
    text = " ".join(own.decode("utf-8", "replace").replace("\u2019", "'").lower().split())
    if any(k in text for k in WARNINGS):
        return "warning"
    if any(k in text for k in FAILURES) or PERMANENT.search(text):
        return "failed"
    return ""


def is_body(part):
    if part.get_filename() or (part.get("Content-Disposition") or "").split(";")[0].strip().lower() == "attachment":
        return False
    return True


def text_leaves(msg, inside=False):
    """The message's leaves, each with whether it is inside an attached message."""
    if msg.is_multipart():
        for sub in msg.get_payload():
            yield from text_leaves(sub, inside or msg.get_content_type() in ("message/rfc822", "message/global"))
    else:
        yield msg, inside


def plain_bounce(msg):
    subject = str(msg.get("Subject") or "").lower()
    warned = any(k in subject for k in WARNING_SUBJECTS)
    failed, ids = False, []
    for part, inside in text_leaves(msg):
        if inside or part.get_content_type() != "text/plain":
            continue
        text = (part.get_payload(decode=True) or b"")[:256 << 10]
        at, found = copied_id(text)
        own = text[:at] if at >= 0 else text
        if is_body(part):
            v = verdict(own)
            warned = warned or v == "warning"
            failed = failed or v == "failed"
        if found and found not in ids and len(ids) < 16:
            ids.append(found)
    return ids, failed and not warned


def returned_ids(msg):
    report = msg.get_content_type() == "multipart/report"
    rt = (msg.get_param("report-type") or "").lower()
    if report and rt == "disposition-notification":
        return []
    if not report and not from_mail_system(msg):
        return []
    any_failed, seen, ids = False, False, []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in REPORT_TYPES:
            acted, failed = actions(part)
            seen = seen or acted
            any_failed = any_failed or failed
        elif ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                ids += message_ids(inner[0].get("Message-ID"))[:1]
        elif ctype in HEADER_TYPES:
            raw = part.get_payload(decode=True) or b""
            head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
            ids += message_ids(email.message_from_bytes(head + b"\n\n").get("Message-ID"))[:1]
    copied, plain_failed = plain_bounce(msg)
    if not any_failed:
        if seen or (report and rt not in ("", "delivery-status")) or not plain_failed:
            return []
    return ids or copied or message_ids(msg.get("In-Reply-To"))


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
