#!/usr/bin/env bash
# Regenerates parser/testdata/docx from the blank DSR templates in
# scripts/docx/templates (copies of shared/forms/templates). With
# LibreOffice installed (apt-get install libreoffice-writer-nogui) it also
# round-trips three filled forms through LibreOffice's Word 2007 export,
# so the tests meet a second producer's XML; without it those files are
# left as committed.
set -euo pipefail
cd "$(dirname "$0")/.."

out=parser/testdata/docx
go run ./scripts/docx -out "$out" -templates scripts/docx/templates

if ! command -v soffice >/dev/null 2>&1; then
  echo "soffice not found: kept the committed *-libreoffice.docx files" >&2
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in referral-checkbox consent-sdt referral-legacy; do
  cp "$out/$f.docx" "$tmp/$f.docx"
done
# A private profile: LibreOffice refuses to start twice on one profile.
soffice -env:UserInstallation="file://$tmp/profile" --headless \
  --convert-to 'docx:MS Word 2007 XML' --outdir "$tmp/out" \
  "$tmp"/referral-checkbox.docx "$tmp"/consent-sdt.docx "$tmp"/referral-legacy.docx >/dev/null
for f in referral-checkbox consent-sdt referral-legacy; do
  cp "$tmp/out/$f.docx" "$out/$f-libreoffice.docx"
done
