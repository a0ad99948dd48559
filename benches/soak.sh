#!/usr/bin/env bash
# Soak: a long headless race against `llmrace mock` with injected faults, to show that the
# client survives them for a long time without leaking memory or file descriptors and without
# losing a single request.
#
# Two endpoints (OpenAI chat and Anthropic Messages, so per-endpoint accounting is checked on
# two decoders) at CONCURRENCY requests in flight each, against one mock with the `steady`
# profile (TTFT ~250 ms, ~20 ms/token, 128 tokens sent 8 per event, so a request takes ~2.8 s)
# and 5% of requests failing: ten fault kinds at 0.5% each. The client's RSS and open file
# descriptors are sampled every 10 s from /proc. At the end it checks:
#   - per endpoint, sent = succeeded + failed + cancelled, nothing left in flight;
#   - requests.jsonl has one line per request sent;
#   - `llmrace report --results` rebuilt from the replay gives the same summary.json numbers;
#   - RSS and fd count are flat after the first minute (first, last, max, trend).
#
# Usage: benches/soak.sh [DURATION [CONCURRENCY [OUT]]]   default 30m 200 (a fresh temp folder)
#        e.g. benches/soak.sh 1m 50 for a quick try. LLMRACE=path overrides the binary
#        (default ./target/release/llmrace; build first: cargo build --release).
#        benches/soak.sh --check OUT   runs only the checks on the folder of an earlier soak.
# Exit status: 0 when every check passes, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${LLMRACE:-./target/release/llmrace}
if [ "${1:-}" = "--check" ]; then
  out=${2:?usage: benches/soak.sh --check OUT}
else
  duration=${1:-30m}
  concurrency=${2:-200}
  out=${3:-$(mktemp -d /tmp/llmrace-soak.XXXXXX)}
  mkdir -p "$out"

  faults=""
  for kind in http_429 http_500 http_503 malformed_chunk invalid_utf8 no_terminator \
    error_mid_stream reset_before_headers reset_mid_stream hang_mid_stream; do
    faults="$faults,fault=$kind:0.005"
  done
  profile="steady,chunk=8$faults"

  "$bin" mock --port 0 --profile "$profile" >"$out/mock.log" 2>&1 &
  mock=$!
  trap 'kill $mock 2>/dev/null || true' EXIT
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out/mock.log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$out/mock.log"; echo "the mock did not start" >&2; exit 1; }

  echo "soak: $duration at concurrency $concurrency per endpoint, mock profile $profile"
  echo "soak: results in $out/race; samples in $out/samples.tsv"
  # Short timeouts: hung streams are failed and counted within seconds, not minutes.
  "$bin" race --headless -q -d "$duration" -c "$concurrency" \
    -e "chat=openai:http://127.0.0.1:$port/v1#m" \
    -e "messages=anthropic:http://127.0.0.1:$port/v1#m" \
    --max-tokens 128 --first-token-timeout 10s --idle-timeout 5s --total-timeout 60s \
    -o "$out/race" >"$out/race.log" 2>&1 &
  client=$!

  printf 's\trss_kb\tfds\n' >"$out/samples.tsv"
  start=$(date +%s)
  while kill -0 "$client" 2>/dev/null; do
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$client/status" 2>/dev/null || true)
    fds=$(find "/proc/$client/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l || true)
    [ -n "$rss" ] || break
    printf '%s\t%s\t%s\n' "$(($(date +%s) - start))" "$rss" "$fds" >>"$out/samples.tsv"
    sleep 10
  done
  status=0
  wait "$client" || status=$?
  cat "$out/race.log"
  if [ "$status" -ne 0 ]; then
    echo "soak: the race exited with status $status" >&2
    exit 1
  fi
  "$bin" report "$out/race/replay.jsonl.gz" --results "$out/rebuilt" -f json >/dev/null
fi

python3 - "$out" <<'EOF'
import json, sys

out = sys.argv[1]
failures = []

def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)

live = json.load(open(f"{out}/race/summary.json"))
rebuilt = json.load(open(f"{out}/rebuilt/summary.json"))
lines = sum(1 for _ in open(f"{out}/race/requests.jsonl"))
sent_total = 0
for e in live["endpoints"]:
    c = e["counts"]
    sent_total += c["sent"]
    errors = ", ".join(f"{k} {v}" for k, v in sorted(e["errors"].items()))
    print(f"{e['name']}: sent {c['sent']}, succeeded {c['succeeded']}, failed {c['failed']}, "
          f"cancelled {c['cancelled']}, in flight {c['in_flight']}; errors: {errors}")
    check(c["sent"] == c["succeeded"] + c["failed"] + c["cancelled"] and c["in_flight"] == 0,
          f"{e['name']}: sent = succeeded + failed + cancelled")
    check(sum(e["errors"].values()) == c["failed"], f"{e['name']}: error classes add up to failed")
check(lines == sent_total, f"requests.jsonl has {lines} lines for {sent_total} requests sent")

def same(a, b, path=""):
    """Differences between two JSON values; floats may differ in the last digits."""
    if isinstance(a, dict) and isinstance(b, dict):
        diffs = [f"{path}.{k} missing" for k in a.keys() ^ b.keys()]
        for k in a.keys() & b.keys():
            diffs += same(a[k], b[k], f"{path}.{k}")
        return diffs
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in same(x, y, f"{path}[{i}]")]
    if isinstance(a, float) or isinstance(b, float):
        ok = abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
        return [] if ok else [f"{path}: {a} vs {b}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]

# Live rates use a sliding window over the race clock; the rebuilt run has no live rate.
for e in live["endpoints"] + rebuilt["endpoints"]:
    e.get("rates", {}).pop("live_output_tokens_per_s", None)
diffs = same(live["endpoints"], rebuilt["endpoints"], "endpoints")
for d in diffs[:10]:
    print("      " + d)
check(not diffs, "summary.json rebuilt from the replay matches the live one "
      "(counts, errors, percentiles, tokens, rates)")

rows = [list(map(int, l.split("\t"))) for l in open(f"{out}/samples.tsv").read().splitlines()[1:]]
# The first minute fills connections, buffers and histograms; from then on the level must hold.
steady = [r for r in rows if r[0] >= 60] or rows
second_half = steady[len(steady) // 2:]
def trend(part, col):
    """Least-squares slope per minute."""
    n = len(part)
    if n < 2:
        return 0.0
    xs = [r[0] / 60 for r in part]
    ys = [r[col] for r in part]
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0
first, mid, last = steady[0], second_half[0], steady[-1]
rss_max = max(r[1] for r in steady)
fds_max = max(r[2] for r in steady)
warm = sum(1 for r in rows if r[0] < 60)
print(f"samples: {len(rows)} every 10 s ({warm} in the first minute, kept only when it is all)")
print(f"rss MB: first {first[1]/1024:.1f} (at {first[0]} s), half-way {mid[1]/1024:.1f} "
      f"(at {mid[0]} s), last {last[1]/1024:.1f} (at {last[0]} s), max {rss_max/1024:.1f}; "
      f"trend {trend(steady, 1)/1024:+.3f} MB/min, second half {trend(second_half, 1)/1024:+.3f}")
print(f"fds:    first {first[2]}, half-way {mid[2]}, last {last[2]}, max {fds_max}; "
      f"trend {trend(steady, 2):+.2f}/min, second half {trend(second_half, 2):+.2f}")
# A leak grows as long as the race runs, so it shows in the second half as much as in the
# first; warm-up growth (histograms widening, allocator arenas) levels off. Flat: over the
# second half RSS grows at most 5% (and 4 MB), and the fd count ends where the race settled.
half_grew = last[1] - mid[1]
check(half_grew <= max(4 * 1024, 0.05 * mid[1]),
      f"RSS flat over the second half (grew {half_grew/1024:+.1f} MB)")
check(last[2] <= 1.1 * first[2] + 16 and fds_max <= 1.25 * first[2] + 16,
      "open file descriptors flat")
sys.exit(1 if failures else 0)
EOF
