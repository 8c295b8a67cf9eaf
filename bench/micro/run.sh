#!/usr/bin/env bash
# Runs the BenchmarkDotNet micro-benchmarks of the forwarding path (parse + rewrite, response relay, and one
# whole keep-alive request through the real proxy). Extra arguments go to BenchmarkDotNet, for example
#   bench/micro/run.sh --job short --filter '*RoundTrip*'
set -euo pipefail
cd "$(dirname "$0")/../.."
case " $* " in
  *" --filter "*) ;;
  *) set -- --filter '*' "$@" ;;
esac
exec dotnet run -c Release --project bench/micro/OllamaSocketProxy.Micro.csproj -- "$@"
