#!/usr/bin/env bash
# The latency tail of keep-alive runs, and what a target's upstream pool did meanwhile: fresh instances of the
# targets, then timed keep-alive runs, interleaved; per run the latency percentiles (ms) up to p99.9 and the maximum,
# the upstream connections the target opened (TLS handshakes inside the timed run), its CPU µs per request and its
# peak RSS (VmHWM, reset before the run).
#
# usage: bench/tail.sh [--targets "proxy-nousage nginx"] [--runs N] [--seconds N] [--conns "256 64"] [--warm]
#                      [--baseline REF] [--proxy-env "NAME=VALUE ..."]
#   --warm       first one 2 s run at 256 connections per target, so the timed runs start with a grown pool;
#                without it the first run of each target grows its pool while it is timed
#   --baseline   adds nothing by itself: builds proxy-base from REF for --targets "... proxy-base"
#   --proxy-env  extra environment for the proxy targets, as in bench/run.sh (GC knobs in hex without 0x,
#                e.g. DOTNET_GCgen0size=400000)
# The servers, certificates and builds are bench/run.sh's own (its functions are sourced); like it, this takes
# bench/.work/run.lock.
set -euo pipefail

TAIL_TARGETS=proxy-nousage
RUNS=3
SECONDS_RUN=3
CONNS=256
WARM=0
TAIL_BASELINE=""
TAIL_PROXY_ENV=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --targets) TAIL_TARGETS=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --seconds) SECONDS_RUN=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --warm) WARM=1 ;;
    --baseline) TAIL_BASELINE=$2; shift ;;
    --proxy-env) TAIL_PROXY_ENV=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "tail.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

set --
# shellcheck source=run.sh
source "$(dirname "${BASH_SOURCE[0]}")/run.sh"
PROXY_ENV=$TAIL_PROXY_ENV
BASELINE=$TAIL_BASELINE
read -ra targets <<<"$TAIL_TARGETS"
for t in "${targets[@]}"; do
  [[ $t == nginx || $t == proxy || $t == proxy-nousage || $t == proxy-base ]] || die "--targets: nginx, proxy, proxy-nousage, proxy-base"
done

prepare_side_run
if [[ " ${targets[*]} " == *" proxy"[\ -]* ]]; then build_proxy || die "no proxy build"; fi
if [[ " ${targets[*]} " == *" proxy-base "* ]]; then
  [[ -n $BASELINE ]] || die "proxy-base needs --baseline REF"
  build_baseline || die "no proxy-base build"
fi
start_upstreams
for t in "${targets[@]}"; do start_target "$t" "${PORT[$t]}" "$UPSTREAM_PORT" "$t"; done

wrk_tail() { # TARGET CONNECTIONS SECONDS: the TAIL line of tail.lua
  BENCH_POST_LUA=$BENCH/post.lua BENCH_BODY_FILE=$WORK/request.json BENCH_TOKEN=$(token_of "$1") \
    BENCH_EXPECT_LEN=${#CHAT_BODY} wrk -t 2 -c "$2" -d "${3}s" --timeout 10s -s "$BENCH/tail.lua" \
    "$(url_of "$1" /api/chat)" | grep '^TAIL '
}
if ((WARM)); then for t in "${targets[@]}"; do wrk_tail "$t" 256 2 >/dev/null; done; fi

for ((run = 1; run <= RUNS; run++)); do
  for conns in $CONNS; do
    for t in "${targets[@]}"; do
      read -ra pids <<<"$(target_pids "$t")"
      reset_peak "${pids[@]}"
      before=$(upstream_sockets "${pids[@]}"); cpu0=$(cpu_ticks "${pids[@]}")
      line=$(wrk_tail "$t" "$conns" "$SECONDS_RUN")
      cpu1=$(cpu_ticks "${pids[@]}"); after=$(upstream_sockets "${pids[@]}"); hwm=$(status_kb VmHWM "${pids[@]}")
      opened=$(comm -13 <(echo "$before") <(echo "$after") | grep -c . || true)
      requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
      printf '%-14s run %d, %3d connections: %s upstream_opened=%d cpu_us=%s hwm_mib=%.1f\n' "$t" "$run" "$conns" \
        "${line#TAIL }" "$opened" "$(awk -v t=$((cpu1 - cpu0)) -v n="$requests" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')" \
        "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')"
    done
  done
done
