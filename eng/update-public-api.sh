#!/usr/bin/env bash
# Adds every new public symbol of the shipped libraries to their PublicAPI.Unshipped.txt
# (the PublicApiAnalyzers code fix, applied from the command line). Review the diff afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
for p in src/DivideAssemble/DivideAssemble.csproj src/DivideAssemble.Imaging/DivideAssemble.Imaging.csproj; do
  [ -f "$p" ] || continue
  dotnet format analyzers "$p" --diagnostics RS0016 RS0017 --severity info
done
