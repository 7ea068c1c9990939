#!/usr/bin/env bash
# `daad train --select --select-on` end to end on the shared texture sets (docs/synthetic-anomalies.md, "Choosing
# head or reconstruction on real defects you hold back"): the test images numbered 0 mod 3 (normal and defective)
# play the real defects a user held back; the other two thirds, with their masks, are the evaluation set the choice
# never sees. One head model (width 16) per set and seed, with the division and temperature given so that one
# network candidate is scored every way (residual × pooling × head weight) and kept as the final model. The
# selected model is evaluated as chosen and at head weights 0, 0.5 and 1.
# Writes docs/results/select-on/<set>-seed<s>{,-hw<w>}.json and the selection table <set>-seed<s>.selection.md,
# prints markdown rows. One at a time on the machine: about 7 minutes a set on 2 cores.
#   SETS="grass grass-subtle burlap-colour" SEEDS="1" eng/select-on.sh
source "$(dirname "$0")/common.sh"
out=docs/results/select-on
mkdir -p "$out"
echo "| set | seed | chosen | rest: chosen | rest: w = 0 | rest: w = 0.5 | rest: w = 1 | train + select s |"
echo "|---|---|---|---|---|---|---|---|"
for seed in ${SEEDS:-1}; do
  for set in ${SETS:-grass grass-subtle burlap-colour}; do
    src=../shared/data/textures/$set
    held=$work/$set/held
    rest=$work/$set/rest
    rm -rf "${work:?}/$set"
    mkdir -p "$held" "$rest/train" "$rest/test" "$rest/ground_truth"
    ln -s "$(realpath "$src/train/good")" "$rest/train/good"
    for folder in "$src"/test/*/; do
      kind=$(basename "$folder")
      mkdir -p "$held/$kind" "$rest/test/$kind"
      for image in "$folder"*.png; do
        name=$(basename "$image" .png)
        if (( 10#$name % 3 == 0 )); then
          ln -s "$(realpath "$image")" "$held/$kind/"
        else
          ln -s "$(realpath "$image")" "$rest/test/$kind/"
          if [[ $kind != good ]]; then
            mkdir -p "$rest/ground_truth/$kind"
            ln -s "$(realpath "$src/ground_truth/$kind/${name}_mask.png")" "$rest/ground_truth/$kind/"
          fi
        fi
      done
    done
    start=$(date +%s)
    daad train --data "$src" --format mvtec --seed "$seed" --head-width 16 --division 8,8,1 --temperature 0.1 \
      --select --select-on "$held" --out "$work/$set.daad" > "$work/train.log"
    seconds=$(( $(date +%s) - start ))
    sed "s|$work|<work>|g" "$work/$set.daad.selection.md" > "$out/$set-seed$seed.selection.md"
    chosen=$(sed -n 's/.*scored by \([a-z]*\( [0-9.]*\)\{0,1\}\) (.*/\1/p' "$work/train.log" | head -1)
    daad eval --model "$work/$set.daad" --data "$rest" --format mvtec --report "$out/$set-seed$seed.json" > /dev/null
    row="| $set | $seed | ${chosen:-?} | $(metric "$out/$set-seed$seed.json" imageAuroc)"
    for w in 0 0.5 1; do
      daad eval --model "$work/$set.daad" --data "$rest" --format mvtec --head-weight "$w" --report "$out/$set-seed$seed-hw$w.json" > /dev/null
      row="$row | $(metric "$out/$set-seed$seed-hw$w.json" imageAuroc)"
    done
    sed -i "s|$work|<work>|g" "$out/$set-seed$seed"*.json "$out/$set-seed$seed"*.md
    echo "$row | $seconds |"
  done
done
