#!/usr/bin/env bash
# Regenerates parser/testdata/pdf/word-printed/: our Word forms, filled,
# printed to PDF by LibreOffice (Writer's PDF export, as "Save as PDF" or
# a PDF printer makes them), as typed in their value cells (-orig) and
# with every answer typed into its label cell instead, on lines of its
# own (-lines), after a colon (-colon) or after a space (-space), the
# value cell left empty. The label-cell documents are those
# parser.TestReadDOCXAnswersInLabelCells makes;
# parser.TestReadWordPrintedPDFs reads each PDF against its Word
# document. Rows Word or Writer break across pages put some answers at
# the top of the next page.
#
# Needs: go, soffice (apt-get install libreoffice-writer-nogui). The output
# is committed; the tests need neither.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v soffice >/dev/null || { echo "missing tool: soffice" >&2; exit 1; }

out=parser/testdata/pdf/word-printed
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docx" "$out"
DSR_WRITE_LABELCELL_DIR="$tmp/docx" go test -count=1 -run TestReadDOCXAnswersInLabelCells ./parser >/dev/null
# The forms made of content controls, some left empty (their placeholder
# text printed), their check boxes ☒ and ☐.
for f in referral-sdt consent-sdt; do
	cp "parser/testdata/docx/$f.docx" "$tmp/docx/$f-orig.docx"
done
# A private profile: LibreOffice refuses to start twice on one profile.
soffice -env:UserInstallation="file://$tmp/profile" --headless --convert-to pdf \
	--outdir "$tmp/pdf" "$tmp"/docx/*.docx >/dev/null
for f in referral-plain-orig referral-plain-lines referral-plain-colon \
	consent-checkbox-orig consent-checkbox-lines consent-checkbox-colon \
	referral-plain-space consent-checkbox-space \
	referral-long-dx-lines sample-referral-colon sample-consent-lines \
	referral-sdt-orig consent-sdt-orig; do
	cp "$tmp/pdf/$f.pdf" "$out/$f.pdf"
done
ls -l "$out"
