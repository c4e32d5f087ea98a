#!/usr/bin/env bash
# make compat: peer agreement of dsr on the third-party corpus (local
# only, never in make test). Builds dsr, then runs compat.py over the
# corpus that fetch-corpus.sh made, printing the figures and every
# disagreement and writing them to .compat/report.md and report.json.
#
#   make compat                      # corpus in .compat/corpus
#   DSR_COMPAT_CORPUS=/elsewhere make compat
#   DSR_COMPAT_JOBS=4 make compat    # PDFs checked at once (default 2)
#   DSR_COMPAT_ONLY=pdfs,forms make compat   # some of the checks: emails, pdfs, forms, wrappers, bounces
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=${DSR_COMPAT_CORPUS:-.compat/corpus}
for tool in qpdf pdftk python3; do
	command -v "$tool" >/dev/null || { echo "make compat needs $tool" >&2; exit 2; }
done
if [[ ! -d "$corpus/email" || ! -d "$corpus/pdf" ]]; then
	echo "no corpus in $corpus: build it first with" >&2
	echo "  DSR_COMPAT_MIRROR=/path/to/clones scripts/compat/fetch-corpus.sh" >&2
	exit 2
fi
go build -o bin/dsr ./cmd/dsr
mkdir -p "$(dirname "$corpus")"
exec python3 scripts/compat/compat.py bin/dsr "$corpus" "$(dirname "$corpus")"
