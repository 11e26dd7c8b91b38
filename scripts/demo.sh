#!/usr/bin/env bash
# The main job: builds dlsc and runs it on the real data (../shared/data or $DLSC_DATA).
#  1. denoising: trains a mask model on the course recordings (protocol of the data
#     README), scores the held-out tail, denoises test_x_01/02 and draws spectrograms;
#     then shows the shipped general model (dlsc-model-info) and denoises with it,
#     whole-signal, streaming and with an attenuation limit, and streams with the
#     low-latency model;
#  2. CIFAR-10: trains the original tiny CNN for a few epochs, reports the test
#     accuracy once, and classifies a few test images with the saved model.
# Outputs land in out/demo. About 5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
dlsc_install_deps "${DLSC_BUILD_PACKAGES[@]}" gnuplot-nox

meson setup build --buildtype=release >/dev/null 2>&1 || meson setup --reconfigure build >/dev/null
ninja -C build
bin=build/examples
data=${DLSC_DATA:-../shared/data}
out=out/demo
mkdir -p "$out"

echo "== denoising: the course recordings"
$bin/dlsc-train-denoiser --course --preset fc-mask --epochs 12 --data "$data" \
  --out "$out/course.dlsc" --csv "$out/course.csv" --listen "$out"
$bin/dlsc-spectrogram -o "$out/spectrogram.png" --seconds 0:6 "$out/noisy_tail.wav=tail, noisy" \
  "$out/denoised_tail.wav=tail, denoised" "$out/clean_tail.wav=tail, clean"

echo "== denoising: the shipped general model"
$bin/dlsc-model-info models/dlsc-general.dlsc
$bin/dlsc-denoise "$data/speech/course/test_x_02.wav" "$out/general_test_x_02.wav"
$bin/dlsc-denoise --stream 160 "$data/speech/course/test_x_02.wav" "$out/general_stream_x_02.wav"
echo "== the same, at most 12 dB taken off: a quarter of the noise's amplitude stays"
$bin/dlsc-denoise --attenuation-limit 12 "$data/speech/course/test_x_02.wav" \
  "$out/general_limit12_x_02.wav"
echo "== the low-latency model, streamed in 10 ms chunks (32 ms latency)"
$bin/dlsc-denoise --low-latency --stream 160 "$data/speech/course/test_x_02.wav" \
  "$out/low_latency_stream_x_02.wav"

echo "== CIFAR-10: the original tiny CNN"
# rate 0.02: in 3 epochs at the default 0.05 the unnormalised tiny CNN sometimes stalls
# (validation, seeds 1-3: 44.3 / 49.0 / 50.2 % at 0.05, 50.9 / 49.6 / 50.8 % at 0.02) or
# dies (seed 2 of an earlier build: 10 %)
$bin/dlsc-cifar-train --arch tiny --epochs 3 --lr 0.02 --data "$data" --cache build/cache \
  --out "$out/tiny.dlsc" --csv "$out/tiny.csv" --confusion "$out/tiny-confusion.csv"
head -c $((3073 * 8)) build/cache/cifar-10-batches-bin/test_batch.bin > "$out/eight-test-images.bin"
$bin/dlsc-classify --model "$out/tiny.dlsc" "$out/eight-test-images.bin"
echo "outputs in $out"
