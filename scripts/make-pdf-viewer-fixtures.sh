#!/usr/bin/env bash
# Regenerates parser/testdata/pdf/viewer/: the filled sample forms saved
# as viewers save them (incremental updates, hybrid-reference files,
# owner-password encryption) and hand-made files with the syntax viewers
# accept. Made from the committed fixtures of scripts/make-pdf-fixtures.sh;
# the output is committed, so tests need none of these tools.
# parser/testdata/pdf/viewer/README.md says what each file is.
#
# Needs: qpdf, python3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$here/../parser/testdata/pdf
out=$src/viewer
mkdir -p "$out"
for t in qpdf python3; do
	command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
ref=$src/referral-filled.pdf
con=$src/consent-filled.pdf
saves=$here/pdf/viewer_saves.py

# Incremental saves: a referrer changes answers and saves.
python3 "$saves" pdfjs "$ref" "$out/pdfjs-referral.pdf" "cyp_surname=Nguyen-Byrne" "rag_rating=Red"
python3 "$saves" hybrid "$con" "$out/hybrid-consent.pdf" "bid_decision_maker=Dr Ada Ó Brien" "bid_role=Consultant"
# A whole file of object streams and an xref stream (what qpdf and many
# writers produce; the library reads it, slowly).
qpdf --object-streams=generate "$con" "$out/objstm-consent.pdf"

# Owner-password-only encryption: no password is needed to open.
qpdf --allow-weak-crypto --encrypt "" owner 128 --use-aes=n -- "$con" "$out/owner-rc4-128.pdf"
qpdf --object-streams=generate --encrypt "" owner 256 -- "$con" "$out/owner-aes256-objstm.pdf"
# A password is needed to open: these stay unread.
qpdf --encrypt dsr-user dsr-owner 256 -- "$con" "$out/user-aes256.pdf"
qpdf --allow-weak-crypto --encrypt dsr-user dsr-owner 40 -- "$con" "$out/user-rc4-40.pdf"

# Damaged files that have /Encrypt in them: damaged, not encrypted.
# An encrypted file with every object header overwritten.
python3 "$here/pdf/garble_headers.py" "$src/encrypted-aes128.pdf" "$out/damaged-encrypted.pdf"
python3 - "$con" "$out/damaged-encrypt-text.pdf" <<'PY'
import sys
# A plain file whose xref offsets are all wrong, with "/Encrypt" in a
# comment and a trailer pointing at an encryption dictionary not there.
c = open(sys.argv[1], "rb").read()
head, _, rest = c.partition(b"\n")
c = head + b"\n% /Encrypt\n" + rest
t = c.rindex(b"trailer")
c = c[:t] + c[t:].replace(b"/Root", b"/Encrypt 9999 0 R /Root", 1)
open(sys.argv[2], "wb").write(c)
PY

# Hand-made: the label-inline consent with filters, escapes, a deep page
# tree, a page listed twice, inline images.
for k in filters escapes deep-pages duplicate-page inline-image; do
	python3 "$here/pdf/mkpdf.py" "$k" "$out/$k.pdf"
done
ls -l "$out"
