#!/usr/bin/env bash
# The soak test (README.md#soak): the Release build of the proxy against a TLS upstream on 127.0.0.1 that fails on
# purpose (reset before the head, close mid-body and mid-stream, stall past the response timeout), driven by
# raw HTTP/1.1 connections that keep alive, upload, stream, and abort mid-upload and mid-stream.
# Everything runs on 127.0.0.1; every loop and wait is bounded; every process started is stopped on exit.
#
# usage: bench/soak/run.sh [--quick] [--connections N] [--requests N] [--duration SECONDS] [--seed N]
#                          [--jit] [--fd-tolerance N] [--rss-tolerance-pct P] [--rss-tolerance-mib M]
#   default    200 connections, 240 s of load (at most 1000000 requests; about 650000 on 2 cores): about five
#              minutes with the builds cached
#   --quick    200 connections, 40 s of load (at most 150000 requests): about a minute
#   --jit      soak a framework-dependent (JIT) build instead of the published one (Native AOT, PublishAot)
#
# Reports requests by outcome as the client saw them (2xx, 401, 502, 504, truncated, aborted-by-client, ...),
# the proxy's open descriptors before and after, and its RSS every second (CSV in bench/soak/.work/run/).
# Exits 1 when the proxy leaks descriptors (more than --fd-tolerance, default 2, above the count before the load,
# idle pooled upstream connections not counted), its RSS still grows over the last third of the load (least-squares
# slope over that third, extrapolated across it, above max(--rss-tolerance-pct 5 % of its mean,
# --rss-tolerance-mib 8 MiB)), it dies, a request hangs (no answer within 20 s), a 2xx body is not byte for byte
# what the upstream sent, or it logs an unexpected error. Exits 2 on a usage or setup error.
set -euo pipefail

SOAK=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SOAK/../.." && pwd)
WORK=$SOAK/.work
RUN=$WORK/run

CONNECTIONS=200
REQUESTS=1000000
DURATION=240
SEED=1
FD_TOLERANCE=2
RSS_TOLERANCE_PCT=5
RSS_TOLERANCE_MIB=8
MODE=default
BUILD=published
PUBLISH_ARGS=()
COMMAND_LINE="bench/soak/run.sh $*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) MODE=quick; REQUESTS=150000; DURATION=40 ;;
    --connections) CONNECTIONS=$2; shift ;;
    --requests) REQUESTS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --jit) BUILD=jit; PUBLISH_ARGS=(-p:PublishAot=false) ;;
    --fd-tolerance) FD_TOLERANCE=$2; shift ;;
    --rss-tolerance-pct) RSS_TOLERANCE_PCT=$2; shift ;;
    --rss-tolerance-mib) RSS_TOLERANCE_MIB=$2; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for value in "$CONNECTIONS" "$REQUESTS" "$DURATION" "$SEED" "$FD_TOLERANCE" "$RSS_TOLERANCE_PCT" "$RSS_TOLERANCE_MIB"; do
  [[ $value =~ ^[0-9]+$ ]] || { echo "run.sh: '$value' is not a whole number" >&2; exit 2; }
done

# The proxy's settings for the soak: short timeouts so that the faults end quickly and the pool drains in the
# settle phase (its idle connections would otherwise be open for 50 s).
POOL_IDLE_TIMEOUT=3
RESPONSE_TIMEOUT=2
SETTLE_MAX=60       # seconds: the longest wait for the descriptor count to stop falling
SETTLE_STABLE=5     # seconds without a fall that count as settled
TOKEN=soak-client-token-0123456789
API_KEY=soak-upstream-key-9876543210

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 UseSharedCompilation=false
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

# --- processes: every one started is stopped on exit, whatever happens -----------------------------------------
STARTED=()
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do stop_pid "$pid"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$RUN"
mkdir -p "$RUN/cwd" "$WORK/tls"

# --- build ------------------------------------------------------------------------------------------------------
log "building the proxy (Release, $([[ $BUILD == jit ]] && echo 'framework-dependent JIT' || echo 'as published: Native AOT')) and the soak helpers"
rm -rf "$WORK/proxy"
dotnet publish "$REPO/src/Listener/Listener.csproj" -c Release -o "$WORK/proxy" --artifacts-path "$WORK/artifacts/proxy-$BUILD" \
  -nologo -v quiet "${PUBLISH_ARGS[@]}" >"$RUN/build-proxy.log" 2>&1 || { cat "$RUN/build-proxy.log" >&2; die "proxy build failed"; }
if [[ -f $WORK/proxy/OllamaSocketProxy.dll ]]; then
  PROXY_COMMAND=(dotnet "$WORK/proxy/OllamaSocketProxy.dll")
  BUILD_NAME="Release, framework-dependent (JIT)"
else
  PROXY_COMMAND=("$WORK/proxy/OllamaSocketProxy")
  BUILD_NAME="Release, Native AOT"
fi
dotnet publish "$SOAK/Soak.csproj" -c Release -o "$WORK/soak" --artifacts-path "$WORK/artifacts/soak" \
  -nologo -v quiet >"$RUN/build-soak.log" 2>&1 || { cat "$RUN/build-soak.log" >&2; die "soak helper build failed"; }
SOAK_TOOL=(dotnet "$WORK/soak/Soak.dll")

# --- certificate: a CA made here, trusted by the proxy through OLLAMA_UPSTREAM_CA_FILE ---------------------------
TLS=$WORK/tls
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=soak test CA" \
  -keyout "$TLS/ca.key" -out "$TLS/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
  -keyout "$TLS/localhost.key" -out "$TLS/localhost.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$TLS/localhost.ext"
openssl x509 -req -in "$TLS/localhost.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial -days 2 \
  -extfile "$TLS/localhost.ext" -out "$TLS/localhost.crt" 2>/dev/null

# --- upstream ---------------------------------------------------------------------------------------------------
"${SOAK_TOOL[@]}" upstream --cert "$TLS/localhost.crt" --key "$TLS/localhost.key" --port-file "$RUN/upstream.port" \
  >"$RUN/upstream.log" 2>&1 &
STARTED+=($!)
UPSTREAM_PID=$!
for ((i = 0; i < 300; i++)); do [[ -s $RUN/upstream.port ]] && break; kill -0 "$UPSTREAM_PID" 2>/dev/null || break; sleep 0.1; done
[[ -s $RUN/upstream.port ]] || { cat "$RUN/upstream.log" >&2; die "the upstream did not start"; }
UPSTREAM_PORT=$(cat "$RUN/upstream.port")

# --- proxy: a clean environment (no PROXY_* of the caller's), an empty working directory (no .env) ---------------
PROXY_PORT=$("${SOAK_TOOL[@]}" free-port)
(
  cd "$RUN/cwd"
  exec env -i PATH="$PATH" HOME="${HOME:-/root}" ${DOTNET_ROOT:+DOTNET_ROOT="$DOTNET_ROOT"} \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
    OLLAMA_API_KEY="$API_KEY" PROXY_AUTH_TOKEN="$TOKEN" PROXY_LISTEN="127.0.0.1:$PROXY_PORT" \
    OLLAMA_UPSTREAM_URL="https://localhost:$UPSTREAM_PORT" OLLAMA_UPSTREAM_CA_FILE="$TLS/ca.crt" \
    PROXY_ACCESS_LOG=false PROXY_MAX_CONNECTIONS=1000 \
    PROXY_UPSTREAM_RESPONSE_TIMEOUT=$RESPONSE_TIMEOUT PROXY_UPSTREAM_POOL_IDLE_TIMEOUT=$POOL_IDLE_TIMEOUT \
    "${PROXY_COMMAND[@]}"
) >"$RUN/proxy.log" 2>&1 &
STARTED+=($!)
PROXY_PID=$!
for ((i = 0; i < 300; i++)); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null && break
  kill -0 "$PROXY_PID" 2>/dev/null || { cat "$RUN/proxy.log" >&2; die "the proxy exited at start"; }
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null || die "the proxy does not accept on 127.0.0.1:$PROXY_PORT"
log "upstream on 127.0.0.1:$UPSTREAM_PORT (pid $UPSTREAM_PID), proxy on 127.0.0.1:$PROXY_PORT (pid $PROXY_PID)"

# --- measuring the proxy ----------------------------------------------------------------------------------------
alive() { kill -0 "$PROXY_PID" 2>/dev/null; }
fd_count() { find "/proc/$PROXY_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$PROXY_PID/status" 2>/dev/null || echo 0; }

# The proxy's TCP connections (listening socket aside) whose remote ($1 = 3) or local ($1 = 2) port is $2:
# idle pooled upstream connections, or client ones.
sockets_on_port() {
  local field=$1 port_hex
  port_hex=$(printf '%04X' "$2")
  find "/proc/$PROXY_PID/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' \
    | awk -v field="$field" -v port="$port_hex" 'NR == FNR { mine[$1] = 1; next }
        FNR > 1 && $4 != "0A" { split($field, address, ":"); if (address[2] == port && ($10 in mine)) n++ } END { print n + 0 }' \
        - /proc/net/tcp /proc/net/tcp6
}
upstream_sockets() { sockets_on_port 3 "$UPSTREAM_PORT"; }
client_sockets() { sockets_on_port 2 "$PROXY_PORT"; }
fd_kinds() {
  find "/proc/$PROXY_PID/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null \
    | sed -e 's/^socket:.*/socket/' -e 's/^pipe:.*/pipe/' -e 's/^anon_inode:\(.*\)/\1/' -e 's|^/.*|file|' \
    | sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 } END { print "" }'
}

# RSS, descriptors and threads every second, with the phase they belong to.
echo warmup >"$RUN/phase"
echo "seconds,phase,rss_kib,fds,threads" >"$RUN/rss.csv"
(
  start=$(date +%s)
  while kill -0 "$PROXY_PID" 2>/dev/null; do
    threads=$(awk '/^Threads:/ { print $2 }' "/proc/$PROXY_PID/status" 2>/dev/null || echo 0)
    echo "$(($(date +%s) - start)),$(cat "$RUN/phase"),$(rss_kib),$(fd_count),$threads" >>"$RUN/rss.csv"
    sleep 1
  done
) &
STARTED+=($!)

# Waits until the descriptor count has not fallen for SETTLE_STABLE seconds (and the pool's idle timeout has
# passed), at most SETTLE_MAX seconds.
settle() {
  local last now stable=0 waited=0
  last=$(fd_count)
  while ((waited < SETTLE_MAX)); do
    sleep 1
    waited=$((waited + 1))
    now=$(fd_count)
    if ((now < last)); then stable=0; last=$now; else stable=$((stable + 1)); fi
    ((stable >= SETTLE_STABLE && waited >= POOL_IDLE_TIMEOUT + 2)) && break
  done
  echo "$waited"
}

# --- warm-up: the runtime opens what it keeps (epoll, eventfds, certificate stores) before the baseline ---------
log "warm-up: 3000 requests over 50 connections, every scenario"
timeout 120 "${SOAK_TOOL[@]}" load --proxy "127.0.0.1:$PROXY_PORT" --token "$TOKEN" --connections 50 \
  --requests 3000 --duration 60 --seed 999 >"$RUN/warmup.txt" 2>&1 || { cat "$RUN/warmup.txt" >&2; die "warm-up failed"; }
echo settle-before >"$RUN/phase"
waited=$(settle)
FD_BEFORE=$(fd_count)
UP_BEFORE=$(upstream_sockets)
KINDS_BEFORE=$(fd_kinds)
RSS_BEFORE=$(rss_kib)
log "before: $FD_BEFORE descriptors ($KINDS_BEFORE; $UP_BEFORE pooled upstream), RSS $((RSS_BEFORE / 1024)) MiB, settled in ${waited}s"

# --- load ---------------------------------------------------------------------------------------------------------
log "load: $CONNECTIONS connections, up to $REQUESTS requests or ${DURATION}s"
echo load >"$RUN/phase"
LOAD_STATUS=0
timeout --kill-after=10 $((DURATION + 90)) "${SOAK_TOOL[@]}" load --proxy "127.0.0.1:$PROXY_PORT" --token "$TOKEN" \
  --connections "$CONNECTIONS" --requests "$REQUESTS" --duration "$DURATION" --seed "$SEED" \
  --summary "$RUN/summary.env" | tee "$RUN/load.txt" >&2 || LOAD_STATUS=$?
echo settle-after >"$RUN/phase"
alive || log "the proxy is gone after the load: $(tail -n 5 "$RUN/proxy.log")"
waited=$(settle)
FD_AFTER=$(fd_count)
UP_AFTER=$(upstream_sockets)
CLIENTS_AFTER=$(client_sockets)
KINDS_AFTER=$(fd_kinds)
RSS_AFTER=$(rss_kib)
log "after: $FD_AFTER descriptors ($KINDS_AFTER; $UP_AFTER pooled upstream, $CLIENTS_AFTER client), RSS $((RSS_AFTER / 1024)) MiB, settled in ${waited}s"

# --- still serving? -------------------------------------------------------------------------------------------------
echo check >"$RUN/phase"
CHECK_OK=0
if alive; then
  timeout 60 "${SOAK_TOOL[@]}" load --proxy "127.0.0.1:$PROXY_PORT" --token "$TOKEN" --connections 4 --requests 40 \
    --duration 30 --scenarios json,ndjson,upload-small,upload-chunked --summary "$RUN/check.env" >"$RUN/check.txt" 2>&1 || true
  CHECK_OK=$(sed -n 's/^2xx=//p' "$RUN/check.env" 2>/dev/null)
  CHECK_OK=${CHECK_OK:-0}
fi
echo done >"$RUN/phase"
stop_pid "$UPSTREAM_PID"   # it prints what it served as it stops

# --- report -------------------------------------------------------------------------------------------------------
value() { sed -n "s/^$1=//p" "$RUN/summary.env" 2>/dev/null | head -n 1; }
FAILURES=()
[[ -s $RUN/summary.env ]] || FAILURES+=("the load driver did not finish (exit $LOAD_STATUS)")
alive || FAILURES+=("the proxy died: $(tail -n 3 "$RUN/proxy.log" | tr '\n' ' ')")
((CHECK_OK == 40)) || FAILURES+=("after the load, only $CHECK_OK of 40 plain requests succeeded")
HANGS=$(value hang); WRONG=$(value wrong-body)
((${HANGS:-0} == 0)) || FAILURES+=("$HANGS requests hung (no answer within 20 s)")
((${WRONG:-0} == 0)) || FAILURES+=("$WRONG 2xx bodies differ from what the upstream sent")

FD_LEAK=$(((FD_AFTER - UP_AFTER) - (FD_BEFORE - UP_BEFORE)))
((FD_LEAK <= FD_TOLERANCE)) || FAILURES+=("descriptors: $FD_AFTER after vs $FD_BEFORE before ($FD_LEAK more, pooled upstream ones aside; tolerance $FD_TOLERANCE)")
((CLIENTS_AFTER == 0)) || FAILURES+=("$CLIENTS_AFTER client sockets still open after every client closed")

UNEXPECTED_ERRORS=$(grep -c -E '(fail|crit): ' "$RUN/proxy.log" || true)
((UNEXPECTED_ERRORS == 0)) || FAILURES+=("$UNEXPECTED_ERRORS error lines in the proxy log, e.g. $(grep -m 1 -E '(fail|crit): ' "$RUN/proxy.log")")
WARNINGS=$(grep -c 'warn: ' "$RUN/proxy.log" || true)

# RSS: start, peak and end; the trend over the last third of the load by least squares.
read -r RSS_START RSS_PEAK RSS_END RSS_GROWTH RSS_LIMIT RSS_THIRDS < <(awk -F, -v pct="$RSS_TOLERANCE_PCT" -v mib="$RSS_TOLERANCE_MIB" '
  NR == 1 { next }
  { if ($3 > peak) peak = $3; last = $3 }
  $2 == "load" { n++; t[n] = $1; r[n] = $3; if (!start) start = $3 }
  END {
    if (n < 6) { print start + 0, peak + 0, last + 0, 0, 0, "-"; exit }
    from = int(2 * n / 3) + 1; m = n - from + 1
    for (i = from; i <= n; i++) { sx += t[i]; sy += r[i] } 
    mx = sx / m; my = sy / m
    for (i = from; i <= n; i++) { sxx += (t[i] - mx) ^ 2; sxy += (t[i] - mx) * (r[i] - my) }
    growth = (sxx > 0 ? sxy / sxx : 0) * (t[n] - t[from])
    limit = my * pct / 100; if (limit < mib * 1024) limit = mib * 1024
    for (k = 0; k < 3; k++) { s = 0; c = 0; for (i = int(k * n / 3) + 1; i <= int((k + 1) * n / 3); i++) { s += r[i]; c++ } means = means (k ? "/" : "") int(s / c / 1024) }
    print start, peak, last, int(growth), int(limit), means
  }' "$RUN/rss.csv")
((RSS_GROWTH <= RSS_LIMIT)) || FAILURES+=("RSS still grows over the last third of the load: +$((RSS_GROWTH / 1024)) MiB by its trend (limit $((RSS_LIMIT / 1024)) MiB)")

{
  echo
  echo "## Soak $(date -u +%Y-%m-%dT%H:%M:%SZ) ($MODE)"
  echo
  echo "\`$COMMAND_LINE\` on $(nproc) cores, commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet 2>/dev/null || echo ' (with local changes)')."
  echo "Proxy: $BUILD_NAME; PROXY_UPSTREAM_RESPONSE_TIMEOUT=$RESPONSE_TIMEOUT, PROXY_UPSTREAM_POOL_IDLE_TIMEOUT=$POOL_IDLE_TIMEOUT, PROXY_ACCESS_LOG=false."
  echo
  sed -n '/requests in/,$p' "$RUN/load.txt"
  echo
  echo "| measure | before the load | after it and ${waited}s of settling |"
  echo "| --- | ---: | ---: |"
  echo "| open descriptors | $FD_BEFORE | $FD_AFTER |"
  echo "| of them pooled upstream connections | $UP_BEFORE | $UP_AFTER |"
  echo "| kinds | $KINDS_BEFORE | $KINDS_AFTER |"
  echo "| RSS MiB | $((RSS_BEFORE / 1024)) | $((RSS_AFTER / 1024)) |"
  echo
  echo "RSS over the load: start $((RSS_START / 1024)) MiB, peak $((RSS_PEAK / 1024)) MiB, end $((RSS_END / 1024)) MiB;" \
    "means of its thirds $RSS_THIRDS MiB; trend over the last third $((RSS_GROWTH / 1024)) MiB (limit $((RSS_LIMIT / 1024)) MiB)."
  echo "Proxy log: $WARNINGS warnings, $UNEXPECTED_ERRORS errors. Upstream: $(tail -n 1 "$RUN/upstream.log")."
  echo "After the load: $CHECK_OK of 40 plain requests succeeded. Samples: bench/soak/.work/run/rss.csv."
  echo
  if ((${#FAILURES[@]} == 0)); then
    echo "PASS: descriptors back to their count, memory level, no hang, no wrong body, no error."
  else
    printf 'FAIL: %s\n' "${FAILURES[@]}"
  fi
} | tee "$RUN/report.md"
((${#FAILURES[@]} == 0))
