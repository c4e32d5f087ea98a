#!/usr/bin/env bash
# Regenerates parser/testdata/pdf/engines/: sample 01's referral and consent
# filled into the blank forms (scripts/pdf/dsr-*-form.pdf, copies of the
# shared templates) by the PDF engines of Firefox (pdf.js), Chrome and
# Edge (PDFium) and of web apps (pdf-lib), each saved as that engine saves,
# fillable and, where the engine flattens, flattened. The values are what
# pdftk reads from the sample's own forms. The output is committed, so tests
# need none of these tools. parser/testdata/pdf/engines/README.md says more.
#
# Needs: node and npm (the packages pinned in package.json), pdftk, python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../../..
out=$root/parser/testdata/pdf/engines
sample=$root/testdata/samples/01-fillable-pdf-happy/message.eml
for t in node npm pdftk python3; do
	command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
(cd "$here" && npm install --no-audit --no-fund --silent)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The sample's two PDFs, and the values pdftk reads from each.
python3 - "$sample" "$work" <<'PY'
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
for p in m.walk():
    name = p.get_filename() or ""
    if name.endswith(".pdf"):
        kind = "referral" if "Referral" in name else "consent"
        open(f"{sys.argv[2]}/{kind}.pdf", "wb").write(p.get_payload(decode=True))
PY
for kind in referral consent; do
	pdftk "$work/$kind.pdf" dump_data_fields_utf8 >"$work/$kind.fields"
	python3 - "$work/$kind.fields" "$work/$kind.json" <<'PY'
import json, sys
fields, cur = {}, {}
def flush():
    if cur.get("FieldName"):
        fields[cur["FieldName"]] = {"type": cur.get("FieldType"), "value": cur.get("FieldValue", "")}
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if line == "---":
        flush(); cur.clear(); continue
    key, sep, val = line.partition(": ")
    if sep and key.startswith("Field"):
        if key == "FieldValue" and key in cur:
            cur[key] += "\n" + val   # pdftk repeats FieldValue: for no key
        elif key not in cur:
            cur[key] = val
    elif "FieldValue" in cur:
        cur["FieldValue"] += "\n" + line  # a value's further lines
flush()
json.dump(fields, open(sys.argv[2], "w"), ensure_ascii=False, indent=1)
PY
done
mkdir -p "$out"
for engine in pdfjs pdfium pdflib; do
	for kind in referral consent; do
		node "$here/fill.mjs" $engine "$here/../dsr-$kind-form.pdf" "$work/$kind.json" "$out/$engine-$kind.pdf"
		if [ $engine != pdfjs ]; then
			node "$here/fill.mjs" $engine "$here/../dsr-$kind-form.pdf" "$work/$kind.json" "$out/$engine-flat-$kind.pdf" flatten
		fi
	done
done
ls -l "$out"
