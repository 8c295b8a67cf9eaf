#!/usr/bin/env bash
# What each request policy's hooks cost in place: the proxy built from a commit (HEAD by default) with
# bench/hooks.patch applied, which times the four hooks of every policy (request, response head, response body, end)
# with a timestamp pair and sums them per policy; loaded with one wrk scenario of bench/run.sh, round after round.
# Prints, per round and as the median of the rounds, the nanoseconds per request each policy spends in each hook
# (less the cost of a timestamp pair per call; "all" is the median of the rounds' sums), and the CPU and the bytes the
# whole proxy spends per request, for scale. A hook timed in place pays its cold caches and branch history, which a
# micro-benchmark's loop does not (BENCHMARKS.md, "Counting usage, seventh pass"). The figures are wall time inside
# the hooks: an interrupt or a preemption there counts too; the CPU per request is the instrumented build's.
#
# usage: bench/hooks.sh [--rounds N] [--seconds S] [--scenario keepalive-64|keepalive-256|close-16|body16k-64]
#                       [--commit REF] [--proxy-env "NAME=VALUE ..."]
# A commit's tree is measured (uncommitted changes are not); the patch must apply to it, or the script stops. The
# servers, certificates and bodies are bench/run.sh's own (sourced); like it, this takes bench/.work/run.lock.
set -euo pipefail

HOOKS_ROUNDS=5
HOOKS_SECONDS=10
HOOKS_SCENARIO=keepalive-64
HOOKS_COMMIT=HEAD
HOOKS_PROXY_ENV=""
while (($#)); do
  case $1 in
    --rounds) HOOKS_ROUNDS=$2; shift ;;
    --seconds) HOOKS_SECONDS=$2; shift ;;
    --scenario) HOOKS_SCENARIO=$2; shift ;;
    --commit) HOOKS_COMMIT=$2; shift ;;
    --proxy-env) HOOKS_PROXY_ENV=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "hooks.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

set --
# shellcheck source=run.sh
source "$(dirname "${BASH_SOURCE[0]}")/run.sh"
ROUNDS=$HOOKS_ROUNDS
SECONDS_RUN=$HOOKS_SECONDS
SCENARIO=$HOOKS_SCENARIO
PROXY_ENV=$HOOKS_PROXY_ENV
[[ -n ${SC_CONNS[$SCENARIO]:-} ]] || die "unknown scenario $SCENARIO (${SCENARIOS[*]})"
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $SECONDS_RUN =~ ^[1-9][0-9]*$ ]] || die "--rounds and --seconds take whole numbers above 0"
[[ $PROXY_BUILD == aot ]] || die "hooks.sh measures the Native AOT build only"
sha=$(git -C "$REPO" rev-parse --verify --quiet "$HOOKS_COMMIT^{commit}") || die "--commit $HOOKS_COMMIT: no such commit"

prepare_side_run
dir=${BASE_ROOT%/*}/hooks/${sha:0:12}
export_commit "$sha" "$dir" "$BENCH/hooks.patch"
publish_listener "$dir" "$WORK/proxy-hooks/${sha:0:12}" "$WORK/artifacts/proxy-hooks-${sha:0:12}" bench-proxy-hooks proxy-hooks ||
  die "no proxy-hooks build"
PROXY_BIN=$LISTENER_BIN
start_upstreams
: >"$WORK/logs/proxy-hooks.log"
start_target proxy "${PORT[proxy]}" "$UPSTREAM_PORT" proxy-hooks
read -ra procs <<<"$(target_pids proxy-hooks)"

# The patch prints its sums every 16384 requests: a round's figures come from the last line before it and the last
# line after it, so they cover a window that differs from the round's by less than two such lines.
last_hooks() { grep '^HOOKS ' "$WORK/logs/proxy-hooks.log" | tail -1 || true; }
scenario_wrk proxy "$SCENARIO" 2 >/dev/null  # warm-up: pools, page faults

rows=$WORK/run/hooks-rounds.txt
: >"$rows"
for ((r = 1; r <= ROUNDS; r++)); do
  before=$(last_hooks); cpu0=$(cpu_ticks "${procs[@]}")
  line=$(scenario_wrk proxy "$SCENARIO" "$SECONDS_RUN")
  cpu1=$(cpu_ticks "${procs[@]}"); after=$(last_hooks)
  require_alive proxy-hooks
  [[ -n $before && -n $after && $before != "$after" ]] || die "too few requests for a HOOKS line in round $r"
  requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  bad=$(sed -E 's/.* bad=([0-9]+).*/\1/' <<<"$line")
  ((bad == 0)) || die "round $r: $bad wrong answers"
  # One row per policy: round, policy, ns per request in each hook and in all four; then rows for the proxy's CPU ns,
  # allocated bytes and gen0 collections (per 100,000) per request.
  awk -v r="$r" -v cpu=$((cpu1 - cpu0)) -v hz="$CLK_TCK" -v n="$requests" -v before="$before" -v after="$after" '
    function parse(text, into,   i, f, kv) {
      split(text, f, " ")
      for (i = 2; i in f; i++) { split(f[i], kv, "="); into[kv[1]] = kv[2] }
    }
    BEGIN {
      parse(before, b); parse(after, a)
      reqs = a["requests"] - b["requests"]; ns = 1e9 / a["frequency"]
      pair = (a["timer"] - b["timer"]) * ns / reqs  # one timestamp pair per request
      for (name in a) {
        if (name ~ /^(requests|frequency|timer|allocated|gen0)$/) continue
        split(a[name], x, ","); split(b[name], y, ",")
        total = 0; out = ""
        for (h = 1; h <= 4; h++) {
          v = ((x[h] - y[h]) * ns - pair * (x[h + 4] - y[h + 4])) / reqs
          if (v < 0) v = 0
          total += v; out = out " " sprintf("%.0f", v)
        }
        printf "%d %s%s %.0f\n", r, name, out, total
      }
      printf "%d cpu %.0f\n", r, cpu * 1e9 / hz / n
      printf "%d allocated %.1f\n", r, (a["allocated"] - b["allocated"]) / reqs
      printf "%d gen0 %.2f\n", r, (a["gen0"] - b["gen0"]) * 100000 / reqs
    }' >>"$rows"
  awk -v r="$r" '$1 == r && NF == 7 && $7 > 0 { printf "%s %s: request %s head %s body %s end %s = %s ns;", (++k == 1 ? "round " r ":" : ""), $2, $3, $4, $5, $6, $7 }
    $1 == r && NF == 3 { v[$2] = $3 }
    END { printf " the proxy: %.1f us CPU, %.1f B allocated, %.2f gen0 collections per 100,000 requests\n", v["cpu"] / 1000, v["allocated"], v["gen0"] }' "$rows"
done

echo "$SCENARIO, $ROUNDS rounds of $SECONDS_RUN s, ${sha:0:12}${PROXY_ENV:+ ($PROXY_ENV)}; ns per request, median of the rounds (less a timestamp pair per call):"
sort -k2,2 -k1,1n "$rows" | awk '
  function median(list,   s, n, i, j, v) {
    n = split(list, s, " ")
    for (i = 2; i <= n; i++) { v = s[i] + 0; for (j = i - 1; j >= 1 && s[j] + 0 > v; j--) s[j + 1] = s[j]; s[j + 1] = v }
    return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
  }
  { key = $2; names[key] = 1; for (c = 3; c <= NF; c++) col[key, c] = col[key, c] " " $c }
  END {
    for (key in names) {
      if (key ~ /^(cpu|allocated|gen0)$/ || median(col[key, 7]) == 0) continue
      printf "  %-20s request %5.0f  head %5.0f  body %5.0f  end %5.0f  all %5.0f\n", key, median(col[key, 3]), median(col[key, 4]), median(col[key, 5]), median(col[key, 6]), median(col[key, 7])
    }
    printf "  the proxy, per request: %.1f us CPU, %.1f B allocated; %.2f gen0 collections per 100,000 requests\n", median(col["cpu", 3]) / 1000, median(col["allocated", 3]), median(col["gen0", 3])
  }'
