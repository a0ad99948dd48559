#!/usr/bin/env bash
# What serving the race's metrics for Prometheus costs the client: the same headless race with
# and without `--metrics-addr`, the page scraped once a second (as Prometheus would) while it
# runs. `llmrace mock` (STREAMS streams, one token per SSE event every ITL) pinned to core
# 1, `llmrace race -q` (one OpenAI endpoint, text capture and replay on) pinned to core 0, both
# on 127.0.0.1; the mock's automatic /metrics scrape is turned off so only the exporter
# differs. Prints every run, then the client CPU per streamed token (user + sys, whole process)
# with and without the exporter, median of RUNS.
#
# Usage: benches/exporter_cost.sh [RUNS] [STREAMS] [ITL]
#        defaults: 3 1000 20ms: 1000 streams of 200 tokens, 5 requests each, a token every
#        20 ms per stream (50 k tokens/s, about 20 s)   (build first: cargo build --release;
#        LLMRACE overrides the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
streams=${2:-1000}
itl=${3:-20ms}
tokens_each=200
bin=${LLMRACE:-./target/release/llmrace}
port=18090
metrics=18091
out=$(mktemp -d)
mock=
scraper=
cleanup() {
  [ -n "$scraper" ] && kill "$scraper" 2>/dev/null || true
  [ -n "$mock" ] && kill "$mock" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT
taskset -c 1 "$bin" mock --port "$port" --profile "steady,ttft=20ms,itl=$itl,tokens=$tokens_each" \
  >"$out/mock.log" 2>&1 &
mock=$!
for _ in $(seq 50); do grep -q listening "$out/mock.log" && break; sleep 0.1; done
grep -q listening "$out/mock.log" || { cat "$out/mock.log"; exit 1; }
: >"$out/results.tsv"
for r in $(seq "$runs"); do
  for mode in off on; do
    rm -rf "$out/race"
    extra=()
    if [ "$mode" = on ]; then
      extra=(--metrics-addr "127.0.0.1:$metrics")
      # Prometheus's pace: one scrape a second for as long as the race serves.
      ( while sleep 1; do curl -s -o /dev/null "http://127.0.0.1:$metrics/metrics" || true; done ) &
      scraper=$!
    fi
    /usr/bin/time -f "%e %U %S %M" -o "$out/time" taskset -c 0 "$bin" race -q \
      -e "a=openai:http://127.0.0.1:$port/v1#m" --server-metrics a=off \
      -c "$streams" -n $((streams * 5)) --max-tokens "$tokens_each" "${extra[@]}" -o "$out/race" >/dev/null
    if [ -n "$scraper" ]; then kill "$scraper" 2>/dev/null || true; wait "$scraper" 2>/dev/null || true; scraper=; fi
    read -r wall user sys rss <"$out/time"
    tokens=$(python3 -c "import json; print(json.load(open('$out/race/summary.json'))['endpoints'][0]['tokens']['output'])")
    echo -e "$mode\t$r\t$wall\t$user\t$sys\t$rss\t$tokens\t$tokens" >>"$out/results.tsv"
    awk -F'\t' -v m="$mode" -v r="$r" 'END{printf "exporter=%s run=%s wall=%ss user=%ss sys=%ss peak=%.0fMB tokens=%s cpu/token=%.2fus\n", m, r, $3, $4, $5, $6/1024, $8, ($4+$5)/$8*1e6}' "$out/results.tsv"
  done
done
python3 - "$out/results.tsv" <<'PY'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
print("\n| exporter | runs | client CPU / token (median, min–max) | user / token | sys / token | peak memory |")
print("|---|---|---|---|---|---|")
for mode in ("off", "on"):
    rs = [r for r in rows if r[0] == mode]
    per = [(float(r[3]) + float(r[4])) / int(r[7]) * 1e6 for r in rs]
    user = [float(r[3]) / int(r[7]) * 1e6 for r in rs]
    sys_ = [float(r[4]) / int(r[7]) * 1e6 for r in rs]
    mem = [int(r[5]) / 1024 for r in rs]
    print(f"| {mode} | {len(rs)} | {statistics.median(per):.2f} µs ({min(per):.2f}–{max(per):.2f}) | "
          f"{statistics.median(user):.2f} µs | {statistics.median(sys_):.2f} µs | {statistics.median(mem):.0f} MB |")
PY
