#!/usr/bin/env bash
# Fuzzes the src/Http1 parsers with SharpFuzz and AFL++ (README.md#fuzzing): builds fuzz/Http1.Fuzz.csproj,
# instruments OllamaSocketProxy.Http1.dll, and runs afl-fuzz on each target in turn, one at a time, niced.
# Installs what it needs (afl++ from Debian, SharpFuzz.CommandLine from NuGet) when it is missing.
#
# usage: fuzz/run.sh [--time SECONDS] [--execs N] [--targets "request-head chunked response-head"] [--resume]
#   --time     seconds of fuzzing per target (default 100: about five minutes for the three targets)
#   --execs    stop a target after about N executions instead (afl-fuzz -E); --time still bounds it
#   --targets  which targets to run, in order
#   --resume   continue from the queue of the previous run (fuzz/.work/findings) instead of the seed corpus
#
# Prints, per target, the executions done and every crash or hang with its stack trace (replayed in-process),
# minimized into fuzz/.work/crashes/. Exits 1 if any target found something, 2 on a usage or setup error.
set -euo pipefail

FUZZ=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$FUZZ/.work
SHARPFUZZ_VERSION=2.3.0
TIME=100
EXECS=
TARGETS="request-head chunked response-head"
RESUME=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --time) TIME=$2; shift ;;
    --execs) EXECS=$2; shift ;;
    --targets) TARGETS=$2; shift ;;
    --resume) RESUME=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $TIME =~ ^[0-9]+$ && $TIME -gt 0 ]] || { echo "run.sh: --time must be a number of seconds" >&2; exit 2; }
[[ -z $EXECS || $EXECS =~ ^[0-9]+$ ]] || { echo "run.sh: --execs must be a number" >&2; exit 2; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 UseSharedCompilation=false
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

# --- tools ----------------------------------------------------------------------------------------------------
if ! command -v afl-fuzz >/dev/null; then
  log "installing afl++ (Debian package)"
  if [[ $(id -u) -eq 0 ]]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq afl++ >/dev/null
fi
SHARPFUZZ=$WORK/tools/sharpfuzz
if [[ ! -x $SHARPFUZZ ]]; then
  log "installing SharpFuzz.CommandLine $SHARPFUZZ_VERSION into $WORK/tools"
  dotnet tool install SharpFuzz.CommandLine --version "$SHARPFUZZ_VERSION" --tool-path "$WORK/tools" >/dev/null
fi

# --- build and instrument -------------------------------------------------------------------------------------
# A fresh publish each time: sharpfuzz rewrites the assembly in place and must not instrument it twice.
BIN=$WORK/bin
PLAIN=$WORK/bin-plain
rm -rf "$BIN" "$PLAIN"
log "building the harness"
dotnet publish "$FUZZ/Http1.Fuzz.csproj" -c Release -o "$BIN" --artifacts-path "$WORK/artifacts" -nologo -v quiet >"$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log" >&2; exit 2; }
# Instrumented code writes coverage into afl-fuzz's shared memory, which exists only under afl-fuzz: replaying and
# minimizing use an uninstrumented copy.
cp -r "$BIN" "$PLAIN"
"$SHARPFUZZ" "$BIN/OllamaSocketProxy.Http1.dll" >/dev/null
HARNESS=("$(command -v dotnet)" "$BIN/Http1.Fuzz.dll")
REPLAY=(dotnet "$PLAIN/Http1.Fuzz.dll")

# The seeds must pass before fuzzing starts: a failing seed is a finding of its own.
for target in $TARGETS; do
  [[ -d $FUZZ/corpus/$target ]] || { echo "run.sh: no corpus for target $target" >&2; exit 2; }
  "${REPLAY[@]}" "$target" replay "$FUZZ/corpus/$target" >/dev/null \
    || { "${REPLAY[@]}" "$target" replay "$FUZZ/corpus/$target"; exit 1; }
done

# --- fuzz -----------------------------------------------------------------------------------------------------
# dotnet is not an AFL-instrumented binary (SharpFuzz reports coverage through the shared memory itself), the
# machine is shared (no CPU binding, nice), and the core pattern is not ours to change.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_FORKSRV_INIT_TMOUT=60000 AFL_QUIET=1
stat_of() { sed -n "s/^$2 *: *//p" "$1/default/fuzzer_stats" 2>/dev/null | head -n 1; }

found=0
total=0
summary=()
for target in $TARGETS; do
  out=$WORK/findings/$target
  before=0
  before_time=0
  if [[ $RESUME -eq 1 && -f $out/default/fuzzer_stats ]]; then
    before=$(stat_of "$out" execs_done)
    before_time=$(stat_of "$out" run_time)
    export AFL_AUTORESUME=1
    input=-
  else
    rm -rf "$out"
    unset AFL_AUTORESUME
    input=$FUZZ/corpus/$target
  fi
  mkdir -p "$out"
  limit=(-V "$TIME")
  [[ -n $EXECS ]] && limit+=(-E "$EXECS")
  log "fuzzing $target for ${TIME}s${EXECS:+ or $EXECS executions} (log: $out/afl.log)"
  status=0
  # -t: far above an execution (well under a millisecond); a hang ends the SharpFuzz process, so afl-fuzz stops.
  nice -n 10 timeout --kill-after=30 $((TIME + 120)) \
    afl-fuzz -i "$input" -o "$out" -x "$FUZZ/dict/http.dict" -t 2000 -m none "${limit[@]}" \
    -- "${HARNESS[@]}" "$target" >"$out/afl.log" 2>&1 || status=$?

  execs=$(( $(stat_of "$out" execs_done || echo 0) - before ))
  total=$((total + execs))
  crashes=$(find "$out/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
  hangs=$(find "$out/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
  line="$target: $execs executions in $(( $(stat_of "$out" run_time || echo 0) - before_time ))s ($(stat_of "$out" execs_per_sec)/s), corpus $(stat_of "$out" corpus_count), edges $(stat_of "$out" bitmap_cvg), crashes $crashes, hangs $hangs"
  if [[ $status -ne 0 ]]; then
    # Usually an uncatchable failure (stack overflow, a hang past -t): the input is the one in flight.
    line+=", afl-fuzz exited $status"
    tail -n 15 "$out/afl.log" >&2
    if [[ -f $out/default/.cur_input ]]; then
      mkdir -p "$out/default/crashes" && cp "$out/default/.cur_input" "$out/default/crashes/id:in-flight-when-afl-stopped"
      crashes=$((crashes + 1))
    fi
  fi
  summary+=("$line")
  log "$line"

  if [[ $((crashes + hangs)) -gt 0 ]]; then
    found=1
    mkdir -p "$WORK/crashes/$target"
    for input_file in "$out"/default/crashes/id:* "$out"/default/hangs/id:*; do
      [[ -f $input_file ]] || continue
      name=$(basename "$input_file" | tr ':,' '__')
      echo "--- $target: $(basename "$input_file")"
      "${REPLAY[@]}" "$target" replay "$input_file" || true
      "${REPLAY[@]}" "$target" minimize "$input_file" "$WORK/crashes/$target/$name.min" || true
    done
  fi
done

echo
echo "fuzzing summary (SharpFuzz $SHARPFUZZ_VERSION, $(afl-fuzz -h 2>&1 | grep -o 'afl-fuzz++[0-9a-z.]*' | head -n 1)):"
printf '  %s\n' "${summary[@]}"
echo "  total: $total executions, $([[ $found -eq 0 ]] && echo 'no finding' || echo "FINDINGS in $WORK/crashes")"
exit $found
