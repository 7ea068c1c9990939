#!/usr/bin/env bash
# Where the library defaults stand on the shared sets' test splits, per seed (reporting only: nothing is
# chosen from these numbers). Textures at the defaults (128 px, 20 epochs), digits 32 px, 5 epochs, no flips.
# Writes docs/results/default-seeds/<set>-seed<s>.json and prints one markdown row per run.
# Run from the repository root, alone on the machine: about 35 minutes on 2 cores for the default lists.
#   SETS="grass-subtle" SEEDS="1 2 3" eng/default-seeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/DivideAssemble.Cli -c Release -v q -nologo >/dev/null
daad() { dotnet src/DivideAssemble.Cli/bin/Release/net10.0/daad.dll "$@"; }
out=docs/results/default-seeds
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
echo "| set | seed | image AUROC | pixel AUROC | AUPRO | training s |"
echo "|---|---|---|---|---|---|"
for set in ${SETS:-burlap-colour grass grass-subtle mnist2 mnist3 mnist8}; do
  if [[ $set == mnist* ]]; then
    data=(--data ../shared/data/mnist --format idx --normal-class "${set#mnist}"); common=(--image-size 32 --epochs 5 --no-flips)
  else
    data=(--data "../shared/data/textures/$set" --format mvtec); common=()
  fi
  for seed in ${SEEDS:-2 3}; do
    seconds=$(daad train "${data[@]}" "${common[@]}" --model daad --seed "$seed" --out "$work/m.daad" | sed -n 's/^trained [0-9]* epochs in \([0-9.]*\) s.*/\1/p')
    report="$out/$set-seed$seed.json"
    daad eval --model "$work/m.daad" "${data[@]}" --report "$report" > /dev/null
    field() { sed -n "s/.*\"$1\": *\([0-9.]*\).*/\1/p" "$report" | head -1; }
    image=$(field imageAuroc); pixel=$(field pixelAuroc); aupro=$(field aupro)
    printf '| %s | %s | %.3f | %s | %s | %s |\n' "$set" "$seed" "$image" "${pixel:+$(printf %.3f "$pixel")}" "${aupro:+$(printf %.3f "$aupro")}" "$seconds"
  done
done
