#!/usr/bin/env bash
# The evidence behind the defaults of restoration training and the discriminative head (docs/synthetic-anomalies.md):
# validation splits only (every fifth training image held back, shown as it is and with a synthetic scratch or
# stain — defect families the training synthesis does not paint; the test folders are never read), seed 1.
# Textures at 128 px, 20 epochs (the library defaults when this ran; pinned); digits 32 px, 5 epochs, no flips. Per set and variant:
#   recon               reconstruction only (today's default)
#   restoration         trained to restore images with synthetic anomalies, no head
#   head16              + discriminative head of width 16, scored with head weight 0, 0.5 and 1 (one model)
#   restoration-head16  both
# The stored results were made before commit 10a2586, when the head trained in the generator's steps and restoration
# followed the head (check out 10a2586^ to repeat them); the head now trains after the generator (eng/head-after.sh).
# Writes each evaluation's JSON to docs/results/head-ablation/<set>-<variant>-hw<w>.json and prints markdown rows.
# Run from the repository root, one at a time on the machine (training seconds are reported): about 3 hours on 2 cores.
#   SETS="grass-subtle mnist8" VARIANTS="recon head16" eng/head-ablation.sh
#   SEED=2 SETS=burlap-colour VARIANTS="recon restoration" eng/head-ablation.sh    # files named *-seed2-*
#   EPOCHS=46 SETS=grass-subtle VARIANTS=restoration-head16 eng/head-ablation.sh   # textures only; files named *-e46-*
source "$(dirname "$0")/common.sh"
out=docs/results/head-ablation
mkdir -p "$out"
suffix=""
if [[ ${SEED:-1} != 1 ]]; then suffix="-seed$SEED"; fi
if [[ -n ${EPOCHS:-} ]]; then suffix="$suffix-e$EPOCHS"; fi
echo "| set | variant | head weight | image AUROC | pixel AUROC | training s |"
echo "|---|---|---|---|---|---|"
for set in ${SETS:-grass grass-subtle burlap-colour mnist2 mnist3 mnist8}; do
  set_args "$set" --split validation
  if [[ $set != mnist* ]]; then common+=(--image-size 128 --epochs "${EPOCHS:-20}"); fi
  for variant in ${VARIANTS:-recon restoration head16 restoration-head16}; do
    case $variant in
      recon) args=(--restoration off --head-width 0); weights=(default) ;;
      restoration) args=(--restoration on --head-width 0); weights=(default) ;;
      head16) args=(--restoration off --head-width 16); weights=(0 0.5 1) ;;
      restoration-head16) args=(--restoration on --head-width 16); weights=(0 0.5 1) ;;
      *) echo "unknown variant $variant" >&2; exit 2 ;;
    esac
    seconds=$(daad train "${data[@]}" "${common[@]}" --model daad --seed "${SEED:-1}" "${args[@]}" --out "$work/m.daad" | train_seconds)
    for w in "${weights[@]}"; do
      extra=(); [[ $w != default ]] && extra=(--head-weight "$w")
      report="$out/$set-$variant$suffix-hw$w.json"
      daad eval --model "$work/m.daad" "${data[@]}" --report "$report" "${extra[@]}" > /dev/null
      echo "| $set | $variant | ${w/default/–} | $(metric "$report" imageAuroc) | $(metric "$report" pixelAuroc) | $seconds |"
    done
  done
done
