#!/usr/bin/env bash
# Memory over time: a duration race at concurrency 100 against `llmrace mock`, the client's
# resident memory sampled every 10 s. Memory must stay flat: the aggregator keeps histograms
# and bounded rings, per-request records stream to disk.
#
# The mock (profile turbo: TTFT ~80 ms, ~8 ms/token, 128 tokens) is pinned to core 1, the
# headless client to core 0, both on 127.0.0.1; text capture and the replay stay on.
# Prints one line per sample (seconds, RSS in MB), the race's summary and a verdict.
#
# Usage: benches/memory_over_time.sh [DURATION_S] [PROFILE]   (defaults 600, turbo; build
#        first: cargo build --release; LLMRACE=path overrides the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-600}
profile=${2:-turbo}
bin=${LLMRACE:-./target/release/llmrace}
port=18083
out=$(mktemp -d)
taskset -c 1 "$bin" mock --port "$port" --profile "$profile" >"$out/mock.log" 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 50); do grep -q listening "$out/mock.log" && break; sleep 0.1; done

taskset -c 0 "$bin" race -q -e "a=openai:http://127.0.0.1:$port/v1#m" -c 100 \
  -d "${duration}s" -o "$out/race" >"$out/race.log" 2>&1 &
client=$!
samples="$out/samples"
: >"$samples"
start=$(date +%s.%N)
while kill -0 "$client" 2>/dev/null; do
  rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$client/status" 2>/dev/null || true)
  [ -n "$rss_kb" ] || break
  now=$(date +%s.%N)
  python3 -c "print(f'{$now-$start:6.0f} s  rss {$rss_kb/1024:7.1f} MB')" |
    tee -a "$samples"
  sleep 10
done
wait "$client" || { cat "$out/race.log"; exit 1; }
cat "$out/race.log"
python3 - "$samples" <<'EOF'
import re, sys
rows = [tuple(map(float, re.findall(r"[\d.]+", l)[:2])) for l in open(sys.argv[1])]
# Skip the first minute: connections, rings and buffers fill up, then the level must hold.
steady = [r for r in rows if r[0] >= 60]
if len(steady) < 2:
    sys.exit("too few samples after the first minute")
first, last = steady[0], steady[-1]
lo, hi = min(r[1] for r in steady), max(r[1] for r in steady)
print(f"after 60 s: rss {lo:.1f}-{hi:.1f} MB over {len(steady)} samples; "
      f"{first[1]:.1f} MB at {first[0]:.0f} s -> {last[1]:.1f} MB at {last[0]:.0f} s")
grew = last[1] - first[1]
print("flat" if grew <= max(2.0, 0.05 * first[1]) else f"GREW by {grew:.1f} MB")
EOF
