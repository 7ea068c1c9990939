#!/usr/bin/env bash
# Where the library defaults stand on the shared sets' test splits, per seed (reporting only: nothing is
# chosen from these numbers), with a plain AE trained the same way beside DAAD. Textures at the library
# defaults (64 px, 100 epochs), digits 32 px, 5 epochs, no flips.
# Writes docs/results/default-seeds/<set>[-ae]-seed<s>.json and prints one markdown row per run.
# Run from the repository root, alone on the machine: about 5 minutes per texture run (DAAD or AE) on 2 cores.
#   SETS="grass-subtle" SEEDS="1 2 3" MODELS="daad ae" eng/default-seeds.sh
source "$(dirname "$0")/common.sh"
out=docs/results/default-seeds
mkdir -p "$out"
echo "| set | model | seed | image AUROC | pixel AUROC | AUPRO | training s |"
echo "|---|---|---|---|---|---|---|"
for set in ${SETS:-burlap-colour grass grass-subtle mnist2 mnist3 mnist8}; do
  set_args "$set"
  for seed in ${SEEDS:-1 2 3}; do
    for model in ${MODELS:-daad ae}; do
      seconds=$(daad train "${data[@]}" "${common[@]}" --model "$model" --seed "$seed" --out "$work/m.daad" | train_seconds)
      tag=""; [[ $model != daad ]] && tag="-$model"
      report="$out/$set$tag-seed$seed.json"
      daad eval --model "$work/m.daad" "${data[@]}" --report "$report" > /dev/null
      image=$(report_field "$report" imageAuroc); pixel=$(report_field "$report" pixelAuroc); aupro=$(report_field "$report" aupro)
      printf '| %s | %s | %s | %.3f | %s | %s | %s |\n' "$set" "$model" "$seed" "$image" "${pixel:+$(printf %.3f "$pixel")}" "${aupro:+$(printf %.3f "$aupro")}" "$seconds"
    done
  done
done
