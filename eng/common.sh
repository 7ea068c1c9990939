# Sourced by the eng/ measurement scripts: strict mode, the repository root as working folder, the CLI built
# once (daad runs it), a work folder removed on exit, and how a shared data set's name becomes CLI arguments.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dotnet build src/DivideAssemble.Cli -c Release -v q -nologo >/dev/null
daad() { dotnet src/DivideAssemble.Cli/bin/Release/net10.0/daad.dll "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# set_args <set> [extra data args...]: sets data=(…) and common=(…) for a set of ../shared/data — mnistK is
# one-class MNIST with normal digit K at 32 px, 5 epochs, no flips; any other name is a texture folder in
# MVTec layout at the library defaults.
set_args() {
  local set=$1; shift
  if [[ $set == mnist* ]]; then
    data=(--data ../shared/data/mnist --format idx --normal-class "${set#mnist}" "$@"); common=(--image-size 32 --epochs 5 --no-flips)
  else
    data=(--data "../shared/data/textures/$set" --format mvtec "$@"); common=()
  fi
}

# train_seconds: reads `daad train` output on stdin, prints the training seconds it reports.
train_seconds() { sed -n 's/^trained [0-9]* epochs in \([0-9.]*\) s.*/\1/p'; }

# report_field <report.json> <field>: prints a number of an evaluation report (empty when it has none).
report_field() { sed -n "s/.*\"$2\": *\([0-9.]*\).*/\1/p" "$1" | head -1; }

# metric <report.json> <field>: the field to three decimals, for a table cell (empty when the report has none).
metric() {
  local value
  value=$(report_field "$1" "$2")
  if [[ -n $value ]]; then printf %.3f "$value"; fi
}
