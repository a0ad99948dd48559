#!/usr/bin/env bash
# Submits a sharded llmrace race to Slurm: a job array of N shards (shards.sbatch) that all
# start their measured race at one wall-clock instant, and a merge job (merge.sbatch) that
# Slurm runs once every shard has ended (afterany, see below). No coordinator: Slurm schedules, the shared
# file system carries the results. See DISTRIBUTED.md.
#
#   deploy/slurm/submit.sh [-n SHARDS] [--start-in DURATION | --start-at RFC3339]
#                          [--allow-missing] [--fail-if EXPR]… [--keys FILE]
#                          [--metrics-port [HOST:]BASE] RACE.toml RESULTS_DIR [-- RACE FLAGS…]
#
#   -n SHARDS        how many shards (array tasks), default 4
#   --start-in D     start the race this long after submission: 90s, 5m (default 60s);
#                    long enough for every task to be scheduled and started
#   --start-at T     start at this instant instead, in UTC (Z) or with an offset:
#                    2026-12-07T20:00:00Z, 2026-12-07T21:00:00+01:00
#   --allow-missing  merge the shards there are when one failed, the gap stated in every
#                    output; without it the merge refuses (exit 2) and names the missing shard
#   --fail-if EXPR   a threshold judged on the merged race (repeatable): the merge job's exit
#                    code says whether it held
#   --keys FILE      API keys as VAR=value lines (the variables the race's api_key_env names),
#                    read by each shard on its node just before it starts; the file must be
#                    readable by you alone (chmod 600) on a file system the nodes see. Keys in
#                    the submitting shell's environment would travel with the jobs instead, and
#                    Slurm keeps a job's environment in its state files while the job lives
#   --metrics-port B every shard serves its metrics for Prometheus on its own port, shard K
#                    on B+K (0.0.0.0:B+K; HOST:B for another address), and keeps serving
#                    them 30 s after its race for a last scrape: shards that share a node
#                    then never compete for one port
#   RESULTS_DIR      a new or empty folder on a file system every node sees: the shards write
#                    RESULTS_DIR/shard-K, the merge RESULTS_DIR/merged, Slurm's logs go to
#                    RESULTS_DIR/logs
#   -- FLAGS         passed to every shard's `llmrace race` (e.g. -- -n 1000 -c 64)
#
# Before submitting anything or creating any folder, it checks its own arguments and, with
# `llmrace race --check`, the race file and the race flags as every shard will read them.
# LLMRACE names the llmrace binary (default: llmrace on PATH); it must be at the same path on
# every node. Partition, account, time limit and the like: sbatch's own variables
# (SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_TIMELIMIT, …) apply to both jobs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  sed -n '/^#   deploy/,/^#   -- FLAGS/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

fail() {
  echo "error: $1" >&2
  [[ -n "${2:-}" ]] && echo "  help: $2" >&2
  exit 2
}

shards=4
start_in=60s
start_at=
merge_flags=()
fail_ifs=()
keys=
metrics=
positional=()
race_flags=()
while (($# > 0)); do
  case $1 in
    -n | --shards)
      (($# >= 2)) || fail "$1 needs a number of shards" "-n 4"
      shards=$2
      shift 2
      ;;
    --start-in)
      (($# >= 2)) || fail "--start-in needs a duration" "--start-in 90s"
      start_in=$2
      shift 2
      ;;
    --start-at)
      (($# >= 2)) || fail "--start-at needs an instant" "--start-at 2026-12-07T20:00:00Z"
      start_at=$2
      shift 2
      ;;
    --allow-missing)
      merge_flags+=(--allow-missing)
      shift
      ;;
    --fail-if)
      (($# >= 2)) || fail "--fail-if needs an expression" "--fail-if 'ttft.p95 > 800ms'"
      merge_flags+=(--fail-if "$2")
      fail_ifs+=(--fail-if "$2")
      shift 2
      ;;
    --keys)
      (($# >= 2)) || fail "--keys needs a file" "--keys ~/.llmrace/keys.env"
      keys=$2
      shift 2
      ;;
    --metrics-port)
      (($# >= 2)) || fail "--metrics-port needs a port" "--metrics-port 9464 (shard K on 9464+K)"
      metrics=$2
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    --)
      shift
      race_flags=("$@")
      break
      ;;
    -*)
      usage
      fail "unknown option $1" "options go before RACE.toml and RESULTS_DIR; flags for the race go after --"
      ;;
    *)
      positional+=("$1")
      shift
      ;;
  esac
done

((${#positional[@]} == 2)) || {
  usage
  fail "give the race file and the results folder" "submit.sh race.toml /shared/results/run-1"
}
race=${positional[0]}
results=${positional[1]}

[[ $shards =~ ^[1-9][0-9]*$ ]] || fail "-n $shards is not a number of shards" "a whole number from 1, e.g. -n 4"
[[ -f $race ]] || fail "no race file at $race" "give the path of a race file (TOML)"
race=$(cd "$(dirname "$race")" && pwd)/$(basename "$race")
[[ $results == /* ]] || results=$PWD/$results

# Nothing is created before every check has passed: a refused submission leaves no folder.
if [[ -e $results && ! -d $results ]]; then
  fail "$results is not a folder" "give a new folder for the results"
fi
if [[ -d $results ]] && { compgen -G "$results/shard-*" >/dev/null || [[ -e $results/merged ]]; }; then
  fail "$results already holds a sharded race (shard-* or merged)" "give each run a new results folder"
fi
# The nearest folder that exists must take the new ones.
parent=$results
while [[ ! -e $parent ]]; do parent=$(dirname "$parent"); done
[[ -d $parent && -w $parent ]] || fail "cannot create the results folder $results ($parent is not a folder you can write)" "pick a folder you can write, on a file system every node sees"

if [[ -n $keys ]]; then
  [[ -f $keys && -r $keys ]] || fail "cannot read the keys file $keys" "VAR=value lines, one per key the race file's api_key_env names"
  mode=$(stat -c %a "$keys")
  if ((8#$mode & 8#077)); then
    fail "the keys file $keys can be read by others (mode $mode)" "chmod 600 $keys"
  fi
  keys=$(cd "$(dirname "$keys")" && pwd)/$(basename "$keys")
fi

# Metrics: shard K on BASE+K, so that shards sharing a node never compete for one port.
metrics_host=0.0.0.0
metrics_base=
if [[ -n $metrics ]]; then
  if [[ $metrics == *:* ]]; then
    metrics_host=${metrics%:*}
    metrics_base=${metrics##*:}
  else
    metrics_base=$metrics
  fi
  [[ -n $metrics_host && $metrics_base =~ ^[1-9][0-9]{0,4}$ ]] \
    && ((metrics_base + shards - 1 <= 65535)) \
    || fail "--metrics-port $metrics is not a port for $shards shards" "a port from 1 to $((65536 - shards)): shard K serves on BASE+K (--metrics-port 9464, or 127.0.0.1:9464)"
  for flag in "${race_flags[@]}"; do
    [[ $flag == --metrics-addr* ]] && fail "both --metrics-port and --metrics-addr (after --)" "give --metrics-port alone: it sets every shard's --metrics-addr"
  done
fi

# The instant is fixed here, once, so every task starts at the same one however late Slurm
# starts it (a relative `--start-at +60s` would count from each task's own start).
if [[ -z $start_at ]]; then
  [[ $start_in =~ ^([0-9]+)(s|m)?$ ]] || fail "--start-in $start_in is not a duration" "whole seconds or minutes: 90s, 5m"
  seconds=${BASH_REMATCH[1]}
  [[ ${BASH_REMATCH[2]} == m ]] && seconds=$((seconds * 60))
  start_at=$(date -u -d "+$seconds seconds" +%Y-%m-%dT%H:%M:%SZ)
else
  # Without a Z or an offset, `date` would read the local time zone and llmrace refuses it
  # (an instant must say its zone): refused here, before anything is submitted.
  [[ $start_at =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$ ]] \
    && when=$(date -u -d "$start_at" +%s 2>/dev/null) \
    || fail "--start-at $start_at is not an instant with its zone" "RFC 3339 in UTC or with an offset: 2026-12-07T20:00:00Z, 2026-12-07T21:00:00+01:00"
  ((when > $(date +%s))) || fail "--start-at $start_at has passed (it is $(date -u +%Y-%m-%dT%H:%M:%SZ) here)" "give a later instant, or --start-in 90s"
fi

export LLMRACE=${LLMRACE:-llmrace}
command -v sbatch >/dev/null || fail "sbatch is not on PATH" "run submit.sh where Slurm's commands are (a login node)"
command -v "$LLMRACE" >/dev/null || fail "cannot run $LLMRACE here to check the race before submitting it" "LLMRACE=/shared/bin/llmrace submit.sh … (the same path on every node)"
# The race file and the race flags as every shard will read them (nothing is sent): a typo
# fails here, not in every task. Keys, servers and the nodes' capacity are each shard's. The
# last shard is the one checked: it gets the smallest share of requests and workers.
metrics_flags=()
[[ -n $metrics_base ]] && metrics_flags=(--metrics-addr "$metrics_host:$metrics_base")
if ! checked=$("$LLMRACE" race "$race" --check --headless --shard "$((shards - 1))/$shards" --start-at "$start_at" \
  -o "$results/shard-0" "${metrics_flags[@]}" "${fail_ifs[@]}" "${race_flags[@]}" 2>&1); then
  echo "$checked" >&2
  fail "the race does not check (above): nothing was submitted" "fix the race file, --fail-if or the flags after --, then submit again"
fi

if [[ -n $keys ]]; then
  export LLMRACE_KEYS=$keys
else
  # Keys the race names that are set here would go along in the jobs' environment: say so.
  for var in $(grep -oE 'api_key_env *= *"[A-Za-z_][A-Za-z0-9_]*"' "$race" | grep -oE '"[^"]+"' | tr -d '"' | sort -u); do
    if [[ -n ${!var:-} ]]; then
      echo "note: $var goes to the shards in the jobs' environment, which Slurm keeps in its state files while they live; --keys FILE keeps keys out of Slurm" >&2
    fi
  done
fi
if [[ -n $metrics_base ]]; then
  export LLMRACE_METRICS_HOST=$metrics_host LLMRACE_METRICS_BASE=$metrics_base
fi

made=$results
while [[ ! -e $(dirname "$made") ]]; do made=$(dirname "$made"); done
[[ -e $made ]] && made=
mkdir -p "$results/logs" || fail "cannot create $results/logs" "pick a folder you can write, on a file system every node sees"
if ! array_job=$(sbatch --parsable --array="0-$((shards - 1))" \
  --output="$results/logs/shard-%a.out" \
  "$here/shards.sbatch" "$race" "$results" "$start_at" "${race_flags[@]}"); then
  # Nothing was submitted: the folders made for it go too.
  rmdir "$results/logs" 2>/dev/null || true
  dir=$results
  while [[ -n $made ]] && rmdir "$dir" 2>/dev/null && [[ $dir != "$made" ]]; do dir=$(dirname "$dir"); done
  fail "sbatch refused the shards' job array (above): nothing was submitted" "SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_TIMELIMIT set what your cluster requires"
fi
array_job=${array_job%%;*}

# afterany, not afterok: a shard exits 1 when the race file's own thresholds fail on its share
# of the race, with its results whole, and the thresholds that count are the merged race's.
# The merge itself refuses a missing or incomplete shard, naming it (or merges the rest with
# --allow-missing), which says more than a merge job Slurm never runs.
dependency=afterany:$array_job
if ! merge_job=$(sbatch --parsable --dependency="$dependency" \
  --output="$results/logs/merge.out" \
  "$here/merge.sbatch" "$results" "${merge_flags[@]}"); then
  scancel "$array_job" || true
  fail "sbatch refused the merge job (above), so the shards' job $array_job was cancelled" "submit again to a new results folder"
fi
merge_job=${merge_job%%;*}

echo "shards: job $array_job, array 0-$((shards - 1)), starting together at $start_at"
echo "merge:  job $merge_job, after the shards ($dependency)"
echo "results: $results/merged (logs in $results/logs)"
if [[ -n $metrics_base ]]; then
  echo "metrics: shard K on port $metrics_base+K of its node ($metrics_host:$metrics_base-$((metrics_base + shards - 1)); each shard's log names its node)"
fi
echo "follow: squeue -j $array_job,$merge_job   stop: scancel $array_job $merge_job"
