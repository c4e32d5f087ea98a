#!/usr/bin/env bash
# Regenerates parser/testdata/pdf/ with real tools, from the blank DSR
# templates. The output is committed, so tests need none of these tools.
#
# Usage: scripts/make-pdf-fixtures.sh [TEMPLATE_DIR]
#   TEMPLATE_DIR holds dsr-referral-form.pdf and dsr-consent-form.pdf
#   (default: scripts/pdf, copies of the shared blank forms).
# Needs: pdftk (pdftk-java), qpdf, pdftoppm (poppler-utils), img2pdf, python3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tpl=${1:-$here/pdf}
out=$here/../parser/testdata/pdf
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for t in pdftk qpdf pdftoppm img2pdf python3; do
	command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done

# XFDF carries UTF-8 values (Zoë, Siobhán, Nguyễn) without FDF's escaping.
cat >"$work/referral.xfdf" <<'XFDF'
<?xml version="1.0" encoding="UTF-8"?>
<xfdf xmlns="http://ns.adobe.com/xfdf/" xml:space="preserve"><fields>
<field name="referral_date"><value>19/11/2026</value></field>
<field name="cyp_first_names"><value>Zoë</value></field>
<field name="cyp_surname"><value>Nguyễn</value></field>
<field name="cyp_known_as"><value>Zo</value></field>
<field name="cyp_dob"><value>14/02/2012</value></field>
<field name="cyp_nhs_number"><value>999 562 8198</value></field>
<field name="cyp_gender"><value>Female</value></field>
<field name="cyp_ethnicity"><value>Asian or Asian British - Any other Asian background</value></field>
<field name="cyp_first_language"><value>Vietnamese</value></field>
<field name="cyp_address"><value>Flat 2, Siobhán Court
14 Masons Hill
Bromley</value></field>
<field name="cyp_postcode"><value>BR2 9HA</value></field>
<field name="cyp_living_situation"><value>With family</value></field>
<field name="cyp_local_authority"><value>London Borough of Bromley</value></field>
<field name="cyp_gp_practice"><value>Southborough Lane Surgery</value></field>
<field name="dx_learning_disability"><value>No</value></field>
<field name="dx_autism"><value>Yes</value></field>
<field name="dx_details"><value>Autism spectrum condition diagnosed by Bromley CAMHS Neurodevelopmental Team, 2019</value></field>
<field name="mh_concern"><value>Self-harm and food refusal since September; two A&amp;E attendances.</value></field>
<field name="mh_high_risk_admission"><value>Yes</value></field>
<field name="rag_rating"><value>Amber</value></field>
<field name="rag_reason"><value>Risk of admission without additional support at home.</value></field>
<field name="svc_health"><value>Bromley CAMHS</value></field>
<field name="svc_education"><value>Ravensbourne School</value></field>
<field name="needs_health"><value>Eating disorder assessment.</value></field>
<field name="needs_education"><value>Part-time timetable.</value></field>
<field name="needs_social_care"><value>Early help assessment.</value></field>
<field name="plan_ehcp"><value>Yes</value></field>
<field name="plan_crisis"><value>Yes</value></field>
<field name="parent_name"><value>Siobhán Nguyễn</value></field>
<field name="parent_relationship"><value>Mother</value></field>
<field name="parent_has_pr"><value>Yes</value></field>
<field name="parent_phone"><value>07700 900456</value></field>
<field name="referrer_name"><value>Tomás Byrne</value></field>
<field name="referrer_role"><value>School nurse</value></field>
<field name="referrer_organisation"><value>Bromley Healthcare</value></field>
<field name="referrer_email"><value>tomas.byrne@nhs.net</value></field>
<field name="referrer_phone"><value>020 7946 0999</value></field>
</fields></xfdf>
XFDF

cat >"$work/consent.xfdf" <<'XFDF'
<?xml version="1.0" encoding="UTF-8"?>
<xfdf xmlns="http://ns.adobe.com/xfdf/" xml:space="preserve"><fields>
<field name="cyp_full_name"><value>Zoë Nguyễn</value></field>
<field name="cyp_dob"><value>14/02/2012</value></field>
<field name="cyp_nhs_number"><value>9995628198</value></field>
<field name="consent_basis"><value>Best interest decision</value></field>
<field name="consent_given"><value>No</value></field>
<field name="factsheet_given"><value>Yes</value></field>
<field name="share_health"><value>Yes</value></field>
<field name="share_education"><value>Yes</value></field>
<field name="bid_decision_maker"><value>Dr Aoife Ó Súilleabháin</value></field>
<field name="bid_role"><value>Consultant Psychiatrist</value></field>
<field name="bid_date"><value>18/11/2026</value></field>
<field name="bid_reason"><value>Parents decline consent; risk of admission is high.
A DSR review is in Zoë's best interest.</value></field>
</fields></xfdf>
XFDF

ref=$tpl/dsr-referral-form.pdf
con=$tpl/dsr-consent-form.pdf

# Fillable forms, filled (values in /V).
pdftk "$ref" fill_form "$work/referral.xfdf" output "$out/referral-filled.pdf"
pdftk "$con" fill_form "$work/consent.xfdf" output "$out/consent-filled.pdf"
# A blank fillable form: every field empty.
install -m 644 "$ref" "$out/referral-blank.pdf"

# Flattened three ways: pdftk, qpdf (appearances made into page content),
# and both forms in one file.
pdftk "$ref" fill_form "$work/referral.xfdf" output "$out/referral-flat-pdftk.pdf" flatten
pdftk "$con" fill_form "$work/consent.xfdf" output "$out/consent-flat-pdftk.pdf" flatten
qpdf --generate-appearances --flatten-annotations=all "$out/referral-filled.pdf" "$out/referral-flat-qpdf.pdf"
qpdf --generate-appearances --flatten-annotations=all "$out/consent-filled.pdf" "$out/consent-flat-qpdf.pdf"
# The decision's date left blank, its reason on one line: the reason's
# tall box, its text at its top, is nearer the empty date's label than
# its own two-line label's middle.
grep -v -e 'name="bid_date"' -e '^A DSR review' "$work/consent.xfdf" |
	sed 's#is high\.$#is high.</value></field>#' >"$work/consent-no-date.xfdf"
pdftk "$con" fill_form "$work/consent-no-date.xfdf" output "$out/consent-flat-no-bid-date.pdf" flatten

# Both forms in one PDF: pdftk renames the consent's cyp_dob/cyp_nhs_number.
pdftk "$out/referral-filled.pdf" "$out/consent-filled.pdf" cat output "$out/combined-filled.pdf"
pdftk "$out/referral-flat-pdftk.pdf" "$out/consent-flat-pdftk.pdf" cat output "$out/combined-flat.pdf"

# Encrypted with an empty user password (opens without asking) three ways.
qpdf --allow-weak-crypto --encrypt "" owner 40 -- "$out/consent-filled.pdf" "$out/encrypted-rc4-40.pdf"
qpdf --encrypt "" owner 128 --use-aes=y -- "$out/consent-filled.pdf" "$out/encrypted-aes128.pdf"
qpdf --encrypt "" owner 256 -- "$out/consent-filled.pdf" "$out/encrypted-aes256.pdf"

# A scan: the flattened consent as a picture, no text layer.
pdftoppm -r 40 -f 1 -l 1 -png "$out/consent-flat-pdftk.pdf" "$work/scan"
img2pdf --pagesize A4 -o "$out/scan.pdf" "$work"/scan*.png

# Damage: bytes garbled in the middle (the xref points at garbage), and
# a file cut off halfway.
size=$(stat -c %s "$out/consent-filled.pdf")
python3 "$here/pdf/garble_headers.py" "$out/consent-filled.pdf" "$out/corrupt.pdf"
head -c $((size / 2)) "$out/consent-filled.pdf" >"$out/truncated.pdf"
printf 'Dear DSR team,\nplease find the referral attached.\n' >"$out/not-a-pdf.pdf"

# Hand-made structures no tool writes.
for k in cyclic-pages many-pages prev-loop huge-size label-inline type0-table; do
	python3 "$here/pdf/mkpdf.py" "$k" "$out/$k.pdf"
done

ls -l "$out"
