#!/usr/bin/env bash
# Regenerates parser/testdata/doc, rtf and odt: the Word forms of
# parser/testdata/docx and of sample 03 saved in Word 97-2003's format
# (.doc) by LibreOffice's "MS Word 97" export, and some of them as Rich
# Text (.rtf) and OpenDocument (.odt), a producer other than ours. Needs LibreOffice (apt-get
# install libreoffice-writer-nogui); its output differs from run to run in
# its timestamps only. parser.TestReadDOCAsDOCX, TestReadRTFAsDOCX and
# TestReadODTAsDOCX read each as the .docx it came from.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v soffice >/dev/null || { echo "soffice not found (apt-get install libreoffice-writer-nogui)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in referral-plain consent-plain both-forms layout referral-checkbox referral-legacy; do
  cp "parser/testdata/docx/$f.docx" "$tmp/$f.docx"
done
# Sample 03's two attachments, under their names in the email.
python3 - "$tmp" <<'PY'
import email, os, sys
with open("testdata/samples/03-docx-happy/message.eml", "rb") as f:
    m = email.message_from_binary_file(f)
for p in m.walk():
    name = p.get_filename()
    if name and name.endswith(".docx"):
        kind = "referral" if "Referral" in name else "consent"
        with open(os.path.join(sys.argv[1], "sample03-%s.docx" % kind), "wb") as f:
            f.write(p.get_payload(decode=True))
PY
# convert FILTER FORMAT DOCX...: LibreOffice's export of each into
# parser/testdata/FORMAT. A private profile: LibreOffice refuses to start
# twice on one profile.
convert() {
  local filter=$1 format=$2
  shift 2
  mkdir -p "parser/testdata/$format"
  soffice -env:UserInstallation="file://$tmp/profile" --headless \
    --convert-to "$filter" --outdir "$tmp/$format" "$@" >/dev/null
  cp "$tmp/$format"/*."$format" "parser/testdata/$format/"
  ls -l "parser/testdata/$format"
}
convert 'doc:MS Word 97' doc "$tmp"/*.docx
convert rtf rtf "$tmp"/sample03-*.docx "$tmp"/layout.docx "$tmp"/consent-plain.docx
convert odt odt "$tmp"/sample03-*.docx "$tmp"/layout.docx "$tmp"/referral-legacy.docx
