#!/usr/bin/env bash
# Where the time goes: one target under one wrk scenario of bench/run.sh, with what it costs per request.
#
# usage: bench/profile.sh [--target proxy|nginx] [--scenario keepalive-64|keepalive-256|close-16|body16k-64]
#                         [--seconds N] [--strace] [--perf] [--proxy-env "NAME=VALUE ..."]
#   prints requests per second, CPU µs per request and context switches per request of the target;
#   --strace  also counts its system calls per request (strace -c; strace slows the target down, so the
#             rates of that run are not comparable with the others)
#   --perf    also samples it with perf (CPU split by binary, then the hottest functions)
#   --proxy-env  extra environment for the proxy, as in bench/run.sh (e.g. PROXY_CLIENTS_FILE=/tmp/clients.json)
# The servers, certificates, bodies and the Native AOT build of the proxy are bench/run.sh's own (its
# functions are sourced, and the proxy is rebuilt when src/ changed). Like bench/run.sh it takes
# bench/.work/run.lock, so the two never overlap.
set -euo pipefail

TARGET=proxy
SCENARIO=keepalive-64
SECONDS_RUN=5
STRACE=0
PERF=0
PROFILE_PROXY_ENV=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --target) TARGET=$2; shift ;;
    --scenario) SCENARIO=$2; shift ;;
    --seconds) SECONDS_RUN=$2; shift ;;
    --strace) STRACE=1 ;;
    --perf) PERF=1 ;;
    --proxy-env) PROFILE_PROXY_ENV=$2; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "profile.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

set --
# shellcheck source=run.sh
source "$(dirname "${BASH_SOURCE[0]}")/run.sh"
PROXY_ENV=$PROFILE_PROXY_ENV

[[ $TARGET == proxy || $TARGET == nginx ]] || die "--target is proxy or nginx"
[[ -n ${SC_CONNS[$SCENARIO]:-} ]] || die "unknown scenario $SCENARIO (${SCENARIOS[*]})"
((STRACE == 0)) || command -v strace >/dev/null || die "--strace needs strace (apt-get install strace)"
((PERF == 0)) || command -v perf >/dev/null || die "--perf needs perf (apt-get install linux-perf)"

prepare_side_run
if [[ $TARGET == proxy ]]; then build_proxy || die "no proxy build"; fi
start_upstreams
start_target "$TARGET" "${PORT[$TARGET]}" "$UPSTREAM_PORT" "$TARGET"

wrk_line() { scenario_wrk "$TARGET" "$SCENARIO" "$1"; }  # SECONDS: the BENCH line of post.lua
wrk_line 2 >/dev/null  # warm-up: pools, page faults

read -ra procs <<<"$(target_pids "$TARGET")"
switches() { local f t=0; for f in $(printf '/proc/%s/task/*/status ' "${procs[@]}"); do t=$((t + $(awk '/ctxt_switches/ {s += $2} END {print s}' "$f"))); done; echo "$t"; }

tracer=""
if ((STRACE)); then
  args=(); for p in "${procs[@]}"; do args+=(-p "$p"); done
  strace -c -f "${args[@]}" -o "$WORK/run/profile-strace.txt" 2>/dev/null &
  tracer=$!; sleep 0.5
elif ((PERF)); then
  perf record -F 2000 -g -p "$(IFS=,; echo "${procs[*]}")" -o "$WORK/run/profile.perf" -- sleep "$SECONDS_RUN" >/dev/null 2>&1 &
  tracer=$!
fi

cpu0=$(cpu_ticks "${procs[@]}"); sw0=$(switches)
line=$(wrk_line "$SECONDS_RUN")
cpu1=$(cpu_ticks "${procs[@]}"); sw1=$(switches)
if [[ -n $tracer ]]; then
  ((STRACE)) && kill -INT "$tracer" 2>/dev/null
  wait "$tracer" 2>/dev/null || true
fi

requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
bad=$(sed -E 's/.* bad=([0-9]+).*/\1/' <<<"$line")
awk -v n="$requests" -v s="$SECONDS_RUN" -v t=$((cpu1 - cpu0)) -v hz="$CLK_TCK" -v sw=$((sw1 - sw0)) \
    -v target="$TARGET" -v sc="$SCENARIO" -v bad="$bad" 'BEGIN {
  printf "%s %s: %.0f req/s, %.1f us CPU per request, %.2f context switches per request, %d wrong answers\n",
    target, sc, n / s, t * 1e6 / hz / n, sw / n, bad }'

if ((STRACE)); then
  echo "system calls per request (strace -c over the whole run):"
  awk -v n="$requests" '$NF ~ /^[a-z_0-9]+$/ && $1 ~ /^[0-9.]+$/ && $NF != "total" {
      errors = (NF == 6) ? $5 : 0
      if ($4 / n >= 0.01) printf "  %-14s %6.2f%s\n", $NF, $4 / n, errors ? sprintf("  (%.2f failed)", errors / n) : "" }' \
    "$WORK/run/profile-strace.txt" | sort -k2 -nr
fi
if ((PERF)); then
  echo "CPU by binary:"
  perf report -i "$WORK/run/profile.perf" --no-children --sort dso -g none 2>/dev/null | grep -E '^ +[0-9]' | head -8
  echo "hottest functions:"
  perf report -i "$WORK/run/profile.perf" --no-children --sort sym -g none 2>/dev/null | grep -E '^ +[0-9]' | head -25
fi
