#!/usr/bin/env bash
# Runs a sharded llmrace race on Kubernetes with the manifests beside this file: fixes the
# start instant and the run's folder (start.env), replaces the previous run's Jobs, applies the
# kustomization, waits for the shards, resumes the merge and waits for it, then prints its log.
# Plain Kubernetes has no dependencies between Jobs: this script is that dependency.
#
#   deploy/kubernetes/run.sh [--start-in DURATION] [--allow-missing] [--fail-if EXPR]…
#                            [--timeout DURATION] [--namespace NS]
#
#   --start-in D     the shards start their measured race this long after the apply: 2m
#                    (the default), 90s; enough for every pod to be scheduled and its image
#                    pulled, or the late ones start late (their start skew says how late)
#   --allow-missing  merge the shards there are when one failed, the gap stated in every
#                    output; without it the merge refuses and names the missing shard
#   --fail-if EXPR   a threshold judged on the merged race (repeatable), e.g.
#                    --fail-if 'ttft.p95 > 800ms': the merge's exit code says whether it held
#   --timeout D      give up waiting for the shards, and then for the merge, after this long
#                    (kubectl's durations: 30m, 2h; default 2h)
#   --namespace NS   the namespace (as kustomization.yaml's `namespace:` if you set one)
#
# Before anything changes on the cluster it checks its arguments, that the llmrace-keys Secret
# exists (the shards need it; an empty one for a race without keys), and, when llmrace is on
# PATH here (or LLMRACE names it), the race file with `llmrace race --check`.
#
# Results: /results/RUN/merged on the llmrace-results volume (RUN is printed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

fail() {
  echo "error: $1" >&2
  [[ -n "${2:-}" ]] && echo "  help: $2" >&2
  exit 2
}

# The merge's flags as shell words, each in single quotes, for the merge pod's `eval set --`.
quoted() {
  local q="'\\''"
  printf "'%s'" "${1//\'/$q}"
}

start_in=2m
merge_flags=
fail_ifs=()
timeout=2h
ns=()
while (($# > 0)); do
  case $1 in
    --start-in)
      (($# >= 2)) || fail "--start-in needs a duration" "--start-in 2m"
      start_in=$2
      shift 2
      ;;
    --allow-missing)
      merge_flags+="$(quoted --allow-missing) "
      shift
      ;;
    --fail-if)
      (($# >= 2)) || fail "--fail-if needs an expression" "--fail-if 'ttft.p95 > 800ms'"
      [[ $2 != *$'\n'* && $2 != *$'\r'* ]] || fail "--fail-if takes one line" "give each expression its own --fail-if"
      merge_flags+="$(quoted --fail-if) $(quoted "$2") "
      fail_ifs+=(--fail-if "$2")
      shift 2
      ;;
    --timeout)
      (($# >= 2)) || fail "--timeout needs a duration" "--timeout 2h"
      timeout=$2
      shift 2
      ;;
    --namespace | -n)
      (($# >= 2)) || fail "$1 needs a namespace" "--namespace llmrace"
      ns=(--namespace "$2")
      shift 2
      ;;
    -h | --help)
      sed -n '/^#   deploy/,/^# Results/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) fail "unknown argument $1" "see $0 --help" ;;
  esac
done

[[ $start_in =~ ^([0-9]+)(s|m)?$ ]] || fail "--start-in $start_in is not a duration" "seconds or minutes: 90s, 2m"
seconds=${BASH_REMATCH[1]}
[[ ${BASH_REMATCH[2]} == m ]] && seconds=$((seconds * 60))
[[ $timeout =~ ^[0-9]+(s|m|h)$ ]] || fail "--timeout $timeout is not a duration" "30m, 2h"
command -v kubectl >/dev/null || fail "kubectl is not on PATH" "install kubectl and point it at the cluster"

# The race file (and --fail-if) as the shards and the merge will read them, when there is an
# llmrace here to check with (nothing is sent).
llmrace=${LLMRACE:-llmrace}
if command -v "$llmrace" >/dev/null; then
  # N as kustomization.yaml sets it (the patch's one `value:`), for the split's own checks.
  shard=()
  n=$(sed -n 's/^ *value: *\([1-9][0-9]*\) *$/\1/p' "$here/kustomization.yaml" | head -n 1)
  [[ -n $n ]] && shard=(--shard "$((n - 1))/$n") # the last shard has the smallest share
  if ! checked=$("$llmrace" race "$here/race.toml" --check --headless "${shard[@]}" \
    --start-at "+${seconds}s" "${fail_ifs[@]}" 2>&1); then
    echo "$checked" >&2
    fail "the race does not check (above): nothing was changed on the cluster" "fix $here/race.toml or --fail-if"
  fi
else
  echo "note: race.toml is not checked before the apply ($llmrace is not on PATH here; LLMRACE=/path/to/it names one): the shards check it" >&2
fi
# The shards take their keys from this Secret and wait for it without it.
if ! kubectl "${ns[@]}" get secret llmrace-keys >/dev/null; then
  fail "no Secret llmrace-keys${ns[*]:+ in namespace ${ns[1]}}: the shards would wait for it" \
    "kubectl${ns[*]:+ ${ns[*]}} create secret generic llmrace-keys --from-file=OPENAI_API_KEY=./openai.key (one entry per api_key_env; with no --from-file for a race that needs no keys)"
fi

# One instant for every shard, fixed here: a relative `--start-at +2m` would count from each
# pod's own start, and pods start seconds apart.
start_at=$(date -u -d "+$seconds seconds" +%Y-%m-%dT%H:%M:%SZ)
run=run-$(date -u +%Y%m%d-%H%M%S)
cat >"$here/start.env" <<EOF
# Written by run.sh before each run: the instant every shard starts its measured race at (UTC,
# RFC 3339), the run's folder on the results volume, and the merge's flags (shell words, each in
# single quotes: '--fail-if' 'ttft.p95 > 800ms').
START_AT=$start_at
RUN=$run
MERGE_FLAGS=$merge_flags
EOF

# A Job's pods cannot be changed: the previous run's Jobs go first (their results stay).
kubectl "${ns[@]}" delete job llmrace-shards llmrace-merge --ignore-not-found --wait=true
kubectl "${ns[@]}" apply -k "$here"
echo "run $run: shards start at $start_at"

# Waits until the Job has the condition Complete or Failed (kubectl wait takes one condition).
finished() {
  local job=$1 deadline=$((SECONDS + $2)) state
  while ((SECONDS < deadline)); do
    state=$(kubectl "${ns[@]}" get job "$job" \
      -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
    case " $state " in
      *" Complete "*) return 0 ;;
      *" Failed "*) return 1 ;;
    esac
    sleep 5
  done
  fail "job/$job did not finish within $timeout" "kubectl ${ns[*]} describe job $job; kubectl ${ns[*]} logs -l app.kubernetes.io/name=llmrace --prefix"
}

case $timeout in
  *s) limit=${timeout%s} ;;
  *m) limit=$((${timeout%m} * 60)) ;;
  *h) limit=$((${timeout%h} * 3600)) ;;
esac

# The merge runs however the shards ended: a shard exits 1 when the race file's own thresholds
# fail on its share of the race, its results whole (the thresholds that count are judged by the
# merge on the whole race); a shard that is missing or incomplete, the merge names and refuses
# (or leaves out with --allow-missing).
if ! finished llmrace-shards "$limit"; then
  failed=$(kubectl "${ns[@]}" get job llmrace-shards -o jsonpath='{.status.failedIndexes}')
  echo "shards $failed exited with an error (their logs: kubectl ${ns[*]} logs -l app.kubernetes.io/component=shard --prefix); merging: the merge says what is missing"
fi

kubectl "${ns[@]}" patch job llmrace-merge --type=merge -p '{"spec":{"suspend":false}}'
status=0
finished llmrace-merge "$limit" || status=1
kubectl "${ns[@]}" logs job/llmrace-merge || true
echo "results: /results/$run/merged on the llmrace-results volume"
exit "$status"
