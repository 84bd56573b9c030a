#!/usr/bin/env bash
# Record this machine's benchmark report in one run: the paper-size model (moadepth-vitb32) as
# FP32 and INT8 ONNX Runtime, model-only and pipeline on a synthetic 480x640 clip, accuracy on
# synthetic scenes, INT8-vs-FP32 agreement, and the torch-eager baseline of the same checkpoint;
# then the README's performance table is regenerated from the report. Then glass-to-depth latency
# on the clip replayed as a 30 FPS camera, FP32 and the cpu-int8 profile, into <device>/live.
#
#   benchmarks/record.sh                     # -> benchmarks/<device>/ (run on a quiet machine)
#   PRESET=moadepth-tiny ITERS=20 benchmarks/record.sh /tmp/bench-smoke   # a 1-minute smoke run
#
# The weights are random (no CLIP download): speed does not depend on them, and the accuracy
# columns then only show that the pipeline runs; the FP32/INT8 agreement is still meaningful.
set -euo pipefail
cd "$(dirname "$0")/.."

PRESET=${PRESET:-moadepth-vitb32}
ITERS=${ITERS:-100}
WARMUP=${WARMUP:-10}
BATCH=${BATCH:-1,4}
DATA=${DATA:-synthetic:16}
LIVE_FPS=${LIVE_FPS:-30}
LIVE_SECONDS=${LIVE_SECONDS:-40}
THREADS=${THREADS:-}   # e.g. THREADS=2: ONNX Runtime threads for the live run (default: its own)
WORK=${WORK:-runs/bench-$PRESET}
MDE="python -m moadepth_edge"
OUT=${1:-benchmarks/$(python -c 'from moadepth_edge.bench.system import device_slug, system_info; print(device_slug(system_info()))')}

mkdir -p "$WORK"
if [ ! -f "$WORK/ckpt/config.json" ]; then
  python - "$PRESET" "$WORK/ckpt" <<'PY'
import sys
import torch
from moadepth_edge.config import get_preset
from moadepth_edge.model import build_model
from moadepth_edge.model.checkpoint import save_checkpoint
torch.manual_seed(0)
save_checkpoint(build_model(get_preset(sys.argv[1]), pretrained=False), sys.argv[2])
PY
fi
[ -f "$WORK/model-fp32.onnx" ] || $MDE export "$WORK/ckpt" --out "$WORK" --name model
[ -f "$WORK/model-int8.onnx" ] || $MDE export "$WORK/ckpt" --out "$WORK" --name model --precision int8 \
  --calib synthetic:32 --int8-activations asymmetric
[ -f "$WORK/model-cpu-int8.onnx" ] || $MDE export "$WORK/ckpt" --out "$WORK" --name model-cpu \
  --profile cpu-int8 --calib "$DATA"
[ -f "$WORK/clip/rgb.mp4" ] || python -c \
  "from moadepth_edge.data.synthetic import write_clip; write_clip('$WORK/clip', n_frames=60)"

set +e  # a configuration that fails is in the report; still write the table
$MDE bench "$WORK/model-fp32.onnx" "$WORK/model-int8.onnx" --backend onnxruntime --batch "$BATCH" \
  --warmup "$WARMUP" --iters "$ITERS" --video "$WORK/clip/rgb.mp4" --data "$DATA" \
  --reference "$WORK/model-fp32.onnx" --baseline torch-eager --checkpoint "$WORK/ckpt" --out "$OUT"
rc=$?
$MDE bench "$WORK/model-fp32.onnx" "$WORK/model-cpu-int8.onnx" --backend onnxruntime ${THREADS:+--threads "$THREADS"} \
  --warmup "$WARMUP" --iters "$ITERS" --live-video "$WORK/clip/rgb.mp4" --live-fps "$LIVE_FPS" \
  --live-seconds "$LIVE_SECONDS" --out "$OUT/live"
live_rc=$?
set -e
if [ -z "${1:-}" ]; then
  $MDE bench --readme-table "$OUT/report.json" README.md
  [ "$live_rc" -ne 0 ] || $MDE bench --readme-live-table "$OUT/live/report.json" README.md
fi
[ "$rc" -ne 0 ] && exit $rc
exit $live_rc
