#!/usr/bin/env bash
# Regenerates parser/testdata/ocr/: DSR forms printed to images with
# pdftoppm and made into scans, phone photos and faxes with ImageMagick,
# then put into emails as image-only PDFs (img2pdf), JPEG, PNG and TIFF
# attachments. Each email NAME.eml has NAME.json beside it: the child's
# identifying fields as the tests expect them (scripts/ocr/children.py).
# The output is committed; the tests need only Tesseract.
#
# The children (all fictional, NHS numbers from the 999 range):
# - Joshua: the typed, flattened forms of testdata/samples/02-flattened-pdf-happy
#   (scan-pdf, photo-jpeg, fax-tiff, upside-png);
# - Amara, Ethan, Sofia: the blank forms (scripts/pdf) filled with pdftk
#   and flattened, typed values; Amara's consent is signed with a scribble
#   (amara-scan-signed, ethan-fax-photo, sofia-scan-png);
# - Noah, Ruby: the blank forms with the values written in a handwriting
#   font (fonts-dkg-handwriting, fonts-dancingscript) at the fields' boxes,
#   ticks drawn as pen strokes (noah-handwritten, ruby-handwritten-script).
#
# Usage: scripts/make-ocr-fixtures.sh [CASE...]   (default: every case)
# Needs: pdftk (pdftk-java), qpdf, pdftoppm and pdfinfo (poppler-utils),
# convert (imagemagick), img2pdf, python3, fonts-dkg-handwriting,
# fonts-dancingscript.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
out=$root/parser/testdata/ocr
tpl=$here/pdf
kids=$here/ocr/children.py
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for t in pdftk qpdf pdftoppm pdfinfo convert img2pdf python3; do
	command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
hand_print=/usr/share/fonts/truetype/fifthhorseman/dkg.ttf
hand_script=/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf

all=(scan-pdf photo-jpeg fax-tiff upside-png amara-scan-signed ethan-fax-photo sofia-scan-png noah-handwritten ruby-handwritten-script)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${all[@]}")
wanted() { local c; for c in "${want[@]}"; do [ "$c" = "$1" ] && return 0; done; return 1; }

sample=$root/testdata/samples/02-flattened-pdf-happy/message.eml

# The noise of the scans comes from a fixed seed, so that a rerun draws
# the same noise (the emails' MIME boundaries still differ).
# A flatbed scan: a slight turn, a grey background with noise, JPEG.
scan() { # in out degrees
	convert "$1" -seed 17 -background white -rotate "$3" -fill '#e4e4e4' -opaque white \
		-attenuate 0.3 +noise Gaussian -blur 0x0.8 -type Grayscale -quality 55 -strip "$2"
}
# A phone photo: perspective, a turn, uneven light, JPEG.
photo() { # in out
	local w h
	w=$(identify -format %w "$1") h=$(identify -format %h "$1")
	convert "$1" -seed 17 -virtual-pixel white -distort Perspective \
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
# A phone stores a photo sideways with an EXIF Orientation (6: turn 90
# degrees clockwise to show); ImageMagick writes no EXIF block to a JPEG
# that has none, so add the one a phone would write.
exif_sideways() { # upright.jpg out.jpg
	convert "$1" -rotate -90 -quality 55 "$1.side.jpg"
	python3 - "$1.side.jpg" "$2" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
ifd = struct.pack('>H', 1) + struct.pack('>HHIHH', 0x0112, 3, 1, 6, 0) + struct.pack('>I', 0)
tiff = b'MM' + struct.pack('>HI', 42, 8) + ifd
app1 = b'Exif\x00\x00' + tiff
open(sys.argv[2], 'wb').write(d[:2] + b'\xff\xe1' + struct.pack('>H', len(app1) + 2) + app1 + d[2:])
PY
}

# email CASE CHILD HANDWRITTEN INITIALS FILENAME:TYPE:PATH...: the case's
# email (headers from the sample, as an Outlook client sends) and its
# expectations. SIGNED=scribble says the consent is signed with a scribble.
email() {
	local c=$1 child=$2 hand=$3 initials=$4
	shift 4
	python3 - "$sample" "$out/$c.eml" "$c" "$initials" "$@" <<'PY'
import email, email.policy, sys
from email.message import EmailMessage
sample = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
out, case, initials = sys.argv[2:5]
m = EmailMessage()
for h in ('From', 'To', 'Date'):
    m[h] = sample[h]
m['Subject'] = 'DSR referral - %s (scanned)' % initials
m['Message-ID'] = '<ocr-%s@fixtures.invalid>' % case
m['Authentication-Results'] = sample['Authentication-Results']
m.set_content('Please find the signed forms attached (scanned).\n')
for att in sys.argv[5:]:
    fn, ctype, path = att.split(':', 2)
    maintype, subtype = ctype.split('/')
    m.add_attachment(open(path, 'rb').read(), maintype=maintype, subtype=subtype, filename=fn)
open(out, 'wb').write(m.as_bytes())
PY
	python3 "$kids" expect "$c" "$child" "$hand" "$out/$c.json" "${SIGNED:-typed}"
}

# typed CHILD [nosign]: the child's forms filled with pdftk and flattened
# into CHILD/referral.pdf and CHILD/consent.pdf; with nosign the typed
# signature is left blank (the form is signed by hand instead).
typed() {
	local d=$work/$1
	mkdir -p "$d"
	python3 "$kids" xfdf "$1" referral "$d/referral.xfdf"
	python3 "$kids" xfdf "$1" consent "$d/consent.xfdf"
	if [ "${2:-}" = nosign ]; then
		sed -i '/name="signature"/d' "$d/consent.xfdf"
	fi
	pdftk "$tpl/dsr-referral-form.pdf" fill_form "$d/referral.xfdf" output "$d/referral.pdf" flatten
	pdftk "$tpl/dsr-consent-form.pdf" fill_form "$d/consent.xfdf" output "$d/consent.pdf" flatten
}

# handwritten CHILD FONT: the blank forms printed at 150 dpi and the
# values written on them by hand (a handwriting font), as CHILD/F-150-N.png.
handwritten() {
	local d=$work/$1 f
	mkdir -p "$d"
	for f in referral consent; do
		pdftk "$tpl/dsr-$f-form.pdf" output "$d/$f-blank.pdf" flatten
		pdftoppm -r 150 -gray -png "$d/$f-blank.pdf" "$d/$f-150"
		python3 "$kids" handwrite "$tpl/dsr-$f-form.pdf" "$1" "$f" "$2" 150 "$d/$f-150"
	done
}

# Joshua: the sample's flattened forms.
joshua() {
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
	# Image-only PDFs of flatbed scans at 150 dpi (1.5 degrees).
	for f in referral consent; do
		for p in "$f"-150-*.png; do scan "$p" "scan-${p%.png}.jpg" 1.5; done
	done
	img2pdf --pagesize A4 -o scan-referral.pdf scan-referral-150-*.jpg
	img2pdf --pagesize A4 -o scan-consent.pdf scan-consent-150-*.jpg
	if wanted scan-pdf; then
		email scan-pdf joshua no J.O. "DSR Referral Form - scan.pdf:application/pdf:scan-referral.pdf" \
			"DSR Consent Form - scan.pdf:application/pdf:scan-consent.pdf"
	fi

	# The referral scanned at 300 dpi turned the other way; the consent
	# form's first page photographed with a phone, stored sideways.
	if wanted photo-jpeg; then
		scan referral-300-1.png s300-1.jpg -3
		img2pdf --pagesize A4 -o scan300-referral.pdf s300-1.jpg scan-referral-150-2.jpg scan-referral-150-3.jpg
		photo consent-200-1.png photo-upright.jpg
		exif_sideways photo-upright.jpg photo-consent.jpg
		email photo-jpeg joshua no J.O. "DSR Referral Form - scan.pdf:application/pdf:scan300-referral.pdf" \
			"IMG_2043.jpg:image/jpeg:photo-consent.jpg"
	fi

	# A fax of both forms, each a multi-page 1-bit TIFF at 200 dpi.
	if wanted fax-tiff; then
		fax fax-referral.tif referral-200-*.png
		fax fax-consent.tif consent-200-*.png
		email fax-tiff joshua no J.O. "fax-0001.tif:image/tiff:fax-referral.tif" "fax-0002.tif:image/tiff:fax-consent.tif"
	fi

	# The referral's second page scanned upside down; the consent form's
	# first page as a PNG, upside down.
	if wanted upside-png; then
		scan referral-150-2.png up-2.jpg 181
		img2pdf --pagesize A4 -o upside-referral.pdf scan-referral-150-1.jpg up-2.jpg scan-referral-150-3.jpg
		convert consent-150-1.png -rotate 180 -colors 8 -depth 4 upside-consent.png
		email upside-png joshua no J.O. "DSR Referral Form - scan.pdf:application/pdf:upside-referral.pdf" \
			"consent.png:image/png:upside-consent.png"
	fi
}

# Amara: typed, flattened, printed at 150 dpi, the consent signed with a
# pen scribble (and no typed signature), both scanned turned by 2 degrees.
amara() {
	typed amara nosign
	cd "$work/amara"
	for f in referral consent; do pdftoppm -r 150 -gray -png "$f.pdf" "$f-150"; done
	python3 "$kids" scribble "$tpl/dsr-consent-form.pdf" 150 consent-150-2.png
	for p in referral-150-*.png consent-150-*.png; do scan "$p" "scan-${p%.png}.jpg" -2; done
	img2pdf --pagesize A4 -o referral-scan.pdf scan-referral-150-*.jpg
	img2pdf --pagesize A4 -o consent-scan.pdf scan-consent-150-*.jpg
	SIGNED=scribble email amara-scan-signed amara no A.O. "Referral form.pdf:application/pdf:referral-scan.pdf" \
		"Consent form signed.pdf:application/pdf:consent-scan.pdf"
}

# Ethan: the referral faxed (1-bit TIFF, 200 dpi), the consent form's first
# page photographed with a phone at 150 dpi and stored sideways.
ethan() {
	typed ethan
	cd "$work/ethan"
	pdftoppm -r 200 -gray -png referral.pdf referral-200
	pdftoppm -r 150 -gray -png -f 1 -l 1 consent.pdf consent-150
	fax fax-referral.tif referral-200-*.png
	photo consent-150-1.png photo-upright.jpg
	exif_sideways photo-upright.jpg photo-consent.jpg
	email ethan-fax-photo ethan no E.W. "fax-0007.tif:image/tiff:fax-referral.tif" "IMG_5120.jpg:image/jpeg:photo-consent.jpg"
}

# Sofia (17, self-consent, Blue: in hospital): the referral scanned turned
# by -1 degree into an image-only PDF, the consent's first page a PNG scan.
sofia() {
	typed sofia
	cd "$work/sofia"
	for f in referral consent; do pdftoppm -r 150 -gray -png "$f.pdf" "$f-150"; done
	for p in referral-150-*.png; do scan "$p" "scan-${p%.png}.jpg" -1; done
	img2pdf --pagesize A4 -o referral-scan.pdf scan-referral-150-*.jpg
	convert consent-150-1.png -background white -rotate 1 -colors 8 -depth 4 consent-scan.png
	email sofia-scan-png sofia no S.M. "Referral.pdf:application/pdf:referral-scan.pdf" "consent.png:image/png:consent-scan.png"
}

# hand CASE CHILD INITIALS FONT: handwritten forms scanned turned by 1
# degree into image-only PDFs.
hand() {
	handwritten "$2" "$4"
	cd "$work/$2"
	for p in referral-150-*.png consent-150-*.png; do scan "$p" "scan-${p%.png}.jpg" 1; done
	img2pdf --pagesize A4 -o referral-scan.pdf scan-referral-150-*.jpg
	img2pdf --pagesize A4 -o consent-scan.pdf scan-consent-150-*.jpg
	email "$1" "$2" yes "$3" "DSR Referral Form.pdf:application/pdf:referral-scan.pdf" \
		"DSR Consent Form.pdf:application/pdf:consent-scan.pdf"
}

if wanted scan-pdf || wanted photo-jpeg || wanted fax-tiff || wanted upside-png; then joshua; fi
if wanted amara-scan-signed; then amara; fi
if wanted ethan-fax-photo; then ethan; fi
if wanted sofia-scan-png; then sofia; fi
if wanted noah-handwritten; then
	[ -f "$hand_print" ] || { echo "missing font: apt-get install fonts-dkg-handwriting" >&2; exit 1; }
	hand noah-handwritten noah N.B. "$hand_print"
fi
if wanted ruby-handwritten-script; then
	[ -f "$hand_script" ] || { echo "missing font: apt-get install fonts-dancingscript" >&2; exit 1; }
	hand ruby-handwritten-script ruby R.A. "$hand_script"
fi
ls -la "$out"
