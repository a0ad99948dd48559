#!/usr/bin/env bash
# Per-event delivery: a headless `llmrace race` (one OpenAI endpoint, text capture and replay
# on, the defaults) pinned to core 0 against benches/support/per_event_server.c pinned to core
# 1, a server that shares nothing with llmrace and writes every SSE event (one token) with its
# own write(2) on a TCP_NODELAY socket, on 127.0.0.1. Prints the client's CPU time (user and
# system separately, from /usr/bin/time: start-up and result files included) per content event
# and per token, tokens/s over the race's duration, peak resident memory, how many events the
# server wrote over 1 ms late (a late server coalesces, which flatters the client), and the
# command of the run.
#
# Usage: benches/per_event.sh [STREAMS [RATE|sat [SECONDS [TOKENS]]]]
#          defaults: 100 streams × 1000 tokens/s each for 15 s, 1000 tokens per answer;
#          RATE sat: the server writes as fast as the client reads (saturation)
#        benches/per_event.sh table [SECONDS]
#          the rows of BENCHMARKS.md: 100 × 500/s, 100 × 1000/s, 1000 × 20/s, 5000 × 4/s, saturation at
#          1, 32 and 256 streams; each also with the floor client (below)
#        benches/per_event.sh floor [STREAMS [RATE|sat [SECONDS [TOKENS]]]]
#          the same load read by benches/support/floor_client.c instead: a client that does
#          nothing but one timestamped recvmsg per readiness and counts events, so what it
#          spends is the kernel's and the event loop's share that any accurate client pays;
#          it lets segments gather 100 µs before each wait as llmrace does
#          (FLOOR_GATHER_US=0: wait at once)
# SPLIT=1: also split the client's CPU into user and kernel time by sampling it (`perf record -e
#   cpu-clock -F 1999`, every sample's address says which): /usr/bin/time's split is the kernel's
#   tick sampling, which a load paced at 1 ms per stream aliases with (±0.4 µs between runs).
# SYSCALLS=1: also count the client's system calls and context switches per event (perf stat
#   with the syscall tracepoints; needs perf and tracefs): the tracepoints add to the client's
#   system time, so take the CPU figures from a run without it.
# Build first: cargo build --release (LLMRACE=path overrides the binary; CC the C compiler).
#
# Scheduling: client and server run SCHED_FIFO priority 1 when allowed (chrt), else as they
# are. On a machine others share, a starved server falls
# behind and writes several events at once, and a starved client reads several at once: both
# make the client look cheaper than it is. The figures are CPU time, which other load inflates
# far less than wall time. Loopback: the TCP receive path runs mostly in the sender's softirq,
# so it is charged to neither process, as a NIC's would not be.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${LLMRACE:-./target/release/llmrace}
port=${PORT:-18090}
out=$(mktemp -d)
server=
stop_server() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=; fi
}
trap 'stop_server; rm -rf "$out"' EXIT
"${CC:-cc}" -O2 -o "$out/per_event_server" benches/support/per_event_server.c
"${CC:-cc}" -O2 -o "$out/floor_client" benches/support/floor_client.c
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# The best scheduling this user may have (see above).
prio=()
if chrt -f 1 true 2>/dev/null; then
  prio=(chrt -f 1)
else
  echo "note: cannot use chrt -f 1 (needs CAP_SYS_NICE); on a busy machine the figures flatter the client" >&2
fi

# start_server RATE|sat: the per-event server on core 1, listening when this returns.
start_server() {
  local server_rate
  server_rate=$([ "$1" = sat ] && echo 0 || echo "$1")
  : >"$out/server.log"
  "${prio[@]}" taskset -c 1 "$out/per_event_server" "$port" "$server_rate" 2>"$out/server.log" &
  server=$!
  for _ in $(seq 50); do grep -q listening "$out/server.log" && break; sleep 0.1; done
  grep -q listening "$out/server.log" || { cat "$out/server.log"; exit 1; }
}

# floor STREAMS RATE SECONDS TOKENS: the same load read by the floor client; prints its figures.
floor() {
  local streams=$1 rate=$2 seconds=$3 tokens=$4
  start_server "$rate"
  local cmd=("${prio[@]}" taskset -c 0 "$out/floor_client" "$port" "$streams" "$seconds" "$tokens" "${FLOOR_GATHER_US:-100}")
  "${cmd[@]}" >"$out/floor"
  stop_server
  echo "floor, $streams streams × $rate tokens/s: $(head -1 "$out/floor")"
  echo "  $(tail -1 "$out/floor")"
  echo "  command: ${cmd[*]}"
  sed -n 's/^per event: \([0-9.]*\) µs (\([0-9.]*\) user + \([0-9.]*\) sys).*/\1 (\2 + \3)/p' "$out/floor" >>"$out/floors"
}

# run STREAMS RATE SECONDS TOKENS: one race; prints its figures.
run() {
  local streams=$1 rate=$2 seconds=$3 tokens=$4
  start_server "$rate"
  local cmd=("${prio[@]}" taskset -c 0 "$bin" race -q -e "a=openai:http://127.0.0.1:$port/v1#m"
    --server-metrics a=off -c "$streams" -d "${seconds}s" --max-tokens "$tokens" -o "$out/race" --force)
  local counting=()
  if [ "${SYSCALLS:-0}" = 1 ]; then
    local events=context-switches
    for call in recvmsg epoll_wait clock_nanosleep futex sendto writev write connect close sched_yield; do
      events="$events,syscalls:sys_enter_$call"
    done
    counting=(perf stat -x, -o "$out/perf" -e "$events" --)
  elif [ "${SPLIT:-0}" = 1 ]; then
    counting=(perf record -q -e cpu-clock -F 1999 -o "$out/split.data" --)
  fi
  /usr/bin/time -f "%e %U %S %M" -o "$out/time" "${counting[@]}" "${cmd[@]}" >/dev/null
  stop_server
  if [ -s "$out/perf" ]; then
    python3 - "$out/perf" "$out/race/summary.json" <<'EOF'
import json, sys
events = json.load(open(sys.argv[2]))["endpoints"][0]["tokens"]["chunks"]
counts = []
for line in open(sys.argv[1]):
    fields = line.strip().split(",")
    if len(fields) > 2 and fields[0].isdigit():
        counts.append(f"{fields[2].replace('syscalls:sys_enter_', '')} {int(fields[0]) / events:.3f}")
print("  system calls per event: " + ", ".join(counts))
EOF
  fi
  if [ -s "$out/split.data" ]; then
    local events_read
    events_read=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["endpoints"][0]["tokens"]["chunks"])' "$out/race/summary.json")
    perf script -i "$out/split.data" -F ip 2>/dev/null | awk -v ev="$events_read" '
      { if ($1 ~ /^ffff/) k++; else u++ }
      END { printf "  sampled at 1999/s: %.2f µs user + %.2f µs kernel per event (%d samples)\n", u / 1999 / ev * 1e6, k / 1999 / ev * 1e6, u + k }'
    rm -f "$out/split.data"
  fi
  read -r wall user sys rss <"$out/time"
  python3 - "$out/race/summary.json" "$out/server.log" "$streams" "$rate" "$wall" "$user" "$sys" "$rss" \
    "$(uptime | sed 's/.*load average: //')" "${cmd[*]}" "$out/rows" <<'EOF'
import json, re, sys
path, server_log, streams, rate, wall, user, sys_, rss, load, cmd, rows = sys.argv[1:]
summary = json.load(open(path))
e = summary["endpoints"][0]
tokens, events, ok = e["tokens"]["output"], e["tokens"]["chunks"], e["counts"]["succeeded"]
user, sys_ = float(user), float(sys_)
late = re.search(r"(\d+) events over 1 ms late", open(server_log).read())
late = int(late.group(1)) if late else 0
load_text = f"{streams} streams × {rate} tokens/s" if rate != "sat" else f"{streams} streams, saturation"
print(f"{load_text}: {ok} requests, {tokens} tokens in {events} events, "
      f"{tokens / summary['duration_s']:,.0f} tokens/s; client CPU {user:.2f} s user + {sys_:.2f} s sys "
      f"of {float(wall):.2f} s wall ({(user + sys_) / float(wall) * 100:.0f} % of its core)")
print(f"  per event: {(user + sys_) / events * 1e6:.2f} µs ({user / events * 1e6:.2f} user + "
      f"{sys_ / events * 1e6:.2f} sys); per token {(user + sys_) / tokens * 1e6:.2f} µs; "
      f"peak RSS {int(rss) / 1024:.0f} MB; server: {late} of its events over 1 ms late; load average {load}")
print(f"  command: {cmd}")
print(f"ROW\t{load_text}\t{tokens / summary['duration_s']:,.0f}\t{(user + sys_) / events * 1e6:.2f}\t"
      f"{user / events * 1e6:.2f}\t{sys_ / events * 1e6:.2f}\t{(user + sys_) / tokens * 1e6:.2f}\t"
      f"{(user + sys_) / float(wall) * 100:.0f} %\t{int(rss) / 1024:.0f} MB\t{late}", file=open(rows, "a"))
EOF
}

if [ "${1:-}" = table ]; then
  seconds=${2:-15}
  for row in "100 500 500" "100 1000 1000" "1000 20 200" "5000 4 40" "1 sat 1000" "32 sat 1000" "256 sat 1000"; do
    set -- $row
    run "$1" "$2" "$seconds" "$3"
    floor "$1" "$2" "$seconds" "$3"
  done
  echo
  echo "| load | tokens/s | client CPU / event | user | sys | per token | client core | peak RSS | server events late | floor client / event (user + sys) |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  while IFS=$'\t' read -r _ load tps all u s tok core mem late && read -r fl <&3; do
    echo "| $load | $tps | $all µs | $u µs | $s µs | $tok µs | $core | $mem | $late | $fl µs |"
  done <"$out/rows" 3<"$out/floors"
elif [ "${1:-}" = floor ]; then
  floor "${2:-100}" "${3:-1000}" "${4:-15}" "${5:-1000}"
else
  run "${1:-100}" "${2:-1000}" "${3:-15}" "${4:-1000}"
fi
