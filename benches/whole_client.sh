#!/usr/bin/env bash
# Whole-client benchmark: `llmrace mock` with zero delays (256 tokens per response, CHUNK tokens
# per SSE event, every SSE event its own write: `delivery=per-event`, as inference servers send
# them; DELIVERY=coalesced for the mock's batching writes) pinned to core 1, a headless `llmrace race` (one OpenAI endpoint, text capture
# and replay on, as a user runs it) pinned to core 0, both on 127.0.0.1.
#
# For each chunk size and concurrency, RUNS runs; prints every run, then a Markdown table of
# medians with the range over the runs: requests/s and streamed tokens/s over the race's wall
# time, the client's CPU time (user + sys, from /usr/bin/time, start-up and result files
# included) per 1000 tokens and per content event (SSE event carrying tokens, as the client
# counted them), and its peak resident memory.
#
# Usage: benches/whole_client.sh [RUNS] [CHUNKS] [CONCURRENCIES]
#        defaults: 3 "1 4 16" "1 32 256 1000"   (build first: cargo build --release;
#        LLMRACE=path overrides the binary; DELIVERY=coalesced for the coalesced table)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
chunks=${2:-1 4 16}
levels=${3:-1 32 256 1000}
bin=${LLMRACE:-./target/release/llmrace}
delivery=${DELIVERY:-per-event}
port=18080
tokens=256
out=$(mktemp -d)
mock=
stop_mock() { if [ -n "$mock" ]; then kill "$mock" 2>/dev/null || true; wait "$mock" 2>/dev/null || true; fi; }
trap 'stop_mock; rm -rf "$out"' EXIT
results="$out/results.tsv"
: >"$results"
for chunk in $chunks; do
  stop_mock
  : >"$out/mock.log"
  taskset -c 1 "$bin" mock --port "$port" --profile "instant,tokens=$tokens,chunk=$chunk,delivery=$delivery" \
    >"$out/mock.log" 2>&1 &
  mock=$!
  for _ in $(seq 50); do grep -q listening "$out/mock.log" && break; sleep 0.1; done
  grep -q listening "$out/mock.log" || { cat "$out/mock.log"; exit 1; }
  for c in $levels; do
    # Enough requests that start-up and the last stragglers are a small part of the run.
    n=$(( c == 1 ? 400 : (c < 256 ? 50 * c : 4 * c) ))
    n=$(( n < 2560 ? 2560 : n ))
    for r in $(seq "$runs"); do
      rm -rf "$out/race"
      /usr/bin/time -f "%e %U %S %M" -o "$out/time" taskset -c 0 "$bin" race -q \
        -e "a=openai:http://127.0.0.1:$port/v1#m" -n "$n" -c "$c" --max-tokens "$tokens" \
        -o "$out/race" >/dev/null
      read -r wall user sys rss <"$out/time"
      python3 - "$out/race/summary.json" "$chunk" "$c" "$r" "$wall" "$user" "$sys" "$rss" \
        >>"$results" <<'EOF'
import json, sys
path, chunk, c, r, wall, user, sys_, rss = sys.argv[1:]
e = json.load(open(path))["endpoints"][0]
requests, tokens, events = e["counts"]["succeeded"], e["tokens"]["output"], e["tokens"]["chunks"]
cpu = float(user) + float(sys_)
print(f"{chunk}\t{c}\t{r}\t{requests}\t{tokens}\t{wall}\t{cpu}\t{events}\t{int(rss)}")
EOF
      tail -1 "$results" | awk -F'\t' '{printf "chunk=%-2s c=%-4s run=%s requests=%s tokens=%s wall=%.2fs cpu=%.2fs cpu/token=%.2fus peak=%.0fMB\n", $1, $2, $3, $4, $5, $6, $7, $7/$5*1e6, $9/1024}'
    done
  done
done
echo
echo "mock delivery: $delivery"
python3 - "$results" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
groups = {}
for chunk, c, r, req, tok, wall, cpu, ev, rss in rows:
    groups.setdefault((int(chunk), int(c)), []).append(
        (int(req) / float(wall), int(tok) / float(wall), float(cpu) / int(tok) * 1e9,
         float(cpu) / float(ev) * 1e6, int(rss) / 1024))
def cell(values, fmt):
    m = statistics.median(values)
    return f"{fmt(m)} ({fmt(min(values))}–{fmt(max(values))})"
print()
print("| tokens/event | streams | requests/s | tokens/s | client CPU / 1000 tokens | CPU / event | peak memory |")
print("|---|---|---|---|---|---|---|")
for (chunk, c), v in sorted(groups.items()):
    cols = list(zip(*v))
    print(f"| {chunk} | {c} | {cell(cols[0], lambda x: f'{x:,.0f}')} | {cell(cols[1], lambda x: f'{x/1000:,.0f}k')} "
          f"| {cell(cols[2], lambda x: f'{x:.0f} µs')} | {cell(cols[3], lambda x: f'{x:.2f} µs')} "
          f"| {cell(cols[4], lambda x: f'{x:.0f} MB')} |")
print(f"\nmedian (min–max) of {max(len(v) for v in groups.values())} runs each")
EOF
