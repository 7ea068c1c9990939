#!/usr/bin/env bash
# The packaging test (run by .ci/run after the tests): packs every library package into a local feed, then,
# with an empty package cache of its own (so no stale copy of the same version is used) and outside the
# repository and its solution, builds and runs
#   Trainer — DivideAssemble + DivideAssemble.Imaging + libtorch: trains one epoch, scores, saves, exports ONNX;
#   Scorer  — DivideAssemble.Onnx + DivideAssemble.Imaging + ONNX Runtime: scores the .onnx, same scores;
#   Checks  — the README's dependency table against the nuspecs, a README per package, no local path in any
#             PDB, and no TorchSharp, libtorch, ScottPlot or HarfBuzz restored by the Scorer.
# Third-party packages come from the machine's package cache when it has them (the tests restored them),
# else from the machine's default source, which must be named nuget.org.  Usage: eng/packaging/run.sh [work folder]   (Linux x64)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
if [[ $# -ge 1 ]]; then work="$1"; else work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT; fi   # a folder of its own is removed at the end
mkdir -p "$work"
work="$(cd "$work" && pwd)"
shared_cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
version="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$repo/Directory.Build.props")"
start=$(date +%s)

echo "packing $version into $work/feed"
for p in DivideAssemble.Core DivideAssemble DivideAssemble.Onnx DivideAssemble.Imaging DivideAssemble.Reports; do
  dotnet pack "$repo/src/$p/$p.csproj" -c Release -o "$work/feed" --nologo -v quiet
done
ls "$work/feed"/*.nupkg > /dev/null
export NUGET_PACKAGES="$work/packages"   # from here on, an empty cache of the apps' own

mkdir -p "$work/apps"
cat > "$work/apps/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="packed" value="$work/feed" />
    <add key="cache" value="$shared_cache" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="packed"><package pattern="DivideAssemble*" /></packageSource>
    <packageSource key="cache"><package pattern="*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML
# Empty build props so nothing of the repository's build leaks into the apps.
echo '<Project />' > "$work/apps/Directory.Build.props"
echo '<Project />' > "$work/apps/Directory.Build.targets"
echo '<Project />' > "$work/apps/Directory.Packages.props"

project() { # name, package references...
  local name=$1; shift
  mkdir -p "$work/apps/$name"
  cp "$repo/eng/packaging/$name/Program.cs" "$work/apps/$name/"
  {
    echo '<Project Sdk="Microsoft.NET.Sdk">'
    echo '  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><Nullable>enable</Nullable><ImplicitUsings>enable</ImplicitUsings></PropertyGroup>'
    echo '  <ItemGroup>'
    for ref in "$@"; do echo "    <PackageReference Include=\"${ref%@*}\" Version=\"${ref#*@}\" />"; done
    echo '  </ItemGroup>'
    echo '</Project>'
  } > "$work/apps/$name/$name.csproj"
}
onnx_version="$(sed -n 's:.*Include="Microsoft.ML.OnnxRuntime" Version="\([^"]*\)".*:\1:p' "$repo/Directory.Packages.props")"
project Trainer "DivideAssemble@$version" "DivideAssemble.Imaging@$version" "libtorch-cpu-linux-x64@2.10.0"
project Scorer "DivideAssemble.Onnx@$version" "DivideAssemble.Imaging@$version" "Microsoft.ML.OnnxRuntime@$onnx_version"
project Checks

data="$repo/samples/Quickstart/data/grass64"
mkdir -p "$work/out"
dotnet run --project "$work/apps/Trainer" -c Release -- "$data" "$work/out"
dotnet run --project "$work/apps/Scorer" -c Release -- "$work/out/model.onnx" "$data" "$work/out/scores.tsv"
dotnet run --project "$work/apps/Checks" -c Release -- "$work/feed" "$repo/README.md" "$work/apps/Scorer/obj/project.assets.json"
echo "packaging test passed in $(( $(date +%s) - start )) s"
