#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600), two at a time, at the lowest priority, with
# memory limits that turn any unbounded allocation into a finding. Logs go to fuzz/logs/, new
# inputs into fuzz/corpus/<target>/, crashes into fuzz/artifacts/<target>/.
# Then, to keep a corpus small, merge it into an empty folder keeping only inputs that add an
# edge: `cargo +nightly fuzz run TARGET NEW corpus/TARGET -- -merge=1 -use_counters=0`.
# Usage (from the repository root): fuzz/run_all.sh [SECONDS [TARGET...]]
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
mkdir -p logs
nice -n 19 cargo +nightly fuzz build || exit 1
run() {
  nice -n 19 cargo +nightly fuzz run "$1" "corpus/$1" -- -max_total_time="$seconds" \
    -rss_limit_mb=1024 -malloc_limit_mb=512 -max_len=8192 -timeout=10 -print_final_stats=1 \
    >"logs/$1.log" 2>&1
  echo "$1: exit $? $(grep -E 'stat::number_of_executed_units' "logs/$1.log")"
}
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run "${targets[i]}" &
  [ $((i + 1)) -lt ${#targets[@]} ] && run "${targets[i + 1]}" &
  wait
done
