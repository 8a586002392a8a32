#!/usr/bin/env bash
# make bench: ratios against rg (and, for later tools, curl) measured in the
# same run on generated data. Prints a table and writes bench/results.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
RUNS=${RUNS:-7}
FILES=${FILES:-200000}
data=${BENCH_DATA:-$here/data}
find_bin=$root/target/release/keyhole-find

if ! command -v rg >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq ripgrep >/dev/null; else echo "bench needs rg (ripgrep)" >&2; exit 2; fi
fi

home=$data/home
if [ ! -f "$data/.files-$FILES" ]; then
  echo "generating a home of $FILES files in $home …"
  mkdir -p "$data"
  python3 "$here/gen_home.py" "$home" "$FILES" > "$data/count"
  rm -f "$data"/.files-*; touch "$data/.files-$FILES"
fi
nfiles=$(cat "$data/count")

# median wall time in ms of a command, over $RUNS runs after one warm-up
median_ms() {
  local t=() s e
  "$@" >/dev/null 2>&1 || true
  for _ in $(seq "$RUNS"); do
    s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
    t+=($(( (e - s) / 1000000 )))
  done
  printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) b = 1; printf "%.3f", a / b }'; }

# keyhole-find must find every site of the merged fixture homes.
expected=0
for h in tests/fixtures/homes/*; do
  n=$("$find_bin" --home "$h" -q | grep -c '"type":"site"' || true); expected=$((expected + n))
done
got=$("$find_bin" --home "$home" -q | grep -c '"type":"site"' || true)

kf=$(median_ms "$find_bin" --home "$home" -q)
rgt=$(median_ms rg -l 'OPENROUTER_API_KEY|sk-or-v1-' "$home")
rgh=$(median_ms rg -l --hidden 'OPENROUTER_API_KEY|sk-or-v1-' "$home")
r1=$(ratio "$kf" "$rgt"); r2=$(ratio "$kf" "$rgh")

table=$(cat <<TXT
| benchmark | keyhole | reference | ratio | target |
|---|---|---|---|---|
| keyhole-find vs \`rg -l 'OPENROUTER_API_KEY\|sk-or-v1-'\` ($nfiles files) | ${kf} ms | ${rgt} ms | ${r1}× | ≤ 0.5× |
| keyhole-find vs the same rg with \`--hidden\` (rg then sees the configs too) | ${kf} ms | ${rgh} ms | ${r2}× | — |
| sites found in the generated home / sites in the fixture homes | ${got} | ${expected} | | all |
TXT
)
echo "$table"
{
  echo "# Benchmark results"
  echo
  echo "Measured by \`make bench\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -sr), $(rg --version | head -1); median of $RUNS runs after a warm-up."
  echo
  echo "$table"
} > "$here/results.md"
[ "$got" -ge "$expected" ] || { echo "keyhole-find missed sites: $got < $expected" >&2; exit 1; }
