#!/usr/bin/env bash
# make oracle: dsr check against an independent reading of the rules.
# oracle.py was written from the forms' contract alone, by someone who had
# not read register/ or parser/; gen.py fills the blank PDF forms
# (scripts/pdf) with pdftk, each case a valid child with one or two
# mutations across the rules table (blank, malformed and future fields,
# every consent basis at 15-18, capacity, mismatched children, Blue
# without admission, ineligible, one form missing, both in one PDF,
# flattened, forwarded, Outlook-like, non-ASCII file names), builds the
# emails with Python's email package, and writes what the oracle expects
# beside each; gen_flat_targets.py adds flattened forms with one field
# blank beside multi-line answers. compare.py runs dsr check and prints
# every disagreement. Deterministic (seeded); ~10 minutes, mostly pdftk.
#
# Needs: python3, pdftk (pdftk-java), bin/dsr (make build).
set -euo pipefail
cd "$(dirname "$0")/../.."
export ORACLE_CASES=${ORACLE_CASES:-$PWD/.oracle/cases}
[ -x bin/dsr ] || go build -o bin/dsr ./cmd/dsr
if [ ! -e "$ORACLE_CASES/380.eml" ]; then
	rm -rf "$ORACLE_CASES" && mkdir -p "$ORACLE_CASES"
	python3 scripts/oracle/gen.py 300 >/dev/null
	FORCE_FLATTEN=1 python3 scripts/oracle/gen.py 60 301 >/dev/null
	python3 scripts/oracle/gen_flat_targets.py >/dev/null
fi
python3 scripts/oracle/compare.py --rerun
