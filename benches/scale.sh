#!/usr/bin/env bash
# Scale on one machine: many streams in flight against `llmrace mock` (its own process, pinned
# to core 1), a headless `llmrace race` (one OpenAI endpoint, text capture and replay on)
# pinned to core 0, both on 127.0.0.1. Prints the client's CPU time and peak resident memory
# (/usr/bin/time), the mock's peak resident memory (its VmHWM, the mock is a separate process
# on the same machine), whether every request was accounted for (sent = ok + failed +
# cancelled), and, for an open loop, the send lag's p50/p99/max from requests.jsonl.
#
# Usage: benches/scale.sh streams [STREAMS] [SECONDS]     closed loop, default 10000 for 25 s:
#                                                         each stream 200 tokens at 20 tokens/s
#        benches/scale.sh rate [RATE] [SECONDS]           open loop, default 2000 requests/s for
#                                                         20 s: 20 tokens at 20 tokens/s each
#        (build first: cargo build --release; LLMRACE=path overrides the binary; the mock
#        writes every event on its own, delivery=per-event, as real servers do; PROFILE adds
#        mock profile keys, later ones winning, e.g. PROFILE=delivery=coalesced)
# Scheduling: mock and client run SCHED_FIFO priority 1 when allowed (chrt), as
# benches/per_event.sh does, so that other load on the machine (builds) does not make the
# client late on its schedule; without it the send lag measures the machine's load.
# Descriptors: the client needs one per stream plus 64, the mock one per stream; both raise
# their soft limit to the hard limit (`ulimit -Hn`), which must be above STREAMS + 64.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-streams}
bin=${LLMRACE:-./target/release/llmrace}
port=18191
out=$(mktemp -d)
case "$mode" in
  streams) n=${2:-10000}; secs=${3:-25}; profile="steady,ttft=100ms,itl=50ms,tokens=200" ;;
  rate) n=${2:-2000}; secs=${3:-20}; profile="steady,ttft=100ms,itl=50ms,tokens=20" ;;
  *) echo "usage: $0 streams|rate [N] [SECONDS]" >&2; exit 2 ;;
esac
profile="$profile,delivery=per-event"
[ -n "${PROFILE:-}" ] && profile="$profile,$PROFILE"
prio=()
if chrt -f 1 true 2>/dev/null; then
  prio=(chrt -f 1)
else
  echo "note: cannot use chrt -f 1 (needs CAP_SYS_NICE); on a busy machine the client runs late" >&2
fi
"${prio[@]}" taskset -c 1 "$bin" mock --port "$port" --profile "$profile" >"$out/mock.log" 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null || true; wait $mock 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 50); do grep -q listening "$out/mock.log" && break; sleep 0.1; done
grep -q listening "$out/mock.log" || { cat "$out/mock.log"; exit 1; }
if [ "$mode" = streams ]; then
  load=(-c "$n" -d "${secs}s" --max-tokens 200)
else
  load=(--rate "$n/s" -d "${secs}s" --max-tokens 20)
fi
echo "commit $(git rev-parse --short HEAD)  load average $(cut -d' ' -f1-3 /proc/loadavg)  mock: $profile"
/usr/bin/time -f "%e %U %S %M" -o "$out/time" "${prio[@]}" taskset -c 0 "$bin" race -q \
  -e "a=openai:http://127.0.0.1:$port/v1#m" "${load[@]}" -o "$out/race" >"$out/race.log" 2>&1 ||
  { cat "$out/race.log"; exit 1; }
read -r wall user sys rss <"$out/time"
mock_rss=$(awk '/VmHWM/ {print $2}' "/proc/$mock/status" 2>/dev/null || echo 0)
echo "load average after $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out/race" "$mode" "$n" "$wall" "$user" "$sys" "$rss" "$mock_rss" <<'PY'
import json, sys
race, mode, n, wall, user, sys_, rss, mock_rss = sys.argv[1:]
e = json.load(open(f"{race}/summary.json"))["endpoints"][0]
c = e["counts"]
run = json.load(open(f"{race}/run.json"))
ended = c["succeeded"] + c["failed"] + c["cancelled"]
print(f"{mode}={n}: wall {float(wall):.1f} s, client cpu user {user} s sys {sys_} s, "
      f"peak RSS {int(rss) / 1024:.0f} MB; mock peak RSS {int(mock_rss or 0) / 1024:.0f} MB")
print(f"sent {c['sent']} = ok {c['succeeded']} + failed {c['failed']} + cancelled "
      f"{c['cancelled']}: {'accounted for' if ended == c['sent'] else 'NOT accounted for'}; "
      f"tokens {e['tokens']['output']}, read late max {run.get('read_late_max_ms')} ms, "
      f"runtime late max {run.get('runtime_late_max_ms')} ms")
if mode == "rate":
    lags = sorted(r["send_lag_ms"] for r in map(json.loads, open(f"{race}/requests.jsonl"))
                  if r.get("send_lag_ms") is not None)
    if lags:
        q = lambda p: lags[min(len(lags) - 1, int(p * len(lags)))]
        print(f"send lag over {len(lags)} requests: p50 {q(0.5):.3f} ms, p99 {q(0.99):.3f} ms, "
              f"max {lags[-1]:.3f} ms")
PY
