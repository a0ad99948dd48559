#!/usr/bin/env bash
# Whole-client benchmark: `llmrace mock` (zero delays, 256 tokens per response, one token per
# SSE event) pinned to core 1, a headless `llmrace race` pinned to core 0, both on 127.0.0.1.
# Prints one line per run: concurrency, wall time, client CPU, peak memory, streamed tokens.
# Usage: benches/whole_client.sh [RUNS]   (build first: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
bin=./target/release/llmrace
port=18080
out=$(mktemp -d)
taskset -c 1 "$bin" mock --port "$port" --profile instant,tokens=256,chunk=1 >"$out/mock.log" 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 50); do grep -q listening "$out/mock.log" && break; sleep 0.1; done
for c in 1 32 256; do
  n=$(( c == 1 ? 400 : (c == 32 ? 1600 : 2560) ))
  for r in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" -o "$out/time" taskset -c 0 "$bin" race -q \
      -e "a=openai:http://127.0.0.1:$port/v1#m" -n "$n" -c "$c" --max-tokens 256 -o "$out/c$c-$r" >/dev/null
    read -r wall user sys rss <"$out/time"
    tokens=$(python3 -c "import json;print(json.load(open('$out/c$c-$r/summary.json'))['endpoints'][0]['tokens']['output'])")
    python3 -c "
w,u,s,m,t=$wall,$user,$sys,$rss,$tokens
print(f'c={$c:<4} run={$r} wall={w:.2f}s cpu={u+s:.2f}s tokens={t} tok/s(wall)={t/w:,.0f} cpu/token={(u+s)/t*1e6:.2f}us peak_rss={m/1024:.0f}MB')"
  done
done
