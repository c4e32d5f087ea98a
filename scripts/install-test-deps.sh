#!/bin/sh
# Installs the Debian packages the tests need: a real Dovecot IMAP server,
# started by internal/harness on loopback ports; Chromium, which the browser
# tests drive headless (internal/harness too); qpdf, against which
# parser/pdf_rewrite_test.go checks its PDF rewrite; and the OCR tools that
# read scanned forms (Tesseract with its English and orientation data,
# ImageMagick, poppler's pdftoppm, img2pdf for the fixtures' generator,
# libheif's heif-enc for the HEIC test, gifsicle and libwebp's img2webp
# for animations written outside ImageMagick), and the peers the readers of
# Outlook's wrappers are compared with: Debian's tnef (winmail.dat) and
# msgconvert (.msg items; it needs Email::Address, which the package only
# recommends), and Info-ZIP's zip and unzip (zip files of forms are made
# with the one and their contents compared with the other), and Ghostscript,
# which prints the sample forms to PDF as the PDF printers built on it do
# (poppler's pdftocairo prints them as Cairo does), and openssl, which signs
# the sample emails with S/MIME and takes out what it signed as the peer of
# the reader of opaque signatures, and antiword and odt2txt, the peers of
# the Word 97-2003 (.doc) and OpenDocument (.odt) readers' text, and mail
# programs that write the emails parser.TestMailersWriteReferrals reads:
# mutt, s-nail, mpack, and Perl's MIME::Lite and Email::MIME. Idempotent and quiet:
# does nothing
# when everything is already installed.
set -eu

PACKAGES="dovecot-imapd chromium qpdf tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd poppler-utils imagemagick img2pdf libheif-examples tnef libemail-outlook-message-perl libemail-address-perl zip unzip ghostscript openssl antiword odt2txt fonts-liberation fonts-dejavu-core mupdf-tools mutt s-nail mpack libmime-lite-perl libmime-types-perl libemail-mime-perl gifsicle webp"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
echo "install-test-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086 # word splitting of the package list is wanted
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
