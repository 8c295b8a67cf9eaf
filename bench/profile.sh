#!/usr/bin/env bash
# Where the time goes: one target under one wrk scenario of bench/run.sh, with what it costs per request.
#
# usage: bench/profile.sh [--target proxy|nginx] [--scenario keepalive-64|keepalive-256|close-16|body16k-64]
#                         [--seconds N] [--strace] [--perf]
#   prints requests per second, CPU µs per request and context switches per request of the target;
#   --strace  also counts its system calls per request (strace -c; strace slows the target down, so the
#             rates of that run are not comparable with the others)
#   --perf    also samples it with perf (CPU split by binary, then the hottest functions)
# It needs what bench/run.sh makes in bench/.work (certificates, configs, the Native AOT proxy, which
# bench/run.sh rebuilds when src/ changed): run bench/run.sh --quick once first, and again after a change. Like bench/run.sh it takes bench/.work/run.lock, so the two never overlap.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$BENCH/.work
TARGET=proxy
SCENARIO=keepalive-64
SECONDS_RUN=5
STRACE=0
PERF=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --target) TARGET=$2; shift ;;
    --scenario) SCENARIO=$2; shift ;;
    --seconds) SECONDS_RUN=$2; shift ;;
    --strace) STRACE=1 ;;
    --perf) PERF=1 ;;
    -h|--help) sed -n "2,13p" "$0"; exit 0 ;;
    *) echo "profile.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

case $SCENARIO in
  keepalive-64) CONNS=64; URL_PATH=/api/chat; EXTRA=() ;;
  keepalive-256) CONNS=256; URL_PATH=/api/chat; EXTRA=() ;;
  close-16) CONNS=16; URL_PATH=/api/chat; EXTRA=(-H "Connection: close") ;;
  body16k-64) CONNS=64; URL_PATH=/api/big; EXTRA=() ;;
  *) echo "profile.sh: unknown scenario $SCENARIO" >&2; exit 2 ;;
esac
[[ $TARGET == proxy || $TARGET == nginx ]] || { echo "profile.sh: --target is proxy or nginx" >&2; exit 2; }
for file in run/upstream.conf run/nginx.conf tls/ca.crt request.json www/big.json proxy/OllamaSocketProxy; do
  [[ -e $WORK/$file ]] || { echo "profile.sh: no bench/.work/$file: run bench/run.sh --quick once first" >&2; exit 1; }
done
((STRACE == 0)) || command -v strace >/dev/null || { echo "profile.sh: --strace needs strace (apt-get install strace)" >&2; exit 1; }
((PERF == 0)) || command -v perf >/dev/null || { echo "profile.sh: --perf needs perf (apt-get install linux-perf)" >&2; exit 1; }

exec 9>"$WORK/run.lock"
flock -w 1200 9 || { echo "profile.sh: bench/run.sh is still running" >&2; exit 1; }

TOKEN=bench-client-token-0123456789
UPSTREAM_KEY=bench-upstream-key-9876543210
PORT=18083
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_port() {
  local i
  for ((i = 0; i < 400; i++)); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  echo "profile.sh: nothing listens on $1" >&2; exit 1
}

nginx -c "$WORK/run/upstream.conf" -p "$WORK" >>"$WORK/logs/profile-upstream.log" 2>&1 &
PIDS+=($!)
if [[ $TARGET == proxy ]]; then
  (cd "$WORK/run" && exec env OLLAMA_API_KEY=$UPSTREAM_KEY PROXY_AUTH_TOKEN=$TOKEN PROXY_LISTEN=127.0.0.1:$PORT \
    OLLAMA_UPSTREAM_URL=https://localhost:18443 OLLAMA_UPSTREAM_CA_FILE="$WORK/tls/ca.crt" \
    PROXY_ACCESS_LOG=false PROXY_UPSTREAM_PREWARM=16 "$WORK/proxy/OllamaSocketProxy") >>"$WORK/logs/profile-proxy.log" 2>&1 &
else
  PORT=$(sed -nE 's/.*listen 127\.0\.0\.1:([0-9]+).*/\1/p' "$WORK/run/nginx.conf" | head -1)
  nginx -c "$WORK/run/nginx.conf" -p "$WORK" >>"$WORK/logs/profile-nginx.log" 2>&1 &
fi
MAIN=$!
PIDS+=($MAIN)
wait_port 18443
wait_port "$PORT"

if [[ $URL_PATH == /api/big ]]; then EXPECT=$(stat -c %s "$WORK/www/big.json"); else EXPECT=466; fi
run_wrk() {
  BENCH_BODY_FILE=$WORK/request.json BENCH_TOKEN=$TOKEN BENCH_EXPECT_LEN=$EXPECT \
    wrk -t 2 -c "$CONNS" -d "${1}s" --timeout 10s -s "$BENCH/post.lua" "${EXTRA[@]}" "http://127.0.0.1:$PORT$URL_PATH" | grep '^BENCH '
}
run_wrk 2 >/dev/null  # warm-up: pools, page faults

# The target's processes (nginx: master and worker) and all their threads.
read -ra PROCS <<<"$MAIN $(pgrep -P "$MAIN" | tr '\n' ' ')"
cpu_ticks() { local p t=0; for p in "${PROCS[@]}"; do t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done; echo "$t"; }
switches() { local f t=0; for f in $(printf '/proc/%s/task/*/status ' "${PROCS[@]}"); do t=$((t + $(awk '/ctxt_switches/ {s += $2} END {print s}' "$f"))); done; echo "$t"; }

TRACER=()
if ((STRACE)); then
  args=(); for p in "${PROCS[@]}"; do args+=(-p "$p"); done
  strace -c -f "${args[@]}" -o "$WORK/run/profile-strace.txt" 2>/dev/null &
  TRACER=($!); sleep 0.5
elif ((PERF)); then
  perf record -F 2000 -g -p "$(IFS=,; echo "${PROCS[*]}")" -o "$WORK/run/profile.perf" -- sleep "$SECONDS_RUN" >/dev/null 2>&1 &
  TRACER=($!)
fi

cpu0=$(cpu_ticks); sw0=$(switches)
line=$(run_wrk "$SECONDS_RUN")
cpu1=$(cpu_ticks); sw1=$(switches)
if ((${#TRACER[@]})); then
  ((STRACE)) && kill -INT "${TRACER[0]}" 2>/dev/null
  wait "${TRACER[0]}" 2>/dev/null || true
fi

requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
bad=$(sed -E 's/.*bad=([0-9]+).*/\1/' <<<"$line")
awk -v n="$requests" -v s="$SECONDS_RUN" -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v sw=$((sw1 - sw0)) \
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
