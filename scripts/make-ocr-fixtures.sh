#!/usr/bin/env bash
# Regenerates parser/testdata/ocr/: the typed, flattened DSR forms of
# testdata/samples/02-flattened-pdf-happy printed to images with pdftoppm
# and made into scans, phone photos and faxes with ImageMagick, then put
# into emails as image-only PDFs (img2pdf), JPEG, PNG and TIFF
# attachments. The output is committed; the tests need only Tesseract.
#
# Usage: scripts/make-ocr-fixtures.sh
# Needs: pdftoppm (poppler-utils), convert (imagemagick), img2pdf, python3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
out=$root/parser/testdata/ocr
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for t in pdftoppm convert img2pdf python3; do
	command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done

sample=$root/testdata/samples/02-flattened-pdf-happy/message.eml
python3 - "$sample" "$work" <<'PY'
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
for p in m.walk():
    fn = p.get_filename() or ''
    if 'Referral' in fn:
        open(sys.argv[2] + '/referral.pdf', 'wb').write(p.get_payload(decode=True))
    elif 'Consent' in fn:
        open(sys.argv[2] + '/consent.pdf', 'wb').write(p.get_payload(decode=True))
PY

cd "$work"
# "Printed": the flattened forms as page images at 150, 200 and 300 dpi.
for f in referral consent; do
	pdftoppm -r 150 -gray -png "$f.pdf" "$f-150"
	pdftoppm -r 200 -gray -png "$f.pdf" "$f-200"
	pdftoppm -r 300 -gray -png -f 1 -l 1 "$f.pdf" "$f-300"
done

# A flatbed scan: a slight turn, a grey background with noise, JPEG.
scan() { # in out degrees
	convert "$1" -background white -rotate "$3" -fill '#e4e4e4' -opaque white \
		-attenuate 0.3 +noise Gaussian -blur 0x0.8 -type Grayscale -quality 55 -strip "$2"
}
# A phone photo: perspective, a turn, uneven light, JPEG.
photo() { # in out
	local w h
	w=$(identify -format %w "$1") h=$(identify -format %h "$1")
	convert "$1" -virtual-pixel white -distort Perspective \
		"0,0 $((w/30)),$((h/40))  $w,0 $((w-w/60)),0  0,$h 0,$((h-h/50))  $w,$h $((w-w/25)),$((h-h/30))" \
		-background white -rotate -2.5 \
		\( +clone -sparse-color Barycentric "0,0 gray(92%) %w,%h gray(70%)" \) -compose Multiply -composite \
		-attenuate 0.25 +noise Gaussian -blur 0x0.6 -type Grayscale -quality 55 -strip "$2"
}
# A fax: 200 dpi, one bit, a small turn.
fax() { # out ins...
	local o=$1
	shift
	convert "$@" -background white -rotate 0.8 +repage -colorspace Gray -threshold 60% -monochrome \
		-density 200 -units PixelsPerInch -compress Group4 "$o"
}

# 1: image-only PDFs of flatbed scans at 150 dpi (1.5 and -3 degrees).
for f in referral consent; do
	for p in "$f"-150-*.png; do scan "$p" "scan-${p%.png}.jpg" 1.5; done
done
img2pdf --pagesize A4 -o scan-referral.pdf scan-referral-150-*.jpg
img2pdf --pagesize A4 -o scan-consent.pdf scan-consent-150-*.jpg

# 2: the referral scanned at 300 dpi turned the other way; the consent
# form's first page photographed with a phone, stored sideways with an
# EXIF orientation that turns it upright.
scan referral-300-1.png s300-1.jpg -3
img2pdf --pagesize A4 -o scan300-referral.pdf s300-1.jpg scan-referral-150-2.jpg scan-referral-150-3.jpg
photo consent-200-1.png photo-upright.jpg
convert photo-upright.jpg -rotate -90 -quality 55 photo-sideways.jpg
# ImageMagick writes no EXIF block to a JPEG that has none: add one whose
# Orientation (6: turn 90 degrees clockwise to show) a phone would write.
python3 - photo-sideways.jpg photo-consent.jpg <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
ifd = struct.pack('>H', 1) + struct.pack('>HHIHH', 0x0112, 3, 1, 6, 0) + struct.pack('>I', 0)
tiff = b'MM' + struct.pack('>HI', 42, 8) + ifd
app1 = b'Exif\x00\x00' + tiff
open(sys.argv[2], 'wb').write(d[:2] + b'\xff\xe1' + struct.pack('>H', len(app1) + 2) + app1 + d[2:])
PY

# 3: a fax of both forms, each a multi-page 1-bit TIFF at 200 dpi.
fax fax-referral.tif referral-200-*.png
fax fax-consent.tif consent-200-*.png

# 4: the referral's second page scanned upside down; the consent form's
# first page as a PNG, upside down.
scan referral-150-2.png up-2.jpg 181
img2pdf --pagesize A4 -o upside-referral.pdf scan-referral-150-1.jpg up-2.jpg scan-referral-150-3.jpg
convert consent-150-1.png -rotate 180 -colors 8 -depth 4 upside-consent.png

python3 - "$sample" "$out" <<'PY'
import email, email.policy, sys, os
from email.message import EmailMessage
sample = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
out = sys.argv[2]
cases = {
    'scan-pdf': [('DSR Referral Form - scan.pdf', 'application/pdf', 'scan-referral.pdf'),
                 ('DSR Consent Form - scan.pdf', 'application/pdf', 'scan-consent.pdf')],
    'photo-jpeg': [('DSR Referral Form - scan.pdf', 'application/pdf', 'scan300-referral.pdf'),
                   ('IMG_2043.jpg', 'image/jpeg', 'photo-consent.jpg')],
    'fax-tiff': [('fax-0001.tif', 'image/tiff', 'fax-referral.tif'),
                 ('fax-0002.tif', 'image/tiff', 'fax-consent.tif')],
    'upside-png': [('DSR Referral Form - scan.pdf', 'application/pdf', 'upside-referral.pdf'),
                   ('consent.png', 'image/png', 'upside-consent.png')],
}
for i, (name, atts) in enumerate(sorted(cases.items())):
    m = EmailMessage()
    for h in ('From', 'To', 'Date'):
        m[h] = sample[h]
    m['Subject'] = 'DSR referral - J.O. (scanned)'
    m['Message-ID'] = '<ocr-%s@fixtures.invalid>' % name
    m['Authentication-Results'] = sample['Authentication-Results']
    m.set_content('Please find the signed forms attached (scanned).\n')
    for fn, ctype, path in atts:
        maintype, subtype = ctype.split('/')
        m.add_attachment(open(path, 'rb').read(), maintype=maintype, subtype=subtype, filename=fn)
    open(os.path.join(out, name + '.eml'), 'wb').write(m.as_bytes())
PY
ls -la "$out"
