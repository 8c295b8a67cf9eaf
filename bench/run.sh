#!/usr/bin/env bash
# The benchmark of BENCHMARKS.md: one run on this machine sends the same workload through
#   direct  - wrk straight to the TLS upstream (the limit),
#   nginx   - nginx doing this proxy's job (bench/nginx/proxy.conf.in), one worker,
#   haproxy - HAProxy doing the same (bench/haproxy/haproxy.cfg.in), one process with one thread
#             (not in the default targets: --targets "direct nginx haproxy yarp proxy"),
#   yarp    - the YARP peer app (bench/yarp),
#   proxy   - OllamaSocketProxy, Native AOT build of src/Listener, as it starts by default: counting usage into
#             its SQLite file, with the admin listener (metrics) up,
#   proxy-nousage - the same binary with PROXY_USAGE_DB=off and PROXY_ADMIN_LISTEN=off, for the cost of counting
#             (not in the default targets: --targets "nginx proxy proxy-nousage"),
#   proxy-base - the proxy built the same way from another commit (--baseline REF) and run with the
#             same environment, for a before/after in one run: --baseline f39c3d9 --targets "nginx proxy-base proxy",
# with nginx over TLS as the upstream (bench/nginx/upstream.conf.in; --plain: plain HTTP) and wrk as
# the client.
# Targets run interleaved, in rounds; the medians go into a Markdown table printed at the end
# and written to bench/results/, with, for each proxy-like target, its ratio to a reference target
# (nginx) taken round by round: median and min-max over the rounds, "better" or "worse" only when
# every round agrees. Every response is checked (2xx, exact body length): a target with a wrong
# answer fails the run.
#
# usage: bench/run.sh [--quick] [--rounds N] [--duration SECONDS] [--targets "direct nginx yarp proxy"]
#                     [--proxy-jit] [--proxy-env "NAME=VALUE ..."] [--wait-quiet SECONDS] [--baseline REF]
#                     [--reference TARGET] [--plain] [--scenarios "keepalive-64 ..."]
#   --quick      one round of short runs; fits in two minutes once the builds are cached
#   --proxy-jit  measure a framework-dependent (JIT) build of the proxy instead of Native AOT,
#                for when the AOT publish does not work yet; the table says so
#   --proxy-env  extra environment for the proxy (runtime knobs such as DOTNET_gcConcurrent=1,
#                to try one without a rebuild); the table names them
#   --wait-quiet first wait up to SECONDS for the machine to be idle (under 10 % busy), for
#                shared machines where builds and tests come and go
#   --baseline   the git commit (or branch, tag) that proxy-base is built from: its tree exported to
#                ~/.cache/ollama-socket-proxy-bench/baseline/ (BENCH_BASELINE_DIR), published to its own
#                folder; adds proxy-base to the targets
#   --reference  the target the per-round ratios divide by (default nginx; e.g. proxy-base)
#   --scenarios  only these of the throughput scenarios (keepalive-64 keepalive-256 close-16 body16k-64), for
#                more rounds of one comparison in the same time
#   --plain      the upstreams (nginx and the streaming one) serve plain HTTP, and every target forwards
#                to them over plain HTTP: the proxies' own work without the upstream TLS
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH")
WORK=$BENCH/.work
RESULTS=$BENCH/results

ROUNDS=3
DURATION=15
WARMUP=5
STARTUP_RUNS=5
STREAM_RUNS=3
TARGETS="direct nginx yarp proxy"
QUICK=0
PROXY_BUILD=aot
PROXY_ENV=""
WAIT_QUIET=0
BASELINE=""
REFERENCE=nginx
PLAIN=0
SCENARIO_LIST=""
COMMAND_LINE="bench/run.sh $*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1; ROUNDS=1; DURATION=3; WARMUP=2; STARTUP_RUNS=3; STREAM_RUNS=2 ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --targets) TARGETS=$2; shift ;;
    --proxy-jit) PROXY_BUILD=jit ;;
    --proxy-env) PROXY_ENV=$2; shift ;;
    --wait-quiet) WAIT_QUIET=$2; shift ;;
    --baseline) BASELINE=$2; shift ;;
    --reference) REFERENCE=$2; shift ;;
    --plain) PLAIN=1 ;;
    --scenarios) SCENARIO_LIST=$2; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
# --baseline without proxy-base in --targets: measure it beside the rest.
[[ -z $BASELINE || " $TARGETS " == *" proxy-base "* ]] || TARGETS="$TARGETS proxy-base"

# Scenarios: name, connections, path, extra wrk header.
SCENARIOS=(keepalive-64 keepalive-256 close-16 body16k-64)
if [[ -n $SCENARIO_LIST ]]; then
  for s in $SCENARIO_LIST; do
    [[ " ${SCENARIOS[*]} " == *" $s "* ]] || { echo "run.sh: unknown scenario $s (${SCENARIOS[*]})" >&2; exit 2; }
  done
  read -ra SCENARIOS <<<"$SCENARIO_LIST"
fi
declare -A SC_CONNS=([keepalive-64]=64 [keepalive-256]=256 [close-16]=16 [body16k-64]=64)
declare -A SC_PATH=([keepalive-64]=/api/chat [keepalive-256]=/api/chat [close-16]=/api/chat [body16k-64]=/api/big)
declare -A SC_CLOSE=([keepalive-64]=0 [keepalive-256]=0 [close-16]=1 [body16k-64]=0)
STREAMS=50
STREAM_CHUNKS=50
STREAM_INTERVAL_MS=20
IDLE_CONNECTIONS=1000

# Ports on 127.0.0.1 only. The stream upstream gets its own instance of every proxy.
UPSTREAM_PORT=18443
STREAM_UPSTREAM_PORT=18444
declare -A PORT=([nginx]=18081 [yarp]=18082 [proxy]=18083 [proxy-nousage]=18084 [proxy-base]=18085 [haproxy]=18086)
declare -A STREAM_PORT=([nginx]=18181 [yarp]=18182 [proxy]=18183 [proxy-nousage]=18184 [proxy-base]=18185 [haproxy]=18186)
# The upstreams' scheme, and the word that makes nginx's listener TLS.
UPSTREAM_SCHEME=https
UPSTREAM_SSL=ssl
if ((PLAIN)); then UPSTREAM_SCHEME=http; UPSTREAM_SSL=""; fi
TOKEN=bench-client-token-0123456789
UPSTREAM_KEY=bench-upstream-key-9876543210
CLK_TCK=$(getconf CLK_TCK)
# Builds leave no MSBuild or compiler servers running behind the script.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 UseSharedCompilation=false

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Processes: everything started is recorded here and stopped on exit, whatever happens.
declare -A STARTED=()
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_name() {
  local name=$1
  [[ -n "${STARTED[$name]:-}" ]] || return 0
  stop_pid "${STARTED[$name]}"
  unset "STARTED[$name]"
}
cleanup() {
  local name
  for name in "${!STARTED[@]}"; do stop_pid "${STARTED[$name]}"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { # PORT [TIMEOUT_S]: until a TCP connect succeeds, bounded
  local port=$1 tries=$(( ${2:-20} * 20 )) i
  for ((i = 0; i < tries; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# Tools, certificates, bodies, builds: each step does nothing when already done.
install_tools() {
  local missing=()
  command -v nginx >/dev/null || missing+=(nginx)
  command -v wrk >/dev/null || missing+=(wrk)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  command -v cc >/dev/null || missing+=(gcc)
  command -v node >/dev/null || missing+=(nodejs)
  if [[ " $TARGETS " == *" haproxy "* ]]; then command -v haproxy >/dev/null || missing+=(haproxy); fi
  if [[ " $TARGETS " == *" proxy"* && $PROXY_BUILD == aot ]]; then
    command -v clang >/dev/null || missing+=(clang)
    [[ -e /usr/include/zlib.h ]] || missing+=(zlib1g-dev)
  fi
  if ((${#missing[@]})); then
    log "installing ${missing[*]} (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$WORK/logs/apt.log" 2>&1 ||
      die "apt-get install ${missing[*]} failed: see $WORK/logs/apt.log"
  fi
  command -v dotnet >/dev/null || die "the .NET SDK is needed (dotnet)"
}

make_certificates() {
  local tls=$WORK/tls
  [[ -s $tls/localhost.crt && -s $tls/ca.crt ]] && return 0
  log "making the test CA and a certificate for localhost"
  mkdir -p "$tls"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=OllamaSocketProxy bench test CA" -keyout "$tls/ca.key" -out "$tls/ca.crt" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
    -keyout "$tls/localhost.key" -out "$tls/localhost.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$tls/localhost.ext"
  openssl x509 -req -in "$tls/localhost.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 825 -extfile "$tls/localhost.ext" -out "$tls/localhost.crt" 2>/dev/null
}

CHAT_BODY='{"model":"gpt-oss:120b","created_at":"2025-06-01T12:00:00.000000000Z","message":{"role":"assistant","content":"The sky looks blue because the air scatters the short blue wavelengths of sunlight much more than the long red ones, so blue light reaches the eye from every direction."},"done_reason":"stop","done":true,"total_duration":1843229875,"load_duration":28517209,"prompt_eval_count":14,"prompt_eval_duration":41823000,"eval_count":42,"eval_duration":1770561000}'
REQUEST_BODY='{"model":"gpt-oss:120b","messages":[{"role":"user","content":"Why is the sky blue?"}],"stream":false}'
BIG_LEN=16384
make_bodies() {
  mkdir -p "$WORK/www"
  printf '%s' "$REQUEST_BODY" >"$WORK/request.json"
  # 16 KiB of valid JSON: a long "content" string padded to the exact size.
  local head='{"model":"gpt-oss:120b","message":{"role":"assistant","content":"' tail='"},"done":true}'
  local pad=$((BIG_LEN - ${#head} - ${#tail}))
  { printf '%s' "$head"; head -c "$pad" /dev/zero | tr '\0' 'x'; printf '%s' "$tail"; } >"$WORK/www/big.json"
}

# True when FILE is missing or older than any file under the given paths (bin/ and obj/ aside).
stale() {
  local file=$1; shift
  [[ -e $file ]] || return 0
  [[ -n $(find "$@" \( -name bin -o -name obj \) -prune -o -type f -newer "$file" -print -quit 2>/dev/null) ]]
}

build_yarp() {
  local out=$WORK/yarp
  stale "$out/YarpPeer.dll" "$BENCH/yarp" || return 0
  log "building the YARP peer (bench/yarp)"
  dotnet publish "$BENCH/yarp/YarpPeer.csproj" -c Release -o "$out" --artifacts-path "$WORK/artifacts/yarp" \
    >"$WORK/logs/yarp-publish.log" 2>&1 || die "YARP build failed: see $WORK/logs/yarp-publish.log"
}

# Publishes src/Listener of the source tree SRC to OUT (Native AOT, or framework-dependent with
# --proxy-jit), unless the binary there is newer than SRC's sources, and sets LISTENER_BIN to it, started
# under the name LINK: a symlink, so a broad `pkill OllamaSocketProxy` by other work on a shared machine (a
# test run cleaning up) does not end the benchmark's instances halfway. Returns 1, saying why, without one.
LISTENER_BIN=""
publish_listener() { # SRC OUT ARTIFACTS LINK WHAT
  local src=$1 out=$2 artifacts=$3 link=$4 what=$5
  local csproj=$src/src/Listener/Listener.csproj publish_log=$WORK/logs/$what-publish-$PROXY_BUILD.log
  LISTENER_BIN=""
  [[ -e $csproj ]] || { log "no src/Listener/Listener.csproj in $src: skipping the $what target"; return 1; }
  if [[ $PROXY_BUILD == aot ]]; then
    if stale "$out/OllamaSocketProxy" "$src/src" "$src/Directory.Build.props"; then
      log "publishing $what as Native AOT ($src/src/Listener)"
      if ! dotnet publish "$csproj" -c Release -r linux-x64 -p:PublishAot=true -o "$out" \
          --artifacts-path "$artifacts" >"$publish_log" 2>&1; then
        log "the Native AOT publish of $what failed; its warnings and errors:"
        grep -E ': (warning|error) ' "$publish_log" | sed 's/ \[.*\]$//' | sort -u | head -40 >&2 || true
        log "skipping the $what target (full log: $publish_log; --proxy-jit measures a JIT build)"
        return 1
      fi
      if grep -qE ': warning ' "$publish_log"; then
        log "the Native AOT publish of $what succeeded with warnings:"
        grep -E ': warning ' "$publish_log" | sed 's/ \[.*\]$//' | sort -u | head -40 >&2
      fi
    fi
  elif stale "$out/OllamaSocketProxy.dll" "$src/src" "$src/Directory.Build.props"; then
    log "building $what framework-dependent (JIT), $src/src/Listener"
    # The project publishes Native AOT by default: the JIT build has to say it is not one.
    dotnet publish "$csproj" -c Release -p:PublishAot=false -o "$out" --artifacts-path "$artifacts" \
      >"$publish_log" 2>&1 || { log "the build of $what failed: see $publish_log; skipping it"; return 1; }
  fi
  [[ -x $out/OllamaSocketProxy ]] || { log "no $out/OllamaSocketProxy after the build: skipping the $what target"; return 1; }
  ln -sf OllamaSocketProxy "$out/$link"
  LISTENER_BIN=$out/$link
}

PROXY_BIN=""
PROXY_LABEL=proxy
build_proxy() {
  local out=$WORK/proxy
  [[ $PROXY_BUILD == aot ]] || out=$WORK/proxy-jit
  publish_listener "$REPO" "$out" "$WORK/artifacts/proxy-$PROXY_BUILD" bench-proxy proxy || return 1
  PROXY_BIN=$LISTENER_BIN
  PROXY_LABEL=proxy
  [[ $PROXY_BUILD == aot ]] || PROXY_LABEL="proxy (JIT)"
  [[ -z $PROXY_ENV ]] || PROXY_LABEL="$PROXY_LABEL ($PROXY_ENV)"
}

# proxy-base: the proxy built the same way from another commit (--baseline REF): its tree exported
# (git archive) outside the repository, so that no second copy of the projects lies under it (BenchmarkDotNet
# and other tools that search the tree would find two), and kept, and reused while it is at that commit.
BASE_BIN=""
BASE_LABEL=proxy-base
BASE_COMMIT=""
BASE_ROOT=${BENCH_BASELINE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ollama-socket-proxy-bench/baseline}
# Exports the tree of commit SHA to DIR, with PATCH applied when given, unless DIR holds that export (of that
# patch's content) already.
export_commit() { # SHA DIR [PATCH]
  local sha=$1 dir=$2 patch=${3:-} key=$1
  [[ -z $patch ]] || key="$sha $(sha256sum <"$patch" | cut -c1-16)"
  [[ $(cat "$dir/.bench-commit" 2>/dev/null) != "$key" ]] || return 0
  log "exporting ${sha:0:12}${patch:+ with $patch} to $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  git -C "$REPO" archive "$sha" | tar -x -C "$dir" || die "git archive of ${sha:0:12} failed"
  if [[ -n $patch ]]; then
    # Applied as a plain patch: with a work tree around DIR (a dotfiles repository in $HOME), git apply would
    # take paths as that tree's and apply nothing. The reverse check proves it took.
    (cd "$dir" && GIT_CEILING_DIRECTORIES=${dir%/*} git apply "$patch" && GIT_CEILING_DIRECTORIES=${dir%/*} git apply -R --check "$patch") ||
      die "$patch does not apply to ${sha:0:12}: bring it up to date"
  fi
  echo "$key" >"$dir/.bench-commit"
}

build_baseline() {
  local sha dir
  sha=$(git -C "$REPO" rev-parse --verify --quiet "$BASELINE^{commit}") || die "--baseline $BASELINE: no such commit"
  BASE_COMMIT=$sha
  dir=$BASE_ROOT/${sha:0:12}
  export_commit "$sha" "$dir"
  publish_listener "$dir" "$WORK/proxy-base/${sha:0:12}-$PROXY_BUILD" "$WORK/artifacts/proxy-base-${sha:0:12}-$PROXY_BUILD" \
    bench-proxy-base "proxy-base" || return 1
  BASE_BIN=$LISTENER_BIN
  local short; short=$(git -C "$REPO" rev-parse --short "$sha")
  BASE_LABEL="proxy-base ($BASELINE)"
  [[ $sha == "$BASELINE"* ]] || BASE_LABEL="proxy-base ($BASELINE, $short)"
  [[ $PROXY_BUILD == aot ]] || BASE_LABEL="$BASE_LABEL (JIT)"
  [[ -z $PROXY_ENV ]] || BASE_LABEL="$BASE_LABEL ($PROXY_ENV)"
}

# For the scripts that source this one (profile.sh, pair.sh, hooks.sh): one wrk run of SCENARIO against TARGET, as
# run_wrk makes it, printing only post.lua's BENCH line; a run that gives none stops the script with what wrk said.
scenario_wrk() { # TARGET SCENARIO SECONDS
  local target=$1 scenario=$2 seconds=$3 expect extra=() out
  if [[ ${SC_PATH[$scenario]} == /api/big ]]; then expect=$BIG_LEN; else expect=${#CHAT_BODY}; fi
  [[ ${SC_CLOSE[$scenario]} == 1 ]] && extra=(-H "Connection: close")
  out=$(BENCH_BODY_FILE=$WORK/request.json BENCH_TOKEN=$(token_of "$target") BENCH_EXPECT_LEN=$expect     wrk -t 2 -c "${SC_CONNS[$scenario]}" -d "${seconds}s" --timeout 10s -s "$BENCH/post.lua" "${extra[@]}"     "$(url_of "$target" "${SC_PATH[$scenario]}")" 2>&1) || true
  grep '^BENCH ' <<<"$out" || die "$target $scenario: wrk printed no result: $out"
}

# For the scripts that source this one (profile.sh, tail.sh): bench/.work, its run lock (they never overlap a
# run), tools, certificates and bodies.
prepare_side_run() {
  mkdir -p "$WORK"/{logs,run,tmp}
  exec 9>"$WORK/run.lock"
  flock -w 1200 9 || die "bench/run.sh is still running"
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  install_tools
  make_certificates
  make_bodies
}

# ---------------------------------------------------------------------------------------------
# Servers.
render() { # TEMPLATE OUT NAME LISTEN_PORT UPSTREAM_PORT
  sed -e "s|@WORK@|$WORK|g" -e "s|@NAME@|$3|g" -e "s|@LISTEN_PORT@|$4|g" -e "s|@UPSTREAM_PORT@|$5|g" \
      -e "s|@UPSTREAM_SCHEME@|$UPSTREAM_SCHEME|g" -e "s|@UPSTREAM_SSL@|$UPSTREAM_SSL|g" \
      -e "s|@TOKEN@|$TOKEN|g" -e "s|@UPSTREAM_KEY@|$UPSTREAM_KEY|g" -e "s|@CHAT_BODY@|$CHAT_BODY|g" "$1" >"$2"
}

start_upstreams() {
  render "$BENCH/nginx/upstream.conf.in" "$WORK/run/upstream.conf" upstream 0 "$UPSTREAM_PORT"
  nginx -t -q -c "$WORK/run/upstream.conf" -p "$WORK" 2>"$WORK/logs/upstream.check.log" ||
    die "upstream nginx config: $(cat "$WORK/logs/upstream.check.log")"
  nginx -c "$WORK/run/upstream.conf" -p "$WORK" >>"$WORK/logs/upstream.log" 2>&1 &
  STARTED[upstream]=$!
  local cert=$WORK/tls/localhost.crt key=$WORK/tls/localhost.key
  if ((PLAIN)); then cert=-; key=-; fi
  node "$BENCH/node/stream-upstream.js" "$STREAM_UPSTREAM_PORT" "$cert" "$key" \
    "$UPSTREAM_KEY" "$STREAM_CHUNKS" "$STREAM_INTERVAL_MS" >>"$WORK/logs/stream-upstream.log" 2>&1 &
  STARTED[stream-upstream]=$!
  wait_port "$UPSTREAM_PORT" || die "the upstream nginx did not start: $WORK/logs/upstream.log"
  wait_port "$STREAM_UPSTREAM_PORT" || die "the stream upstream did not start: $WORK/logs/stream-upstream.log"
}

# Prints the command line that starts TARGET on LISTEN_PORT in front of UPSTREAM_PORT (the
# environment goes through `env`, so the same line serves the start-up timer).
target_command() {
  local target=$1 port=$2 upstream_port=$3 instance=$4
  case $target in
    nginx)
      render "$BENCH/nginx/proxy.conf.in" "$WORK/run/$instance.conf" "$instance" "$port" "$upstream_port"
      echo nginx -c "$WORK/run/$instance.conf" -p "$WORK" ;;
    haproxy)
      # -db: in the foreground, one process (no master-worker).
      render "$BENCH/haproxy/haproxy.cfg.in" "$WORK/run/$instance.cfg" "$instance" "$port" "$upstream_port"
      echo haproxy -db -f "$WORK/run/$instance.cfg" ;;
    yarp)
      echo env "YARP_LISTEN=127.0.0.1:$port" "YARP_UPSTREAM_URL=$UPSTREAM_SCHEME://localhost:$upstream_port" \
        "YARP_UPSTREAM_CA_FILE=$WORK/tls/ca.crt" "YARP_AUTH_TOKEN=$TOKEN" "YARP_UPSTREAM_KEY=$UPSTREAM_KEY" \
        "$WORK/yarp/YarpPeer" ;;
    proxy|proxy-nousage|proxy-base)
      # The admin listener on a port of its own choosing: several instances run at once. proxy-base gets
      # the same environment; a build from before the usage database warns about the two variables it
      # does not know, and runs as it always did.
      local usage="PROXY_USAGE_DB=$WORK/run/$instance-usage.db PROXY_ADMIN_LISTEN=127.0.0.1:0" bin=$PROXY_BIN
      [[ $target != proxy-nousage ]] || usage="PROXY_USAGE_DB=off PROXY_ADMIN_LISTEN=off"
      [[ $target != proxy-base ]] || bin=$BASE_BIN
      # The pool keeps idle upstream connections as long as nginx's (keepalive_timeout 300s in proxy.conf.in): with
      # the default 50 s, a round of four targets outlasted it, and every keep-alive-256 run then opened about 200 TLS
      # connections while it was timed (BENCHMARKS.md, "Speed, second round").
      # $usage and $PROXY_ENV are lists of NAME=VALUE words.
      # shellcheck disable=SC2086
      echo env "OLLAMA_API_KEY=$UPSTREAM_KEY" "PROXY_AUTH_TOKEN=$TOKEN" "PROXY_LISTEN=127.0.0.1:$port" \
        "OLLAMA_UPSTREAM_URL=$UPSTREAM_SCHEME://localhost:$upstream_port" "OLLAMA_UPSTREAM_CA_FILE=$WORK/tls/ca.crt" \
        PROXY_ACCESS_LOG=false PROXY_UPSTREAM_PREWARM=16 PROXY_UPSTREAM_POOL_IDLE_TIMEOUT=300 $usage $PROXY_ENV "$bin" ;;
  esac
}

start_target() { # TARGET PORT UPSTREAM_PORT INSTANCE
  local target=$1 port=$2 instance=$4 cmd
  read -ra cmd <<<"$(target_command "$@")"
  # The run/ directory has no .env file, so nothing but this environment configures the proxy.
  (cd "$WORK/run" && exec "${cmd[@]}") >>"$WORK/logs/$instance.log" 2>&1 &
  STARTED[$instance]=$!
  wait_port "$port" 30 || die "$target did not start listening on $port: see $WORK/logs/$instance.log"
}

# Stops the run with a clear message when an instance is gone (crashed, or killed by something else).
require_alive() { # INSTANCE
  kill -0 "${STARTED[$1]}" 2>/dev/null && return 0
  local rc=0; wait "${STARTED[$1]}" 2>/dev/null || rc=$?
  unset "STARTED[$1]"
  die "$1 is no longer running (exit status $rc); its log: $WORK/logs/$1.log"
}

# The processes whose CPU time and memory count for TARGET: nginx's master and its worker.
target_pids() {
  local pid=${STARTED[$1]} children
  children=$(pgrep -P "$pid" 2>/dev/null || true)
  echo "$pid ${children//$'\n'/ }"
}
cpu_ticks() { local p t=0; for p in "$@"; do t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done; echo "$t"; }
pss_kb() { local p t=0; for p in "$@"; do t=$((t + $(awk '$1 == "Pss:" {print $2}' "/proc/$p/smaps_rollup"))); done; echo "$t"; }
status_kb() { local field=$1 p t=0; shift; for p in "$@"; do t=$((t + $(awk -v f="$field:" '$1 == f {print $2}' "/proc/$p/status"))); done; echo "$t"; }
# "busy total" CPU ticks of the whole machine since boot: busy is user + nice + system time, so
# interrupt time (which the kernel charges to no process) is left out on both sides of the sum.
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat; }
reset_peak() { local p; for p in "$@"; do echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true; done; }
# The local ends of the established connections PID... hold to the upstream, sorted: the same list before and after a
# run tells how many connections (and so TLS handshakes) the target opened during it.
upstream_sockets() {
  local pids; pids=$(IFS='|'; echo "$*")
  ss -tnpH state established "( dport = :$UPSTREAM_PORT )" 2>/dev/null | grep -E "pid=($pids)," | awk '{print $3}' | sort || true
}

url_of() { # TARGET PATH
  if [[ $1 == direct ]]; then echo "$UPSTREAM_SCHEME://localhost:$UPSTREAM_PORT$2"; else echo "http://127.0.0.1:${PORT[$1]}$2"; fi
}
token_of() { if [[ $1 == direct ]]; then echo "$UPSTREAM_KEY"; else echo "$TOKEN"; fi; }

# Every target must do the job right before it is timed: the answer with the token, 401 without.
smoke_test() {
  local target=$1 url body code
  url=$(url_of "$target" /api/chat)
  body=$(curl -sS --max-time 10 --cacert "$WORK/tls/ca.crt" -H "Authorization: Bearer $(token_of "$target")" \
    -H 'Content-Type: application/json' --data-binary "@$WORK/request.json" "$url") ||
    die "$target: the smoke request failed"
  [[ $body == "$CHAT_BODY" ]] || die "$target: wrong /api/chat body: ${body:0:200}"
  [[ $target == direct ]] && return 0
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer wrong" \
    --data-binary "@$WORK/request.json" "$url")
  [[ $code == 401 ]] || die "$target: a wrong token got $code, not 401"
}

# ---------------------------------------------------------------------------------------------
# Measurements. Each appends one JSON object per line to $RAW.
RAW=""
FAILED=0

run_wrk() { # TARGET SCENARIO SECONDS ROUND (ROUND 0 = warm-up, not recorded)
  local target=$1 scenario=$2 seconds=$3 round=$4
  local conns=${SC_CONNS[$scenario]} path=${SC_PATH[$scenario]} expect extra=() pids=() out line
  if [[ $path == /api/big ]]; then expect=$BIG_LEN; else expect=${#CHAT_BODY}; fi
  [[ ${SC_CLOSE[$scenario]} == 1 ]] && extra=(-H "Connection: close")
  if [[ $target != direct ]]; then require_alive "$target"; read -ra pids <<<"$(target_pids "$target")"; fi
  local cpu0=0 cpu1=0 ours0 ours1 machine0 machine1 upstream_pids
  read -ra upstream_pids <<<"$(target_pids upstream)"
  local sockets0="" sockets1="" opened=null
  if ((${#pids[@]})); then reset_peak "${pids[@]}"; cpu0=$(cpu_ticks "${pids[@]}"); sockets0=$(upstream_sockets "${pids[@]}"); fi
  ours0=$(cpu_ticks "${upstream_pids[@]}")
  read -ra machine0 <<<"$(machine_ticks)"
  # wrk runs in a subshell that then prints its children's CPU time (cutime + cstime), i.e. wrk's
  # own; read with builtins only, since a forked helper would report its own children instead.
  out=$(BENCH_BODY_FILE=$WORK/request.json BENCH_TOKEN=$(token_of "$target") BENCH_EXPECT_LEN=$expect \
    wrk -t 2 -c "$conns" -d "${seconds}s" --timeout 10s -s "$BENCH/post.lua" "${extra[@]}" "$(url_of "$target" "$path")" 2>&1
    read -r stat <"/proc/$BASHPID/stat"; read -ra field <<<"${stat##*) }"; echo "WRKCPU $((field[13] + field[14]))") || true
  read -ra machine1 <<<"$(machine_ticks)"
  ours1=$(cpu_ticks "${upstream_pids[@]}")
  [[ $target == direct ]] || require_alive "$target"
  if ((${#pids[@]})); then
    cpu1=$(cpu_ticks "${pids[@]}"); sockets1=$(upstream_sockets "${pids[@]}")
    # Opened during the run and still open at its end (one closed meanwhile is not seen).
    opened=$(comm -13 <(echo "$sockets0") <(echo "$sockets1") | grep -c . || true)
  fi
  # Busy time of the machine that neither wrk, the upstream nor the target accounts for: other work.
  local wrk_ticks foreign
  wrk_ticks=$(awk '$1 == "WRKCPU" {print $2}' <<<"$out")
  foreign=$(( (machine1[0] - machine0[0]) - (ours1 - ours0) - (cpu1 - cpu0) - ${wrk_ticks:-0} ))
  foreign=$(awk -v f="$foreign" -v t=$((machine1[1] - machine0[1])) 'BEGIN { printf "%.1f", (t > 0 && f > 0) ? 100 * f / t : 0 }')
  line=$(grep '^BENCH ' <<<"$out" || true)
  if [[ -z $line ]]; then
    log "$target $scenario: wrk printed no result:"; echo "$out" >&2; FAILED=1; return 0
  fi
  ((round == 0)) && return 0
  declare -A r=()
  local kv
  for kv in ${line#BENCH }; do r[${kv%%=*}]=${kv#*=}; done
  local errors=$((r[err_connect] + r[err_read] + r[err_write] + r[err_timeout]))
  local hwm=null cpu_us=null
  if ((${#pids[@]})); then
    hwm=$(status_kb VmHWM "${pids[@]}")
    cpu_us=$(awk -v t=$((cpu1 - cpu0)) -v n="${r[requests]}" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }')
  fi
  local rps
  rps=$(awk -v n="${r[requests]}" -v us="${r[duration_us]}" 'BEGIN { printf "%.0f", n * 1e6 / us }')
  if ((r[bad] > 0 || errors > 0 || r[good] == 0)); then
    log "FAIL $target $scenario: ${r[bad]} wrong answers (last status ${r[bad_status]}), $errors socket errors"
    FAILED=1
  fi
  printf '{"kind":"wrk","round":%d,"scenario":"%s","target":"%s","requests":%d,"rps":%s,"p50_us":%d,"p99_us":%d,"cpu_us":%s,"hwm_kb":%s,"bad":%d,"errors":%d,"foreign_pct":%s,"upstream_opened":%s}\n' \
    "$round" "$scenario" "$target" "${r[requests]}" "$rps" "${r[p50_us]}" "${r[p99_us]}" "$cpu_us" "$hwm" "${r[bad]}" "$errors" "$foreign" "$opened" >>"$RAW"
  log "$(printf '%-7s %-14s %8s req/s  p50 %6.2f ms  p99 %6.2f ms  cpu %s us/req  bad %d  err %d  other work %s%%  upstream opened %s' \
    "$target" "$scenario" "$rps" "$(awk -v v="${r[p50_us]}" 'BEGIN{print v/1000}')" \
    "$(awk -v v="${r[p99_us]}" 'BEGIN{print v/1000}')" "$cpu_us" "${r[bad]}" "$errors" "$foreign" "$opened")"
}

run_streams() { # TARGET ROUND
  local target=$1 round=$2 url instance=stream-$1 out
  if [[ $target == direct ]]; then
    url="$UPSTREAM_SCHEME://localhost:$STREAM_UPSTREAM_PORT/api/chat"
  else
    start_target "$target" "${STREAM_PORT[$target]}" "$STREAM_UPSTREAM_PORT" "$instance"
    url="http://127.0.0.1:${STREAM_PORT[$target]}/api/chat"
  fi
  # A short warm-up on the same instance (JIT, pools), then the measured runs.
  node "$BENCH/node/stream-client.js" "$url" "$(token_of "$target")" 10 10 5 "$WORK/tls/ca.crt" >/dev/null 2>&1 || true
  local run
  for ((run = 1; run <= STREAM_RUNS; run++)); do
    out=$(node "$BENCH/node/stream-client.js" "$url" "$(token_of "$target")" "$STREAMS" "$STREAM_CHUNKS" \
      "$STREAM_INTERVAL_MS" "$WORK/tls/ca.crt" 2>&1) || true
    if [[ $out != '{'* || $out != *'"p99_us"'* ]]; then
      log "FAIL $target streaming: $out"; FAILED=1; continue
    fi
    if [[ $out != *'"bad":0,'* ]]; then log "FAIL $target streaming: $out"; FAILED=1; fi
    printf '{"kind":"stream","round":%d,"run":%d,"target":"%s","result":%s}\n' "$round" "$run" "$target" "$out" >>"$RAW"
    log "$(printf '%-7s streaming       %s' "$target" "$out")"
  done
  [[ $target != direct ]] && stop_name "$instance"
  return 0
}

# Idle RSS (fresh instance, after one request), RSS with 1,000 idle keep-alive client
# connections, and start-up time to the first accepted connection.
run_footprint() { # TARGET
  local target=$1 port=${PORT[$1]} instance=footprint-$1 pids idle loaded out i cmd
  start_target "$target" "$port" "$UPSTREAM_PORT" "$instance"
  curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $TOKEN" --data-binary "@$WORK/request.json" \
    "http://127.0.0.1:$port/api/chat" || true
  sleep 1
  require_alive "$instance"
  read -ra pids <<<"$(target_pids "$instance")"
  idle=$(status_kb VmRSS "${pids[@]}")
  local idle_pss; idle_pss=$(pss_kb "${pids[@]}")
  local fifo=$WORK/run/idle-conns.fifo
  rm -f "$fifo"; mkfifo "$fifo"
  node "$BENCH/node/idle-conns.js" "$port" "$TOKEN" "$IDLE_CONNECTIONS" <"$fifo" >"$WORK/run/idle-conns.out" 2>&1 &
  STARTED[idle-conns]=$!
  exec 4>"$fifo"
  for ((i = 0; i < 600; i++)); do
    grep -q '^ready' "$WORK/run/idle-conns.out" && break
    kill -0 "${STARTED[idle-conns]}" 2>/dev/null || break
    sleep 0.1
  done
  sleep 1
  require_alive "$instance"
  loaded=$(status_kb VmRSS "${pids[@]}")
  local loaded_pss; loaded_pss=$(pss_kb "${pids[@]}")
  out=$(cat "$WORK/run/idle-conns.out")
  exec 4>&-
  stop_name idle-conns
  rm -f "$fifo"
  stop_name "$instance"
  if [[ $out != "ready $IDLE_CONNECTIONS 0" ]]; then
    log "FAIL $target: $IDLE_CONNECTIONS idle connections: ${out:-no answer}"; FAILED=1
  fi

  local connect=() answer=()
  read -ra cmd <<<"$(target_command "$target" "$port" "$UPSTREAM_PORT" "$instance")"
  for ((i = 0; i < STARTUP_RUNS; i++)); do
    out=$(cd "$WORK/run" && "$WORK/startup" "$port" 20000 "$WORK/logs/$instance.log" -- "${cmd[@]}") ||
      { log "FAIL $target start-up: $out"; FAILED=1; break; }
    connect+=("$(sed -E 's/.*connect_ms=([0-9.]+).*/\1/' <<<"$out")")
    answer+=("$(sed -E 's/.*response_ms=([0-9.]+).*/\1/' <<<"$out")")
  done
  printf '{"kind":"footprint","target":"%s","idle_kb":%d,"loaded_kb":%d,"idle_pss_kb":%d,"loaded_pss_kb":%d,"processes":%d,"connect_ms":[%s],"answer_ms":[%s],"idle_result":"%s"}\n' \
    "$target" "$idle" "$loaded" "$idle_pss" "$loaded_pss" "${#pids[@]}" "$(IFS=,; echo "${connect[*]:-}")" "$(IFS=,; echo "${answer[*]:-}")" "$out" >>"$RAW"
  log "$(printf '%-7s idle %d KiB, with %d idle connections %d KiB, start-up to connect %s ms, to answer %s ms' \
    "$target" "$idle" "$IDLE_CONNECTIONS" "$loaded" "${connect[*]:-?}" "${answer[*]:-?}")"
}

# Percent of the machine's CPU busy over one second: other work running beside the benchmark
# (a build, a test run) skews every number, so the report states it.
background_busy() {
  local a b
  read -ra a </proc/stat; sleep 1; read -ra b </proc/stat
  local total=0 i
  for ((i = 1; i < ${#a[@]}; i++)); do total=$((total + b[i] - a[i])); done
  local idle=$(( (b[4] - a[4]) + (b[5] - a[5]) ))
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

# ---------------------------------------------------------------------------------------------
main() {
  mkdir -p "$WORK"/{logs,run,tmp} "$RESULTS"
  # One run at a time: two would share ports, builds and this directory, and break each other.
  exec 9>"$WORK/run.lock"
  if ! flock -n 9; then
    log "another bench/run.sh is running; waiting for it to finish (at most 20 minutes)"
    flock -w 1200 9 || die "another bench/run.sh is still running"
  fi
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  install_tools
  make_certificates
  make_bodies
  [[ -x $WORK/startup && $WORK/startup -nt $BENCH/tools/startup.c ]] || cc -O2 -o "$WORK/startup" "$BENCH/tools/startup.c"

  local targets=() t
  for t in $TARGETS; do
    case $t in
      direct|nginx|haproxy) targets+=("$t") ;;
      yarp) build_yarp; targets+=(yarp) ;;
      proxy|proxy-nousage) if [[ -n $PROXY_BIN ]] || build_proxy; then targets+=("$t"); fi ;;
      proxy-base)
        [[ -n $BASELINE ]] || die "the proxy-base target needs --baseline REF"
        if build_baseline; then targets+=(proxy-base); fi ;;
      *) die "unknown target $t" ;;
    esac
  done
  local proxies=() ; for t in "${targets[@]}"; do [[ $t != direct ]] && proxies+=("$t"); done
  # The reference of the per-round ratios must run (nginx by default: a run without it simply has no ratios).
  [[ $REFERENCE == nginx || " ${targets[*]} " == *" $REFERENCE "* ]] ||
    die "--reference $REFERENCE is not among the targets that run (${targets[*]})"

  # The commit measured: taken now, when the proxy was built (+dirty: src/ had uncommitted changes).
  local commit; commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
  [[ -z $(git -C "$REPO" status --porcelain -- src 2>/dev/null) ]] || commit+="+dirty"
  local stamp; stamp=$(date -u +%Y%m%dT%H%M%SZ)
  RAW=$RESULTS/$stamp.jsonl
  : >"$RAW"
  log "targets: ${targets[*]}; $ROUNDS round(s) of ${DURATION}s per scenario; raw results in $RAW"

  # With --wait-quiet: until three one-second samples in a row are under 10 % busy, or time is up.
  local busy_before quiet=0 waited=0; busy_before=$(background_busy)
  while ((waited < WAIT_QUIET)); do
    if ((busy_before < 10)); then quiet=$((quiet + 1)); else quiet=0; fi
    ((quiet < 3)) || break
    ((waited % 60)) || log "waiting for the machine to be quiet (${busy_before}% busy)"
    waited=$((waited + 1)); busy_before=$(background_busy)
  done
  ((busy_before < 10)) || log "warning: the machine is already ${busy_before}% busy with other work; the numbers will be skewed"
  start_upstreams

  # Footprint and start-up first, on fresh instances, before anything has run for long.
  for t in "${proxies[@]}"; do run_footprint "$t"; done

  for t in "${proxies[@]}"; do start_target "$t" "${PORT[$t]}" "$UPSTREAM_PORT" "$t"; done
  for t in "${targets[@]}"; do smoke_test "$t"; done
  log "warm-up (${WARMUP}s per target and path)"
  for t in "${targets[@]}"; do
    run_wrk "$t" keepalive-64 "$WARMUP" 0
    # Every pool grows to the largest scenario's 256 connections here, not in the first timed keep-alive-256 run.
    run_wrk "$t" keepalive-256 1 0
    run_wrk "$t" body16k-64 1 0
    run_wrk "$t" close-16 1 0
  done

  local round scenario i n=${#targets[@]}
  for ((round = 1; round <= ROUNDS; round++)); do
    log "round $round of $ROUNDS"
    for scenario in "${SCENARIOS[@]}"; do
      # Interleaved: each round starts the order at another target.
      for ((i = 0; i < n; i++)); do
        run_wrk "${targets[(i + round - 1) % n]}" "$scenario" "$DURATION" "$round"
      done
    done
    for ((i = 0; i < n; i++)); do run_streams "${targets[(i + round - 1) % n]}" "$round"; done
  done
  for t in "${proxies[@]}"; do stop_name "$t"; done
  stop_name upstream; stop_name stream-upstream
  local busy_after; busy_after=$(background_busy)
  ((busy_after < 10)) || log "warning: ${busy_after}% of the CPU was busy with other work right after the run"

  local meta=$RESULTS/$stamp.meta.json names
  names=$(IFS=,; echo "${targets[*]}")
  {
    printf '{"date":"%s","command":"%s","quick":%d,"rounds":%d,"duration_s":%d,' "$stamp" "$COMMAND_LINE" "$QUICK" "$ROUNDS" "$DURATION"
    printf '"cpu":"%s","cores":%d,"memory_gib":%d,"kernel":"%s","os":"%s",' \
      "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" "$(nproc)" \
      "$(awk '/MemTotal/ {printf "%d", $2 / 1048576 + 0.5}' /proc/meminfo)" "$(uname -r)" \
      "$(awk -F= '$1 == "PRETTY_NAME" { gsub(/"/, "", $2); print $2 }' /etc/os-release)"
    printf '"nginx":"%s","wrk":"%s","dotnet":"%s","node":"%s","commit":"%s","proxy_label":"%s",' \
      "$(nginx -v 2>&1 | sed 's|.*/||')" "$(dpkg-query -W -f='${Version}' wrk 2>/dev/null)" "$(dotnet --version)" \
      "$(node --version)" "$commit" "$PROXY_LABEL"
    printf '"haproxy":"%s",' "$(haproxy -v 2>/dev/null | awk 'NR == 1 { print $3 }' || true)"
    printf '"labels":{"proxy":"%s","proxy-base":"%s"},"baseline":"%s","baseline_commit":"%s","reference":"%s","plain":%d,' \
      "$PROXY_LABEL" "$BASE_LABEL" "$BASELINE" "$BASE_COMMIT" "$REFERENCE" "$PLAIN"
    printf '"busy_before":%d,"busy_after":%d,"targets":["%s"],"stream_runs":%d,"streams":%d,"stream_chunks":%d,"stream_interval_ms":%d,"idle_connections":%d,"chat_len":%d,"big_len":%d}\n' \
      "$busy_before" "$busy_after" "${names//,/\",\"}" "$((ROUNDS * STREAM_RUNS))" "$STREAMS" "$STREAM_CHUNKS" "$STREAM_INTERVAL_MS" "$IDLE_CONNECTIONS" \
      "${#CHAT_BODY}" "$BIG_LEN"
  } >"$meta"
  node "$BENCH/node/report.js" "$meta" "$RAW" >"$RESULTS/$stamp.md"
  cp "$RESULTS/$stamp.md" "$RESULTS/latest.md"
  echo
  cat "$RESULTS/$stamp.md"
  echo
  log "table written to $RESULTS/$stamp.md (and latest.md)"
  if ((FAILED)); then log "some target gave wrong answers or errors: the run FAILED"; exit 1; fi
}

# Sourced (bench/profile.sh uses these functions), it only defines them.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main
fi
