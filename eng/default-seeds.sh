#!/usr/bin/env bash
# Where the library defaults stand on the shared sets' test splits, per seed (reporting only: nothing is
# chosen from these numbers). Textures at the defaults (128 px, 20 epochs), digits 32 px, 5 epochs, no flips.
# Writes docs/results/default-seeds/<set>-seed<s>.json and prints one markdown row per run.
# Run from the repository root, alone on the machine: about 35 minutes on 2 cores for the default lists.
#   SETS="grass-subtle" SEEDS="1 2 3" eng/default-seeds.sh
source "$(dirname "$0")/common.sh"
out=docs/results/default-seeds
mkdir -p "$out"
echo "| set | seed | image AUROC | pixel AUROC | AUPRO | training s |"
echo "|---|---|---|---|---|---|"
for set in ${SETS:-burlap-colour grass grass-subtle mnist2 mnist3 mnist8}; do
  set_args "$set"
  for seed in ${SEEDS:-2 3}; do
    seconds=$(daad train "${data[@]}" "${common[@]}" --model daad --seed "$seed" --out "$work/m.daad" | train_seconds)
    report="$out/$set-seed$seed.json"
    daad eval --model "$work/m.daad" "${data[@]}" --report "$report" > /dev/null
    image=$(report_field "$report" imageAuroc); pixel=$(report_field "$report" pixelAuroc); aupro=$(report_field "$report" aupro)
    printf '| %s | %s | %.3f | %s | %s | %s |\n' "$set" "$seed" "$image" "${pixel:+$(printf %.3f "$pixel")}" "${aupro:+$(printf %.3f "$aupro")}" "$seconds"
  done
done
