#!/usr/bin/env bash
# Runs the BenchmarkDotNet micro-benchmarks of the forwarding path (parse + rewrite, response relay).
# Extra arguments go to BenchmarkDotNet, e.g. bench/micro/run.sh --job short
set -euo pipefail
cd "$(dirname "$0")/../.."
exec dotnet run -c Release --project bench/micro -- --filter '*' "$@"
