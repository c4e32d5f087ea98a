#!/usr/bin/env bash
# make bench: the Go benchmarks (benchstat-friendly) and the end-to-end
# figures of cmd/dsrbench against a private Dovecot. Not part of make test.
#
# Environment:
#   BENCH_OUT       where results go (default scripts/bench/out)
#   BENCH_COUNT     -count for the Go benchmarks (default 6, for benchstat)
#   BENCH_POSTGRES  PostgreSQL URL to create scratch databases on
#                   (default $DSR_TEST_POSTGRES, else the local server as
#                   postgres; unreachable: the PostgreSQL run is skipped)
#   BENCH_ARGS      extra flags for dsrbench, e.g. "-n 200 -reps 1
#                   -mem-large 2000" for a quick look (see dsrbench -h)
#   BENCH_INSTALL   0: never apt-get install missing tools (default 1 as root)
set -euo pipefail
cd "$(dirname "$0")/../.."

out=${BENCH_OUT:-scripts/bench/out}
count=${BENCH_COUNT:-6}
pg=${BENCH_POSTGRES:-${DSR_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}}
mkdir -p "$out"

# The tools the bench drives, and the Debian packages that have them.
# tesseract and convert are for reading scans (dsrbench's ocr part and
# BenchmarkOCRPage); without them those parts say they were skipped.
declare -A pkg=([dovecot]=dovecot-imapd [mbsync]=isync [pdftotext]=poppler-utils [/usr/bin/time]=time
  [tesseract]=tesseract-ocr [convert]=imagemagick)
missing=()
for tool in dovecot mbsync pdftotext /usr/bin/time tesseract convert; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
    missing+=("${pkg[$tool]}")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && [ "${BENCH_INSTALL:-1}" = 1 ] && command -v apt-get >/dev/null; then
    echo "bench: installing ${missing[*]}"
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bench: missing tools; install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
if [ "$(id -u)" != 0 ]; then
  echo "bench: must run as root (it starts Dovecot, which switches to its own users)" >&2
  exit 1
fi

go build -o bin/dsr ./cmd/dsr
go build -o bin/dsrbench ./cmd/dsrbench

echo "bench: Go benchmarks (-count $count) -> $out/go-bench.txt"
{
  go test -run '^$' -bench '^Benchmark(Parse|ChildPDF|ReadPDF|ReadDOCX)$' -benchmem -count "$count" ./parser
  # One scanned page by OCR (needs tesseract-ocr): cpu-s/page and the
  # tools' peak-MB beside the wall time.
  go test -run '^$' -bench '^BenchmarkOCRPage$' -count 3 ./parser
  DSR_TEST_POSTGRES="$pg" go test -run '^$' -bench '^Benchmark(Assess|Apply)$' -benchmem -count "$count" ./register ./register/store
} | tee "$out/go-bench.txt"
if command -v benchstat >/dev/null; then
  benchstat "$out/go-bench.txt" | tee "$out/go-benchstat.txt"
else
  echo "bench: benchstat not installed (go install golang.org/x/perf/cmd/benchstat@latest); $out/go-bench.txt is in its format"
fi

echo "bench: end to end (dsrbench) -> $out/figures.md"
# shellcheck disable=SC2086
bin/dsrbench -dsr bin/dsr -pg "$pg" -out "$out/figures.md" ${BENCH_ARGS:-}
echo "bench: done; copy what changed into BENCHMARKS.md"
