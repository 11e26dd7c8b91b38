#!/usr/bin/env bash
# This project's best CIFAR-10 designs that fit a 2-core machine's hour, with the
# mid-size VGG-style CNN (batch-norm, 32-64-128 channels, global average pooling):
#   pretext   4-way rotation pre-training on all 50,000 training images (labels unused),
#             2 epochs of 200,000 examples (~30 min on one core); one model serves every
#             draw of labeled images
#   transfer  500 labels (3 class-balanced draws): the pretext backbone frozen under a new
#             head, then fine-tuned at 0.1x the head's rate; flips and crops
#   self      the transfer runs followed by two rounds of self-training (the 1,000 and
#             then 2,000 unlabeled images per class the model is surest of join the 500
#             labeled ones; 10 epochs each), the same 3 draws (~35-40 min each on one
#             core; 51.17 % mean test accuracy)
#   transfer150, self150
#             the same with 150 fine-tuning epochs instead of 50 (chosen on validation,
#             52.61 % against 49.46 % mean over the draws): 51.96 % mean test accuracy
#             without self-training (~27 min each, 3 runs on 2 cores), 53.24 % with it
#             (~57 min each); not in the default stages
#   pretext6, transfer150e6, self150e6
#             the pretext for 6 epochs instead of 2 (~2 h on two busy cores; pretext task
#             82.95 % against 65.8 %), the 150-epoch transfer from it, and that transfer
#             followed by self-training (the self stage's rounds); not in the default stages
#   scratch   the same 500-label draws from scratch, for comparison
#   full      all 45,000 training labels, flips and crops, 12 epochs (~45 min on one core)
#   wide-full the wide CNN (2 M parameters) on all labels, flips and crops, label
#             smoothing 0.2, 12 epochs (~100 min on two cores: 90.35 % test); not in the
#             default stages
#   air-full  the same blocks behind airbench's frozen 2x2 patch-whitening layer (from
#             5,000 training images), mirror-and-shift test views; not in the defaults
#   air-airbench  the same with airbench's training tricks: alternating flips and
#             2-pixel reflected shifts, identity-initialised convolutions, lookahead;
#             not in the defaults
#   air-lrwd  air-airbench at 2.5x the rate and 2.7x the decay (airbench's step and
#             decay per image at batch 128); not in the defaults
#   air-hp    air-airbench with airbench's hyper-parameters and batch-norm settings:
#             batch 1024, mean-loss rate 1.5, momentum 0.85, decay 1.33e-3, batch-norm
#             scales held at 1 and shifts at 64x the rate, outputs scaled by 1/9,
#             10 epochs (~75 min on one core); not in the defaults
#   air-hp-full  air-hp's settings on all 50,000 training images (--full: no validation,
#             the 10 epochs chosen on air-hp's validation, the last epoch kept; ~60 min
#             on two cores); not in the defaults
#   air-hp14, air-hp14-full
#             the same two with 14 epochs instead of 10 (~105 and ~115 min, one core
#             each, side by side); not in the defaults
#   student, student2000
#             500 labels (the 3 draws): the self150e6 models (which the stage needs) label
#             the draw's 44,500 other training images and the air CNN with air-hp's
#             settings trains on the 500 and the pseudo-labeled images it is surest of:
#             up to 4,450 per class for 6 epochs (student), or 2,000 per class for 12
#             (student2000; about the same number of steps); ~45 min each, one core;
#             not in the defaults
# Validation: the last 5,000 records of data_batch_5; each run reports TEST once.
# Usage: examples/experiments/cifar-best.sh [build-dir] [output-dir] [stage ...]
#        (stages: pretext transfer self transfer150 self150 pretext6 transfer150e6 self150e6
#        scratch full wide-full air-full air-airbench air-lrwd air-hp
#        air-hp-full air-hp14 air-hp14-full student student2000;
#        default pretext transfer self scratch full)
set -euo pipefail
build=${1:-build}
out=${2:-out/cifar-best}
shift 2 || shift $#
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(pretext transfer self scratch full)
bin=$build/examples
mkdir -p "$out"
. "$(dirname "$0")/common.sh" # run NAME COMMAND..., resumable
common=(--arch mid --cache "$build/cache")
pretext=$out/pretext-mid-rot4.dlsc
pretext6=$out/pretext-mid-rot4-e6.dlsc
# the air CNN with airbench's training (stages air-hp*, student*)
airbench=(--arch air --whiten 5000 --dirac --lookahead --cache "$build/cache" --augment airbench
  --smoothing 0.2 --tta-shift --batch 1024 --lr 1.5 --momentum 0.85 --wd 1.33e-3
  --bn-fixed-scale --bn-bias-rate 64 --logit-scale 0.1111)
for stage in "${stages[@]}"; do
  case $stage in
  pretext)
    [ -f "$pretext" ] || "$bin/dlsc-cifar-transfer" "${common[@]}" --pretext rot4 --pretext-all \
      --pretext-only --pretext-epochs 2 --save-pretext "$pretext" \
      --csv "$out/pretext-mid-rot4.csv" > "$out/pretext-mid-rot4.log" 2>&1
    grep "pretext:" "$out/pretext-mid-rot4.log" ;;
  pretext6)
    [ -f "$pretext6" ] || "$bin/dlsc-cifar-transfer" "${common[@]}" --pretext rot4 --pretext-all \
      --pretext-only --pretext-epochs 6 --save-pretext "$pretext6" \
      --csv "$out/pretext-mid-rot4-e6.csv" > "$out/pretext-mid-rot4-e6.log" 2>&1
    grep "pretext:" "$out/pretext-mid-rot4-e6.log" ;;
  transfer | transfer150 | transfer150e6)
    epochs=50 name=transfer500 from=$pretext
    [ "$stage" = transfer150 ] && epochs=150 name=transfer150-500
    [ "$stage" = transfer150e6 ] && epochs=150 name=transfer150e6-500 from=$pretext6
    for seed in 1 2 3; do
      run $name-$seed "$bin/dlsc-cifar-transfer" "${common[@]}" --labels 500 --seed $seed \
        --load-pretext "$from" --augment flip-crop --probe-epochs 10 \
        --finetune-epochs $epochs --out "$out/$name-$seed.dlsc" --csv "$out/$name-$seed.csv" \
        --confusion "$out/$name-$seed-confusion.csv"
    done ;;
  self | self150 | self150e6)
    epochs=50 name=self500 from=$pretext
    [ "$stage" = self150 ] && epochs=150 name=self150-500
    [ "$stage" = self150e6 ] && epochs=150 name=self150e6-500 from=$pretext6
    for seed in 1 2 3; do
      run $name-$seed "$bin/dlsc-cifar-transfer" "${common[@]}" --labels 500 --seed $seed \
        --load-pretext "$from" --augment flip-crop --probe-epochs 10 \
        --finetune-epochs $epochs --self-train 2 --pseudo 1000 --self-epochs 10 \
        --out "$out/$name-$seed.dlsc" --csv "$out/$name-$seed.csv" \
        --confusion "$out/$name-$seed-confusion.csv"
    done ;;
  scratch)
    for seed in 1 2 3; do
      run scratch500-$seed "$bin/dlsc-cifar-train" "${common[@]}" --labels 500 --seed $seed \
        --augment flip-crop --epochs 60 --run scratch500 --out "$out/scratch500-$seed.dlsc" \
        --csv "$out/scratch500-$seed.csv" --confusion "$out/scratch500-$seed-confusion.csv"
    done ;;
  full)
    run mid-full "$bin/dlsc-cifar-train" "${common[@]}" --augment flip-crop --epochs 12 --tta \
      --run mid-flipcrop --out "$out/mid-full.dlsc" --csv "$out/mid-full.csv" \
      --confusion "$out/mid-full-confusion.csv" ;;
  wide-full)
    run wide-full "$bin/dlsc-cifar-train" --arch wide --cache "$build/cache" --augment flip-crop \
      --epochs 12 --smoothing 0.2 --tta --run wide-flipcrop --out "$out/wide-full.dlsc" \
      --csv "$out/wide-full.csv" --confusion "$out/wide-full-confusion.csv" ;;
  air-full)
    run air-full "$bin/dlsc-cifar-train" --arch air --whiten 5000 --cache "$build/cache" \
      --augment flip-crop --epochs 12 --smoothing 0.2 --tta-shift --run air-flipcrop \
      --out "$out/air-full.dlsc" --csv "$out/air-full.csv" \
      --confusion "$out/air-full-confusion.csv" ;;
  air-airbench)
    run air-airbench "$bin/dlsc-cifar-train" --arch air --whiten 5000 --dirac --lookahead \
      --cache "$build/cache" --augment airbench --epochs 12 --smoothing 0.2 --tta-shift \
      --run airbench12 --out "$out/air-airbench.dlsc" --csv "$out/air-airbench.csv" \
      --confusion "$out/air-airbench-confusion.csv" ;;
  air-lrwd)
    run air-lrwd "$bin/dlsc-cifar-train" --arch air --whiten 5000 --dirac --lookahead \
      --cache "$build/cache" --augment airbench --epochs 12 --smoothing 0.2 --tta-shift \
      --lr 0.125 --wd 1.33e-3 --run lrwd --out "$out/air-lrwd.dlsc" \
      --csv "$out/air-lrwd.csv" --confusion "$out/air-lrwd-confusion.csv" ;;
  air-hp | air-hp14 | air-hp-full | air-hp14-full)
    epochs=10 name=air-hp split=() runname=faithful
    case $stage in *14*) epochs=14 name=air-hp14 runname=hp14 ;; esac
    case $stage in *-full) name=$name-full split=(--full) runname=${runname/faithful/hp}full ;; esac
    run "$name" "$bin/dlsc-cifar-train" "${airbench[@]}" --epochs $epochs \
      ${split[@]+"${split[@]}"} --run $runname \
      --out "$out/$name.dlsc" --csv "$out/$name.csv" --confusion "$out/$name-confusion.csv" ;;
  student | student2000)
    pseudo=4450 epochs=6 name=student
    [ "$stage" = student2000 ] && pseudo=2000 epochs=12 name=student2000
    for seed in 1 2 3; do
      run $name-$seed "$bin/dlsc-cifar-train" "${airbench[@]}" --epochs $epochs --labels 500 \
        --seed $seed --teacher "$out/self150e6-500-$seed.dlsc" --pseudo $pseudo --run $name \
        --out "$out/$name-$seed.dlsc" --csv "$out/$name-$seed.csv" \
        --confusion "$out/$name-$seed-confusion.csv"
    done ;;
  *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done
