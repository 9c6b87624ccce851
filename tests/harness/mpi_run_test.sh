#!/bin/sh
# `bench run` under mpirun: two ranks split the work and rank 0's results equal those of one
# process, to the byte (bench compare, exact, and the same compressed sizes).
# Usage: mpi_run_test.sh BENCH MPIEXEC
set -eu
bench=$1
mpiexec=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c 300000 /usr/share/common-licenses/GPL-3 > "$work/text.txt" 2>/dev/null ||
  yes "the quick brown fox jumps over the lazy dog" | head -c 300000 > "$work/text.txt"
cat > "$work/config.json" <<JSON
{"name": "mpi", "chunk_size": 2048,
 "datasets": [{"name": "text", "kind": "enwik", "path": "$work/text.txt"},
              {"name": "random", "kind": "random", "num_chunks": 120, "seed": 5}],
 "compressors": [{"name": "gzip"}, {"name": "lzma2"}, {"name": "png"}],
 "modes": ["chunked", "unchunked"], "threads": 1}
JSON
"$bench" run "$work/config.json" --out "$work/one" --quiet --no-figures > /dev/null
"$mpiexec" --allow-run-as-root --oversubscribe -n 2 \
  "$bench" run "$work/config.json" --out "$work/two" --quiet --no-figures > /dev/null
grep -q '"processes": 2' "$work/two/results.json" || { echo "results do not record 2 processes"; exit 1; }
"$bench" compare "$work/two" "$work/one"
one=$(cut -d, -f1-7 "$work/one/results.csv")
two=$(cut -d, -f1-7 "$work/two/results.csv")
[ "$one" = "$two" ] || { echo "compressed sizes differ:"; echo "$one"; echo "$two"; exit 1; }
ls "$work/two" | grep -q journal && { echo "journals left behind"; exit 1; }
echo "mpi: 2 ranks = 1 process"
