#!/usr/bin/env bash
# Flip averaging (ScoringOptions.FlipAveraging; docs/defaults.md, "Flip averaging"): each model scored with one view and with
# the mean of its views under the training's flips (four on the texture sets), on the validation split by default (every
# fifth training image held back, shown as it is and with a synthetic scratch or stain; the test folders are read only with
# SPLIT=test, reporting only). Flip averaging is a scoring option, so one trained model gives both rows: it is recalibrated
# on the normal images its training held back for each. Writes each evaluation's JSON to docs/results/flip-averaging/
# <set>-seed<s>[-hw<w>]-flips-<on|off>.json (-test- in the name with SPLIT=test) and prints markdown rows.
# MODELS=<folder> scores <set>-head16-seed<s>.daad from there (as eng/head-after.sh KEEP=<folder> writes them) at head weights 0
# and 0.5 instead of training: at w = 0 such a model scores exactly as the default model without a head, whose generator its
# generator is bit for bit. Without MODELS each set and seed trains the library default (about 3 minutes a model on 2 cores);
# MODEL=ae trains a plain AE the same way instead (files named <set>-ae…).
#   SETS="grass grass-subtle burlap-colour" SEEDS="1 2 3" eng/flip-averaging.sh
#   SPLIT=test MODEL=ae eng/flip-averaging.sh
#   MODELS=models SETS=grass eng/flip-averaging.sh
source "$(dirname "$0")/common.sh"
split=${SPLIT:-validation}
split_args=(--split validation); tag=""
if [[ $split == test ]]; then split_args=(); tag="-test"; fi
out=docs/results/flip-averaging
kind=${MODEL:-daad}
mkdir -p "$out"
echo "| set | seed | head weight | one view: image / pixel AUROC | flip averaging: image / pixel AUROC |"
echo "|---|---|---|---|---|"
for seed in ${SEEDS:-1 2 3}; do
  for set in ${SETS:-grass grass-subtle burlap-colour}; do
    set_args "$set" "${split_args[@]}"
    if [[ -n ${MODELS:-} ]]; then
      model=$MODELS/$set-head16-seed$seed.daad; weights=(0 0.5)
    else
      model=$work/m.daad; weights=(default)
      daad train "${data[@]}" "${common[@]}" --model "$kind" --seed "$seed" --out "$model" > /dev/null
    fi
    for w in "${weights[@]}"; do
      label=$set; if [[ $kind != daad ]]; then label=$set-$kind; fi
      name=$label$tag-seed$seed; weight_args=()
      if [[ $w != default ]]; then name=$name-hw$w; weight_args=(--head-weight "$w"); fi
      row="| $label | $seed | ${w/default/–} |"
      for flips in off on; do
        report="$out/$name-flips-$flips.json"
        daad eval --model "$model" "${data[@]}" --report "$report" "${weight_args[@]}" --flip-averaging "$flips" > /dev/null
        row="$row $(metric "$report" imageAuroc) / $(metric "$report" pixelAuroc) |"
      done
      echo "$row"
    done
  done
done
