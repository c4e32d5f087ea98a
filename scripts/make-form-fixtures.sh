#!/usr/bin/env bash
# Regenerates the fixtures of issue 14's form cases from our own forms: the
# output is committed, so the tests need none of these tools.
#
#   parser/testdata/pdf/referral-opt.pdf      radio groups and a check box whose
#                                             states index /Opt (optforms.py)
#   parser/testdata/pdf/merged-qpdf.pdf       sample 01's referral + consent
#   parser/testdata/pdf/merged-pdftk.pdf      merged (qpdf renames the consent's
#                                             cyp_dob to cyp_dob+1, pdftk to 1.cyp_dob)
#   parser/testdata/pdf/merged-joined.pdf     merged-qpdf.pdf with each renamed field
#                                             joined to its namesake (joinfields.py)
#   parser/testdata/docx/referral-long-dx.docx  sample 03's referral with a longer
#                                             diagnosis details value
#   parser/testdata/pdf/libreoffice-*.pdf     sample 03's DOCX forms (and the one
#                                             above) converted by LibreOffice
#   parser/testdata/pdf/referral-partial*.pdf a referral with four fields filled,
#                                             fillable and flattened by pdftk
#
# Usage: scripts/make-form-fixtures.sh
# Needs: qpdf (with fix-qdf), pdftk, python3, soffice (Debian:
# libreoffice-writer-nogui; only here, never in the tests).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
pdfout=$root/parser/testdata/pdf
docxout=$root/parser/testdata/docx
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for t in qpdf fix-qdf pdftk python3 soffice; do
	command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done

# The attachments of a sample email, as the referrer sent them.
extract() { # SAMPLE DIR
	python3 - "$root/testdata/samples/$1/message.eml" "$2" <<'PY'
import email, os, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"))
os.makedirs(sys.argv[2], exist_ok=True)
for part in msg.walk():
    name = part.get_filename()
    if name:
        kind = "referral" if "Referral" in name else "consent"
        ext = os.path.splitext(name)[1].lower()
        open(os.path.join(sys.argv[2], kind + ext), "wb").write(part.get_payload(decode=True))
PY
}

# 1. Buttons with /Opt, from the filled referral fixture.
qpdf --qdf --object-streams=disable "$pdfout/referral-filled.pdf" "$work/ref.qdf"
python3 "$here/pdf/optforms.py" "$work/ref.qdf" "$work/opt.qdf"
fix-qdf "$work/opt.qdf" >"$work/opt-fixed.qdf"
qpdf --deterministic-id "$work/opt-fixed.qdf" "$pdfout/referral-opt.pdf"

# 2. Sample 01's two fillable forms merged into one PDF, by qpdf and pdftk.
extract 01-fillable-pdf-happy "$work/s01"
qpdf --deterministic-id --empty --pages "$work/s01/referral.pdf" "$work/s01/consent.pdf" -- "$pdfout/merged-qpdf.pdf"
pdftk "$work/s01/referral.pdf" "$work/s01/consent.pdf" cat output "$pdfout/merged-pdftk.pdf"
# As tools that join same-named fields merge: one cyp_dob on both forms.
qpdf --qdf --object-streams=disable "$pdfout/merged-qpdf.pdf" "$work/merged.qdf"
python3 "$here/pdf/joinfields.py" "$work/merged.qdf" "$work/joined.qdf"
fix-qdf "$work/joined.qdf" >"$work/joined-fixed.qdf"
qpdf --deterministic-id "$work/joined-fixed.qdf" "$pdfout/merged-joined.pdf"

# 3. Sample 03's Word forms converted to PDF by LibreOffice, and its
#    referral with a diagnosis details value that wraps over five lines.
extract 03-docx-happy "$work/s03"
python3 - "$work/s03/referral.docx" "$docxout/referral-long-dx.docx" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
old = ("Moderate learning disability (Bromley Child Development Centre, 2018); "
       "Autism spectrum condition diagnosed by Bromley CAMHS Neurodevelopmental Team, 2020")
new = ("Moderate learning disability, assessed by the Bromley Child Development Centre "
       "in March 2018 (cognitive assessment, WISC-V); autism spectrum condition diagnosed "
       "by the Bromley CAMHS Neurodevelopmental Team in June 2020 after an ADOS-2 and ADI-R "
       "assessment; sensory processing difficulties noted by the occupational therapist, "
       "Bromley Healthcare, 2021; no further diagnoses.")
zin = zipfile.ZipFile(src)
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        data = zin.read(info)
        if info.filename == "word/document.xml":
            text = data.decode("utf-8")
            assert text.count(old) == 1
            data = text.replace(old, new).encode("utf-8")
        info.date_time = (2026, 11, 23, 9, 0, 0)
        zout.writestr(info, data)
PY
cp "$work/s03/referral.docx" "$work/libreoffice-referral.docx"
cp "$work/s03/consent.docx" "$work/libreoffice-consent.docx"
cp "$docxout/referral-long-dx.docx" "$work/libreoffice-referral-long-dx.docx"
# A profile of its own, so a running LibreOffice does not take the job.
soffice -env:UserInstallation=file://"$work/profile" --headless --convert-to pdf --outdir "$pdfout" \
	"$work/libreoffice-referral.docx" "$work/libreoffice-consent.docx" "$work/libreoffice-referral-long-dx.docx" >/dev/null

# 4. A referral with only a few fields filled in: still a referral.
cat >"$work/partial.xfdf" <<'XFDF'
<?xml version="1.0" encoding="UTF-8"?>
<xfdf xmlns="http://ns.adobe.com/xfdf/" xml:space="preserve"><fields>
<field name="referral_date"><value>24/11/2026</value></field>
<field name="cyp_surname"><value>Adeyemi</value></field>
<field name="cyp_dob"><value>09/09/2012</value></field>
<field name="dx_autism"><value>Yes</value></field>
</fields></xfdf>
XFDF
pdftk "$here/pdf/dsr-referral-form.pdf" fill_form "$work/partial.xfdf" output "$pdfout/referral-partial.pdf"
pdftk "$here/pdf/dsr-referral-form.pdf" fill_form "$work/partial.xfdf" output "$pdfout/referral-partial-flat.pdf" flatten

ls -l "$pdfout"/referral-opt.pdf "$pdfout"/referral-partial*.pdf "$pdfout"/merged-*.pdf "$pdfout"/libreoffice-*.pdf "$docxout/referral-long-dx.docx"
