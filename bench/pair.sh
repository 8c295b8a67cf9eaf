#!/usr/bin/env bash
# The cost of counting usage, with the targets measured in the same rounds: the proxy with counting off
# (proxy-nousage), with counting on (proxy) and, with --baseline, another commit with counting on (proxy-base). By
# default each gets its own wrk with the scenario's connections, all started together, round after round: a host
# that slows down for a while slows every target of the round alike, which one-after-another runs (bench/run.sh)
# cannot promise; the price is that the targets share the two cores with each other, so the figures are not those
# of a target alone. Prints each round's CPU µs per request (on-CPU time from /proc/PID/task/*/schedstat, in
# nanoseconds) and, at the end, the median and quartiles of each target's ratio to proxy-nousage.
#
# With --alternate, a round loads the targets one after another instead, each alone, in order and then in reverse
# (A B C C B A, each for the round's seconds; round r starts with target r mod n), and adds up each target's two
# runs: no target shares the cores with another, the reversed order cancels a slowdown that grows or fades steadily
# through the round, and with a number of rounds that the number of targets divides, every target takes every
# place in the order as often. A target then waits 2 × (n - 1) × S seconds between its runs, which must stay under
# the 20 s after which .NET retires an idle thread-pool thread (taking its CPU time out of the sum below).
#
# usage: bench/pair.sh [--rounds N] [--seconds S] [--scenario keepalive-64|keepalive-256|close-16|body16k-64]
#                      [--baseline REF] [--alternate] [--proxy-env "NAME=VALUE ..."]
# --proxy-env gives every proxy target more environment, as in bench/run.sh.
# The servers, certificates, bodies and builds are bench/run.sh's own (sourced); like it, this takes
# bench/.work/run.lock.
set -euo pipefail

PAIR_ROUNDS=10
PAIR_SECONDS=10
PAIR_SCENARIO=keepalive-64
PAIR_BASELINE=""
PAIR_ALTERNATE=0
PAIR_PROXY_ENV=""
while (($#)); do
  case $1 in
    --rounds) PAIR_ROUNDS=$2; shift ;;
    --seconds) PAIR_SECONDS=$2; shift ;;
    --scenario) PAIR_SCENARIO=$2; shift ;;
    --baseline) PAIR_BASELINE=$2; shift ;;
    --alternate) PAIR_ALTERNATE=1 ;;
    --proxy-env) PAIR_PROXY_ENV=$2; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "pair.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

set --
# shellcheck source=run.sh
source "$(dirname "${BASH_SOURCE[0]}")/run.sh"
# run.sh sets its own defaults when sourced: the options of this script are applied after it.
BASELINE=$PAIR_BASELINE
ROUNDS=$PAIR_ROUNDS
SECONDS_RUN=$PAIR_SECONDS
SCENARIO=$PAIR_SCENARIO
PROXY_ENV=$PAIR_PROXY_ENV

[[ -n ${SC_CONNS[$SCENARIO]:-} ]] || die "unknown scenario $SCENARIO (${SCENARIOS[*]})"
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $SECONDS_RUN =~ ^[1-9][0-9]*$ ]] || die "--rounds and --seconds take whole numbers above 0"
if ((PAIR_ALTERNATE)); then
  idle=$((2 * ($([[ -n $BASELINE ]] && echo 3 || echo 2) - 1) * SECONDS_RUN))
  ((idle < 20)) || die "--alternate leaves each target idle ${idle} s between its runs; .NET retires idle pool threads after 20 s: take fewer --seconds"
fi

prepare_side_run
build_proxy || die "no proxy build"
targets=(proxy-nousage proxy)
if [[ -n $BASELINE ]]; then
  build_baseline || die "no proxy-base build"
  targets+=(proxy-base)
fi
start_upstreams
for t in "${targets[@]}"; do
  start_target "$t" "${PORT[$t]}" "$UPSTREAM_PORT" "$t"
done

wrk_to() { scenario_wrk "$1" "$SCENARIO" "$2" >"$3"; }  # TARGET SECONDS OUT: the BENCH line of post.lua, in OUT
# Nanoseconds on a processor, every thread of the process (a thread that ended takes its time with it: the proxy's
# threads live as long as it does).
on_cpu_ns() { { cat /proc/"$1"/task/*/schedstat 2>/dev/null || true; } | awk '{s += $1} END {printf "%.0f\n", s}'; }

# The requests of TARGET's last wrk run; stops the script when any answer was wrong.
requests_of() {
  local out=$WORK/tmp/pair-$1.out bad
  bad=$(sed -E 's/.* bad=([0-9]+).*/\1/' "$out")
  ((bad == 0)) || die "$1: $bad wrong answers in round $round"
  sed -E 's/.*requests=([0-9]+).*/\1/' "$out"
}

# One load of target number $1 for $2 seconds, alone: adds its on-CPU nanoseconds and requests to NS[$1] and N[$1].
run_alone() {
  local t=${targets[$1]} c0 c1 requests
  c0=$(on_cpu_ns "${STARTED[$t]}")
  wrk_to "$t" "$2" "$WORK/tmp/pair-$t.out"
  c1=$(on_cpu_ns "${STARTED[$t]}")
  requests=$(requests_of "$t")
  NS[$1]=$((NS[$1] + c1 - c0))
  N[$1]=$((N[$1] + requests))
}

run_round() { # SECONDS RECORD(0|1)
  local t i line NS=() N=() pids=() c0=() c1=()
  for t in "${targets[@]}"; do require_alive "$t"; done
  for i in "${!targets[@]}"; do NS[i]=0; N[i]=0; done
  if ((PAIR_ALTERNATE)); then
    # Each round starts with the next target, so every target takes every place in the order as often.
    local n=${#targets[@]} k
    for ((k = 0; k < n; k++)); do run_alone $(((round + k) % n)) "$1"; done
    for ((k = n - 1; k >= 0; k--)); do run_alone $(((round + k) % n)) "$1"; done
  else
    for i in "${!targets[@]}"; do c0[i]=$(on_cpu_ns "${STARTED[${targets[i]}]}"); done
    for t in "${targets[@]}"; do wrk_to "$t" "$1" "$WORK/tmp/pair-$t.out" & pids+=($!); done
    wait "${pids[@]}"
    for i in "${!targets[@]}"; do
      t=${targets[i]}
      c1[i]=$(on_cpu_ns "${STARTED[$t]}")
      NS[i]=$((c1[i] - c0[i]))
      N[i]=$(requests_of "$t")
    done
  fi
  (($2)) || return 0
  line="round $round"
  local runs=$((PAIR_ALTERNATE ? 2 : 1))
  for i in "${!targets[@]}"; do
    t=${targets[i]}
    CPU_US[$t,$round]=$(awk -v d="${NS[i]}" -v n="${N[i]}" 'BEGIN {printf "%.2f", d / 1000 / n}')
    line="$line  $t $(awk -v n="${N[i]}" -v s=$(($1 * runs)) 'BEGIN {printf "%.0f", n / s}') req/s ${CPU_US[$t,$round]} us/req"
  done
  log "$line"
}

declare -A CPU_US=()
log "warm-up: $SCENARIO, ${targets[*]}"
round=0
run_round 3 0
for ((round = 1; round <= ROUNDS; round++)); do
  run_round "$SECONDS_RUN" 1
done

how="loaded at once, $ROUNDS rounds of $SECONDS_RUN s"
((PAIR_ALTERNATE == 0)) || how="loaded one after another, in order and reversed, $ROUNDS rounds of 2 × $SECONDS_RUN s each"
echo "$SCENARIO, ${targets[*]} $how; CPU per request ÷ proxy-nousage's, per round:"
for t in "${targets[@]:1}"; do
  for ((round = 1; round <= ROUNDS; round++)); do
    awk -v a="${CPU_US[$t,$round]}" -v b="${CPU_US[proxy-nousage,$round]}" 'BEGIN {printf "%.4f\n", a / b}'
  done | sort -n | awk -v t="$t" '
    function at(p,   k) { k = 1 + p * (NR - 1); return v[int(k)] + (k - int(k)) * (v[int(k) + 1] - v[int(k)]) }
    {v[NR] = $1}
    END {printf "  %-12s median %.3f  quartiles %.3f %.3f  min %.3f  max %.3f\n", t, at(0.5), at(0.25), at(0.75), v[1], v[NR]}'
done
