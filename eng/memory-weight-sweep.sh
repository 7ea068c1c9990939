#!/usr/bin/env bash
# The evidence behind MemoryInit.Auto and ScoringOptions.MemoryWeight (docs/defaults.md, "Memory distance"):
# one-class MNIST validation splits (the test split is never read), 32x32, 5 epochs, seeds 1 and 2.
# Per digit and seed: DAAD with uniformly started items (the earlier default), DAAD with items from
# training images scored at memory weights 0 ... 1 (one trained model, re-calibrated per weight), and AE.
# Prints one markdown row per digit and seed. Run from the repository root; about 20 minutes on 2 cores.
source "$(dirname "$0")/common.sh"
data=(--data ../shared/data/mnist --format idx --split validation)
common=(--image-size 32 --epochs 5 --no-flips)
auroc() { daad eval --model "$1" "${data[@]}" --normal-class "$2" --report "$work/r.json" "${@:3}" | sed -n 's/^image AUROC: //p'; }
echo "| digit | seed | AE | DAAD uniform items | items from samples, β = 0 | 0.25 | 0.5 | 0.75 | 1 |"
echo "|---|---|---|---|---|---|---|---|---|"
for seed in ${SEEDS:-1 2}; do
  for k in ${DIGITS:-0 2 3 5 8 9}; do
    daad train "${data[@]}" --normal-class "$k" "${common[@]}" --seed "$seed" --model ae --out "$work/ae.daad" >/dev/null
    daad train "${data[@]}" --normal-class "$k" "${common[@]}" --seed "$seed" --model daad --memory-init uniform --out "$work/uniform.daad" >/dev/null
    daad train "${data[@]}" --normal-class "$k" "${common[@]}" --seed "$seed" --model daad --memory-init samples --out "$work/samples.daad" >/dev/null
    row="| $k | $seed | $(auroc "$work/ae.daad" "$k") | $(auroc "$work/uniform.daad" "$k")"
    for b in 0 0.25 0.5 0.75 1; do row="$row | $(auroc "$work/samples.daad" "$k" --memory-weight "$b")"; done
    echo "$row |"
  done
done
