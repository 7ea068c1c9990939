#!/usr/bin/env bash
# Rewrites the PublicAPI.Unshipped.txt of every shipped library from its current public surface
# (the PublicApiAnalyzers code fixes RS0016/RS0017, applied from the command line). Review the diff afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
for p in src/DivideAssemble.Core/DivideAssemble.Core.csproj src/DivideAssemble/DivideAssemble.csproj src/DivideAssemble.Imaging/DivideAssemble.Imaging.csproj src/DivideAssemble.Reports/DivideAssemble.Reports.csproj src/DivideAssemble.Onnx/DivideAssemble.Onnx.csproj; do
  [ -f "$p" ] || continue
  dotnet format analyzers "$p" --diagnostics RS0016 RS0017 --severity info
done

# dotnet format does not delete entries of removed symbols (RS0017): delete the lines the build names.
dotnet build DivideAssemble.sln -c Release -p:WarningsNotAsErrors=RS0017 2>&1 \
  | grep -oE '[^ ]+PublicAPI\.Unshipped\.txt\([0-9]+,1\): (warning|error) RS0017' | sed -E 's/\(([0-9]+),1\).*/ \1/' | sort -u \
  | sort -k1,1 -k2,2nr | while read -r file line; do sed -i "${line}d" "$file"; done
