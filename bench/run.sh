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

# medians in ms of several commands run in turn, $RUNS rounds after a warm-up
# round: the machine's drift (±30% from minute to minute on a shared VM)
# then touches every command alike, and their ratio stays put.
interleaved_ms() {
  local -a times=() ; local i f s e n=$#
  for f in "$@"; do $f >/dev/null 2>&1 || true; done
  for _ in $(seq "$RUNS"); do
    i=0
    for f in "$@"; do
      s=${EPOCHREALTIME/[.,]/}; $f >/dev/null 2>&1 || true; e=${EPOCHREALTIME/[.,]/}
      times+=("$i $(( e - s ))"); i=$((i + 1))
    done
  done
  for ((i = 0; i < n; i++)); do
    printf '%s\n' "${times[@]}" | awk -v k=$i '$1 == k {print $2}' | sort -n |
      awk '{a[NR]=$1} END {printf "%.1f\n", a[int((NR+1)/2)] / 1000}'
  done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) b = 1; printf "%.3f", a / b }'; }

# keyhole-find must find every site of the merged fixture homes.
expected=0
for h in tests/fixtures/homes/*; do
  n=$("$find_bin" --home "$h" -q | grep -c '"type":"site"' || true); expected=$((expected + n))
done
got=$("$find_bin" --home "$home" -q | grep -c '"type":"site"' || true)

kfind() { "$find_bin" --home "$home" -q; }
rgl() { rg -l 'OPENROUTER_API_KEY|sk-or-v1-' "$home"; }
rglh() { rg -l --hidden 'OPENROUTER_API_KEY|sk-or-v1-' "$home"; }
{ read -r kf; read -r rgt; read -r rgh; } < <(interleaved_ms kfind rgl rglh)
r1=$(ratio "$kf" "$rgt"); r2=$(ratio "$kf" "$rgh")

# keyhole-probe: one probe vs curl of the same request, and 100 sites vs 1,
# against the tests' loopback provider imitation (keep-alive like the real
# APIs; it accepts the keys written to keys.txt).
probe_bin=$root/target/release/keyhole-probe
pdir=$data/probe; rm -rf "$pdir"; mkdir -p "$pdir/one" "$pdir/many" "$pdir/same"
key1="sk-or-v1-$(printf 'c%.0s' $(seq 60))BN01"
printf 'OPENROUTER_API_KEY=%s\n' "$key1" > "$pdir/one/.env"
for i in $(seq -w 1 100); do mkdir -p "$pdir/many/p$i"; printf 'OPENROUTER_API_KEY=sk-or-v1-%s%s\n' "$(printf 'c%.0s' $(seq 56))" "B${i}X" | cut -c1-92 > "$pdir/many/p$i/.env"; done
for i in $(seq -w 1 100); do mkdir -p "$pdir/same/p$i"; cp "$pdir/one/.env" "$pdir/same/p$i/.env"; done
cat "$pdir"/one/.env "$pdir"/many/*/.env | sed 's/^OPENROUTER_API_KEY=//' > "$pdir/keys.txt"
"$root/target/release/keyhole-imitation" "$pdir/keys.txt" > "$pdir/port" &
imit_pid=$!
trap 'kill $imit_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$pdir/port" ] && break; sleep 0.1; done
port=$(head -1 "$pdir/port")
purl="openrouter=http://127.0.0.1:$port/api/v1"
"$find_bin" --home "$pdir/one" -q --provider-url "$purl" > "$pdir/one.jsonl"
"$find_bin" --home "$pdir/many" -q --provider-url "$purl" > "$pdir/many.jsonl"
"$find_bin" --home "$pdir/same" -q --provider-url "$purl" > "$pdir/same.jsonl"
nsites=$(grep -c '"type":"site"' "$pdir/many.jsonl")
probe1() { "$probe_bin" --home "$pdir/one" --provider-url "$purl" < "$pdir/one.jsonl"; }
probe100() { "$probe_bin" --home "$pdir/many" --provider-url "$purl" < "$pdir/many.jsonl"; }
probesame() { "$probe_bin" --home "$pdir/same" --provider-url "$purl" < "$pdir/same.jsonl"; }
curl1() { curl -s -H "Authorization: Bearer $key1" "http://127.0.0.1:$port/api/v1/key"; }
# curl sending the same 100 requests, 8 at a time on kept-alive connections:
# what one process can do on this machine's loopback.
urls=(); for _ in $(seq 100); do urls+=("http://127.0.0.1:$port/api/v1/key"); done
curl100() { curl -s --parallel --parallel-max 8 -H "Authorization: Bearer $key1" "${urls[@]}"; }
# Runs of a few ms: more of them for a steady median.
PR=${PROBE_RUNS:-41}
{ read -r p1; read -r c1; read -r p100; read -r psame; read -r c100; } < <(RUNS=$PR interleaved_ms probe1 curl1 probe100 probesame curl100)
status1=$(probe1 | jq -r '.probe.response.status')
ok100=$(probe100 | jq -r '.probe.response.status' | grep -c '^200$' || true)
rp=$(ratio "$p1" "$c1"); rm100=$(ratio "$p100" "$p1"); rsame=$(ratio "$psame" "$p1"); rc100=$(ratio "$p100" "$c100")

# A two-hop chain (docs/wire.md#gateways): aider pointed at the tests' gateway
# imitation (its unit names the port), the gateway's upstream entry at the
# provider imitation; both hops probed, against one probe.
vkey="sk-$(printf 'c%.0s' $(seq 30))BV01"
"$root/target/release/keyhole-gateway-imitation" "http://127.0.0.1:$port/api/v1" "$key1" "$vkey" > "$pdir/gw.port" &
gw_pid=$!
trap 'kill $imit_pid $gw_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$pdir/gw.port" ] && break; sleep 0.1; done
gwport=$(head -1 "$pdir/gw.port")
mkdir -p "$pdir/chain/litellm" "$pdir/chain/.config/systemd/user"
printf 'model_list:\n  - model_name: sonnet\n    litellm_params:\n      model: openrouter/anthropic/claude-sonnet-4.5\n      api_key: %s\n' "$key1" > "$pdir/chain/litellm/config.yaml"
printf '[Service]\nExecStart=%%h/.venv/bin/litellm --config %%h/litellm/config.yaml --port %s\n' "$gwport" > "$pdir/chain/.config/systemd/user/litellm.service"
printf 'model: openai/sonnet\nopenai-api-base: http://localhost:%s\nopenai-api-key: %s\n' "$gwport" "$vkey" > "$pdir/chain/.aider.conf.yml"
"$find_bin" --home "$pdir/chain" -q --provider-url "$purl" --proc-root "$pdir/none" > "$pdir/chain.jsonl"
probechain() { "$probe_bin" --home "$pdir/chain" --provider-url "$purl" < "$pdir/chain.jsonl"; }
{ read -r pc1; read -r pchain; } < <(RUNS=$PR interleaved_ms probe1 probechain)
okchain=$(probechain | jq -r '.probe.response.status' | grep -c '^200$' || true)
rchain=$(ratio "$pchain" "$pc1")

# keyhole-classify --log: throughput against rg on the same generated log, and peak RSS.
LOG_MIB=${LOG_MIB:-1024}
log=$data/proxy.log
if [ ! -f "$data/.log-$LOG_MIB" ]; then
  echo "generating a ${LOG_MIB} MiB proxy log …"
  python3 "$here/gen_log.py" "$log" "$LOG_MIB" > "$data/log-hits"
  rm -f "$data"/.log-*; touch "$data/.log-$LOG_MIB"
fi
classify_bin=$root/target/release/keyhole-classify
pat='Missing Authentication header|User not found\.|Provider returned error'
cl() { "$classify_bin" --log "$log"; }
rgn() { rg -n "$pat" "$log"; }
rgnm() { rg -n --no-mmap "$pat" "$log"; }
# rg given keyhole's own literal set (every rule message and keyword): the same search work.
"$classify_bin" --print-rules | python3 -c '
import re, sys
s = sys.stdin.read()
lits = re.findall(r"^message = \"(.*)\"$", s, re.M)
for k in re.findall(r"^keywords = \[(.*)\]$", s, re.M):
    lits += [x.replace(chr(92) + chr(39), chr(39)) for x in re.findall(r"\"((?:[^\"\\\\]|\\\\.)*)\"", k)]
print("\n".join(sorted(set(lits))))' > "$data/literals.txt"
rgall() { rg -n --no-mmap -F -f "$data/literals.txt" "$log"; }
{ read -r tc; read -r tr; read -r trm; read -r tra; } < <(interleaved_ms cl rgn rgnm rgall)
hits=$(cl | grep -c '"type":"response"' || true); want=$(cat "$data/log-hits")
rss=$( { /usr/bin/time -f '%M' "$classify_bin" --log "$log" >/dev/null || true; } 2>&1 | tail -1 )
rss_mb=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
# The worst case for memory: every line a failure (the hits outrun the output).
dense=$data/dense.log
[ -f "$dense" ] || python3 -c 'import sys; sys.stdout.write("openai.AuthenticationError: Error code: 401 - {\x27error\x27: {\x27message\x27: \x27User not found.\x27, \x27code\x27: 401}}\n" * 300000)' > "$dense"
drss=$( { /usr/bin/time -f '%M' "$classify_bin" --log "$dense" -j 8 >/dev/null || true; } 2>&1 | tail -1 )
drss_mb=$(awk -v k="$drss" 'BEGIN { printf "%.1f", k / 1024 }')
mib=$(( $(stat -c %s "$log") / 1048576 ))
rcl=$(ratio "$tr" "$tc"); rclm=$(ratio "$trm" "$tc"); rcla=$(ratio "$tra" "$tc"); nlit=$(wc -l < "$data/literals.txt")

table=$(cat <<TXT
| benchmark | keyhole | reference | ratio | target |
|---|---|---|---|---|
| keyhole-find vs \`rg -l 'OPENROUTER_API_KEY\|sk-or-v1-'\` ($nfiles files) | ${kf} ms | ${rgt} ms | ${r1}× | ≤ 0.5× |
| keyhole-find vs the same rg with \`--hidden\` (rg then sees the configs too) | ${kf} ms | ${rgh} ms | ${r2}× | — |
| sites found in the generated home / sites in the fixture homes | ${got} | ${expected} | | all |
| keyhole-probe, one site (answer: ${status1}) vs \`curl -s\` of the same request | ${p1} ms | ${c1} ms | ${rp}× | ≤ 1.0× |
| keyhole-probe, 100 sites of one home sharing its key (sent once) vs one site | ${psame} ms | ${p1} ms | ${rsame}× | ≤ 2× |
| keyhole-probe, ${nsites} sites with 100 different keys (${ok100} answered 200) vs one site | ${p100} ms | ${p1} ms | ${rm100}× | ≤ 2× |
| the same 100 requests: keyhole-probe vs \`curl --parallel --parallel-max 8\` (the loopback floor) | ${p100} ms | ${c100} ms | ${rc100}× | — |
| keyhole-probe, a two-hop chain client → gateway → upstream (${okchain}/2 hops answered 200) vs one site | ${pchain} ms | ${pc1} ms | ${rchain}× | ≤ 2× |
| keyhole-classify --log throughput vs \`rg -n\` (${mib} MiB log, ${hits}/${want} failures found) | ${tc} ms | ${tr} ms | ${rcl}× | ≥ 0.8× |
| the same vs \`rg -n --no-mmap\` (both read(2) the file) | ${tc} ms | ${trm} ms | ${rclm}× | — |
| the same vs \`rg -n --no-mmap -F\` with keyhole's ${nlit} literals (the same search) | ${tc} ms | ${tra} ms | ${rcla}× | — |
| keyhole-classify --log peak RSS | ${rss_mb} MB | | | < 20 MB |
| the same, every line of a 29 MB log a failure, 8 threads | ${drss_mb} MB | | | < 20 MB |
TXT
)
echo "$table"
{
  echo "# Benchmark results"
  echo
  echo "Measured by \`make bench\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -sr), $(rg --version 2>/dev/null | head -1); medians of rounds in which the commands compared run in turn, after a warm-up round ($RUNS rounds for find and classify, $PR for the probe rows): the machine's drift touches each side alike."
  echo
  echo "$table"
} > "$here/results.md"
[ "$got" -ge "$expected" ] || { echo "keyhole-find missed sites: $got < $expected" >&2; exit 1; }
