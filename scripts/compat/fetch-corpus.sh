#!/usr/bin/env bash
# Rebuilds the third-party corpus that `make compat` reads: the emails,
# PDFs and Word files in the public test suites of mail and PDF projects,
# plus the email tests of the local Python and the PDFs Debian's
# packages install. Nothing here is committed (.compat/ is ignored);
# testdata/thirdparty/ holds the small committed selection.
#
# The projects' repositories are read with git from DSR_COMPAT_MIRROR, a
# folder holding one git clone (or bare snapshot) per project, named
# owner+name/repo (what the session tool `fetch github:owner/name` makes)
# or owner/name (a plain `git clone`). A project that is not there is
# reported and skipped; the rest are still copied.
#
#   DSR_COMPAT_MIRROR=/path/to/clones scripts/compat/fetch-corpus.sh
#
# DSR_COMPAT_CORPUS (default .compat/corpus) is where the corpus goes;
# it is emptied first. Files are named kind/owner+name/path-with-slashes-as-%.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DSR_COMPAT_MIRROR:?set DSR_COMPAT_MIRROR to the folder of the projects clones (see the top of this script)}"
out=${DSR_COMPAT_CORPUS:-.compat/corpus}

# project, and the extended regex of its paths that are whole emails
# (PDFs, .docx, .doc, .rtf and .odt files are taken from every project wherever they are).
projects=(
	"SpamScope/mail-parser ^tests/mails/"
	"nodemailer/mailparser \.eml$"
	"mjl-/mox \.(eml|mbox)$"
	"jhillyerd/enmime ^testdata/(mail|low-quality)/.*\.raw$"
	"zbateson/mail-mime-parser ^tests/_data/emails/[^/]+\.txt$"
	"stalwartlabs/mail-parser ^resources/eml/.*\.eml$"
	"mikel/mail ^spec/fixtures/emails/.*\.eml$"
	"emersion/go-message \.eml$"
	"jstedfast/MimeKit ^UnitTests/TestData/(messages|partial|dkim)/.*\.(txt|eml|msg)$"
	"apache/james-mime4j src/test/resources/(mimetools-testmsgs|testmsgs)/.*\.msg$"
	"mozilla/pdf.js -"
	"pdfcpu/pdfcpu -"
	"py-pdf/pypdf -"
	"qpdf/qpdf -"
	"pymupdf/PyMuPDF -"
	"python-openxml/python-docx -"
	"jgm/pandoc -"
	"apache/poi -"
	"Teamwork/tnef -"
	"Sicos1977/MSGReader -"
	"TeamMsgExtractor/msg-extractor -"
	"apache/tika test-documents/.*\.(eml|mbox)$"
	"php-mime-mail-parser/php-mime-mail-parser ^tests/mails/"
	"roundcube/roundcubemail ^tests/src/.*\.(eml|mbox|msg)$"
	"chromium/pdfium -"
	"apache/pdfbox -"
	"jsvine/pdfplumber -"
	"pdfminer/pdfminer.six -"
	"py-pdf/sample-files -"
	"rspamd/rspamd ^test/functional/messages/.*\.eml$"
	"mnako/letters ^tests/.*\.txt$"
	"mailgun/flanker ^tests/fixtures/messages/.*\.eml$"
	"Hopding/pdf-lib -"
	"pikepdf/pikepdf -"
	"axllent/mailpit ^internal/storage/testdata/.*\.eml$"
	"notmuch/notmuch ^test/corpora/(attachment|broken|crypto|default|protected-headers)/"
	"OfficeDev/Open-XML-SDK -"
	"mwilliamson/mammoth.js -"
	"plutext/docx4j -"
)

rm -rf "$out"
mkdir -p "$out/email" "$out/pdf" "$out/docx" "$out/wrap"

gitdir() {
	local base
	for base in "$DSR_COMPAT_MIRROR/${1/\//+}/repo" "$DSR_COMPAT_MIRROR/$1"; do
		if [[ -d "$base/.git" ]]; then
			echo "$base/.git"
			return
		fi
		if [[ -f "$base/HEAD" && -d "$base/objects" ]]; then
			echo "$base"
			return
		fi
	done
	return 1
}

# copy GITDIR PATH KIND PROJECT: one blob of HEAD into the corpus.
copy() {
	local dest="$out/$3/${4/\//+}"
	mkdir -p "$dest"
	# A snapshot may lack its largest files: skip what cannot be read.
	if ! git --git-dir="$1" cat-file blob "HEAD:$2" >"$dest/${2//\//%}" 2>/dev/null; then
		rm -f "$dest/${2//\//%}"
		echo "  $4: $2 is not in the clone (skipped)" >&2
		return 1
	fi
}

missing=()
for spec in "${projects[@]}"; do
	read -r project emails <<<"$spec"
	if ! g=$(gitdir "$project"); then
		missing+=("$project")
		continue
	fi
	n=0
	while IFS= read -r -d '' path; do
		kind=
		case "${path,,}" in
		*.pdf) kind=pdf ;;
		*.docx | *.doc | *.rtf | *.odt) kind=docx ;;
		*.tnef | *winmail.dat | *.msg) kind=wrap ;;
		esac
		# A project's emails may be named .msg (mime4j's RFC 822 test
		# messages are): its email pattern wins over Outlook's item, and
		# a .msg that is no OLE compound file is no Outlook item.
		if [[ ( -z "$kind" || "$kind" == wrap ) && "$emails" != - ]] && grep -qE "$emails" <<<"$path"; then
			kind=email
		elif [[ "${path,,}" == *.msg ]] &&
			[[ "$(git --git-dir="$g" cat-file blob "HEAD:$path" 2>/dev/null | head -c 4 | od -An -tx1 | tr -d ' \n')" != d0cf11e0 ]]; then
			continue
		fi
		[[ -n "$kind" ]] || continue
		copy "$g" "$path" "$kind" "$project" && n=$((n + 1))
	done < <(git --git-dir="$g" ls-tree -r -z --name-only HEAD)
	echo "$project: $n files"
done

# Python's own email tests (PSF licence), from the python3 that runs here.
pytest_data=$(python3 -c 'import os, test; print(os.path.join(os.path.dirname(test.__file__), "test_email", "data"))' 2>/dev/null || true)
if [[ -d "$pytest_data" ]]; then
	mkdir -p "$out/email/python+cpython"
	cp "$pytest_data"/msg_*.txt "$out/email/python+cpython/"
	echo "python test_email: $(ls "$pytest_data"/msg_*.txt | wc -l) files"
fi

# Real bounces, gathered for sisimai's tests (BSD-2-Clause), every kind
# in maildir/ (bounces, delay warnings, auto-replies, abuse reports and a
# few that are none); and sisimai itself (BSD-2-Clause, Perl), the peer
# that make compat reads them with (scripts/compat/sisimai_verdicts.pl).
mkdir -p "$out/bounce"
if g=$(gitdir sisimai/set-of-emails); then
	n=0
	while IFS= read -r -d '' path; do
		[[ "$path" == *.eml ]] || continue
		copy "$g" "$path" bounce sisimai/set-of-emails && n=$((n + 1))
	done < <(git --git-dir="$g" ls-tree -r -z --name-only HEAD -- maildir/)
	echo "sisimai/set-of-emails: $n files"
else
	missing+=(sisimai/set-of-emails)
fi
if g=$(gitdir sisimai/p5-sisimai); then
	mkdir -p "$out/tools/sisimai"
	git --git-dir="$g" archive HEAD lib | tar -x -C "$out/tools/sisimai"
else
	missing+=(sisimai/p5-sisimai)
fi

# PDFs and Word files Debian's packages install (manuals, examples).
mkdir -p "$out/pdf/debian" "$out/docx/debian"
find /usr/share/doc /usr/share/texmf /usr/lib/libreoffice /usr/share/poppler -type f \( -iname '*.pdf' -o -iname '*.docx' \) 2>/dev/null |
	while IFS= read -r f; do
		case "${f,,}" in
		*.pdf) cp "$f" "$out/pdf/debian/${f//\//%}" ;;
		*.docx) cp "$f" "$out/docx/debian/${f//\//%}" ;;
		esac
	done || true # a folder that is not installed here

# An mbox holds many messages: split it into one file each.
python3 - "$out/email" <<'EOF'
import mailbox, os, sys
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        if not name.lower().endswith(".mbox"):
            continue
        path = os.path.join(root, name)
        for i, msg in enumerate(mailbox.mbox(path)):
            with open("%s.%03d.eml" % (path, i), "wb") as f:
                f.write(msg.as_bytes(unixfrom=False))
        os.remove(path)
EOF

for kind in email pdf docx wrap bounce; do
	echo "$kind: $(find "$out/$kind" -type f | wc -l) files"
done
if ((${#missing[@]})); then
	echo "not in $DSR_COMPAT_MIRROR (clone or fetch them to include them): ${missing[*]}" >&2
fi
