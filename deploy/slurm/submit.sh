#!/usr/bin/env bash
# Submits a sharded llmrace race to Slurm: a job array of N shards (shards.sbatch) that all
# start their measured race at one wall-clock instant, and a merge job (merge.sbatch) that
# Slurm runs once every shard has ended (afterany, see below). No coordinator: Slurm schedules, the shared
# file system carries the results. See DISTRIBUTED.md.
#
#   deploy/slurm/submit.sh [-n SHARDS] [--start-in DURATION | --start-at RFC3339]
#                          [--allow-missing] [--fail-if EXPR]… [--keys FILE]
#                          RACE.toml RESULTS_DIR [-- RACE FLAGS…]
#
#   -n SHARDS        how many shards (array tasks), default 4
#   --start-in D     start the race this long after submission: 90s, 5m (default 60s);
#                    long enough for every task to be scheduled and started
#   --start-at T     start at this instant instead (2026-12-07T20:00:00Z)
#   --allow-missing  merge the shards there are when one failed, the gap stated in every
#                    output; without it the merge refuses (exit 2) and names the missing shard
#   --fail-if EXPR   a threshold judged on the merged race (repeatable): the merge job's exit
#                    code says whether it held
#   --keys FILE      API keys as VAR=value lines (the variables the race's api_key_env names),
#                    read by each shard on its node just before it starts; the file must be
#                    readable by you alone (chmod 600) on a file system the nodes see. Keys in
#                    the submitting shell's environment would travel with the jobs instead, and
#                    Slurm keeps a job's environment in its state files while the job lives
#   RESULTS_DIR      a new or empty folder on a file system every node sees: the shards write
#                    RESULTS_DIR/shard-K, the merge RESULTS_DIR/merged, Slurm's logs go to
#                    RESULTS_DIR/logs
#   -- FLAGS         passed to every shard's `llmrace race` (e.g. -- -n 1000 -c 64)
#
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
keys=
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
      shift 2
      ;;
    --keys)
      (($# >= 2)) || fail "--keys needs a file" "--keys ~/.llmrace/keys.env"
      keys=$2
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
mkdir -p "$results" || fail "cannot create the results folder $results" "pick a folder you can write, on a file system every node sees"
results=$(cd "$results" && pwd)
if compgen -G "$results/shard-*" >/dev/null || [[ -e $results/merged ]]; then
  fail "$results already holds a sharded race (shard-* or merged)" "give each run a new results folder"
fi
mkdir -p "$results/logs"

if [[ -n $keys ]]; then
  [[ -f $keys && -r $keys ]] || fail "cannot read the keys file $keys" "VAR=value lines, one per key the race file's api_key_env names"
  mode=$(stat -c %a "$keys")
  if ((8#$mode & 8#077)); then
    fail "the keys file $keys can be read by others (mode $mode)" "chmod 600 $keys"
  fi
  export LLMRACE_KEYS
  LLMRACE_KEYS=$(cd "$(dirname "$keys")" && pwd)/$(basename "$keys")
else
  # Keys the race names that are set here would go along in the jobs' environment: say so.
  for var in $(grep -oE 'api_key_env *= *"[A-Za-z_][A-Za-z0-9_]*"' "$race" | grep -oE '"[^"]+"' | tr -d '"' | sort -u); do
    if [[ -n ${!var:-} ]]; then
      echo "note: $var goes to the shards in the jobs' environment, which Slurm keeps in its state files while they live; --keys FILE keeps keys out of Slurm" >&2
    fi
  done
fi

# The instant is fixed here, once, so every task starts at the same one however late Slurm
# starts it (a relative `--start-at +60s` would count from each task's own start).
if [[ -z $start_at ]]; then
  [[ $start_in =~ ^([0-9]+)(s|m)?$ ]] || fail "--start-in $start_in is not a duration" "seconds or minutes: 90s, 5m"
  seconds=${BASH_REMATCH[1]}
  [[ ${BASH_REMATCH[2]} == m ]] && seconds=$((seconds * 60))
  start_at=$(date -u -d "+$seconds seconds" +%Y-%m-%dT%H:%M:%SZ)
elif ! when=$(date -u -d "$start_at" +%s 2>/dev/null) || [[ $start_at != *T* ]]; then
  fail "--start-at $start_at is not an instant" "an RFC 3339 instant in UTC or with an offset: 2026-12-07T20:00:00Z"
elif ((when <= $(date +%s))); then
  fail "--start-at $start_at has passed (it is $(date -u +%Y-%m-%dT%H:%M:%SZ) here)" "give a later instant, or --start-in 90s"
fi

export LLMRACE=${LLMRACE:-llmrace}

array_job=$(sbatch --parsable --array="0-$((shards - 1))" \
  --output="$results/logs/shard-%a.out" \
  "$here/shards.sbatch" "$race" "$results" "$start_at" "${race_flags[@]}")
array_job=${array_job%%;*}

# afterany, not afterok: a shard exits 1 when the race file's own thresholds fail on its share
# of the race, with its results whole, and the thresholds that count are the merged race's.
# The merge itself refuses a missing or incomplete shard, naming it (or merges the rest with
# --allow-missing), which says more than a merge job Slurm never runs.
dependency=afterany:$array_job
merge_job=$(sbatch --parsable --dependency="$dependency" \
  --output="$results/logs/merge.out" \
  "$here/merge.sbatch" "$results" "${merge_flags[@]}")
merge_job=${merge_job%%;*}

echo "shards: job $array_job, array 0-$((shards - 1)), starting together at $start_at"
echo "merge:  job $merge_job, after the shards ($dependency)"
echo "results: $results/merged (logs in $results/logs)"
echo "follow: squeue -j $array_job,$merge_job   stop: scancel $array_job $merge_job"
