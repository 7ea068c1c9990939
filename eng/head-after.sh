#!/usr/bin/env bash
# The discriminative head trained after the generator, on its frozen reconstructions (docs/synthetic-anomalies.md,
# "The head after the generator"): validation splits by default (every fifth training image held back, shown as it is and
# with a synthetic scratch or stain — families the training synthesis does not paint; the test folders are read
# only with SPLIT=test), at the library defaults (64 px, 100 generator epochs, then 100 head epochs) with a head of width 16. One model
# per set and seed, evaluated at head weight 0 (reconstruction alone: the generator is bit for bit that of a model
# without a head), 0.5 (the default: the two z-scored terms averaged, the maps mixed likewise) and 1 (the head's score alone).
# Writes each evaluation's JSON to docs/results/head-after/<set>-head16-seed<s>-hw<w>.json and prints markdown rows.
# Run from the repository root, one at a time on the machine (training seconds are reported): about 6 minutes a model on 2 cores.
# KEEP=<folder> keeps each model there as <set>-head16-seed<s>.daad (for eng/MapPooling, for example).
# SIZE=<px> EPOCHS=<n> train at another read size and length (the head for as many epochs; files then named
# <set>-s<px>e<n>-head16-…); HEAD_EPOCHS=<n> trains the head for n epochs instead (files <set>…-head16-h<n>-…); SPLIT=test evaluates on the test folder instead (reporting only), into docs/results/head-after-test.
#   SETS="grass grass-subtle" SEEDS="1 2 3" eng/head-after.sh
#   SIZE=128 EPOCHS=20 SETS=grass-subtle eng/head-after.sh
#   HEAD_EPOCHS=250 SETS="grass grass-subtle" eng/head-after.sh
source "$(dirname "$0")/common.sh"
split=${SPLIT:-validation}
out=docs/results/head-after
split_args=(--split validation)
if [[ $split == test ]]; then out=docs/results/head-after-test; split_args=(); fi
size_args=(); tag=""
if [[ -n ${SIZE:-} ]]; then size_args=(--image-size "$SIZE" --epochs "${EPOCHS:?EPOCHS is needed with SIZE}"); tag="-s${SIZE}e$EPOCHS"; fi
head_args=(--head-width "${WIDTH:-16}"); head_tag=""
if [[ -n ${HEAD_EPOCHS:-} ]]; then head_args+=(--head-epochs "$HEAD_EPOCHS"); head_tag="-h$HEAD_EPOCHS"; fi
mkdir -p "$out"
echo "| set | seed | head weight | image AUROC | pixel AUROC | training s |"
echo "|---|---|---|---|---|---|"
for seed in ${SEEDS:-1 2 3}; do
  for set in ${SETS:-grass grass-subtle burlap-colour}; do
    set_args "$set" "${split_args[@]}"
    model=$work/m.daad
    if [[ -n ${KEEP:-} ]]; then mkdir -p "$KEEP"; model=$KEEP/$set$tag-head${WIDTH:-16}$head_tag-seed$seed.daad; fi
    seconds=$(daad train "${data[@]}" "${common[@]}" --model daad "${size_args[@]}" --seed "$seed" "${head_args[@]}" --out "$model" | train_seconds)
    for w in 0 0.5 1; do
      report="$out/$set$tag-head${WIDTH:-16}$head_tag-seed$seed-hw$w.json"
      daad eval --model "$model" "${data[@]}" --report "$report" --head-weight "$w" > /dev/null
      echo "| $set | $seed | $w | $(metric "$report" imageAuroc) | $(metric "$report" pixelAuroc) | $seconds |"
    done
  done
done
