#!/usr/bin/env bash
# A Procgen learning run in parts of 1 M frames (REPRODUCE.md, "Procgen"):
# after each part the newest checkpoint is evaluated on the training levels
# and on the test levels, and both curves are exported to reproduce/curves/,
# named after the run directory (runs/procgen_starpilot gives
# procgen_starpilot.csv and procgen_starpilot_evaluations.csv).
# Run it again with the same arguments to go on where it stopped; a part
# already done is skipped. Flags after UNTIL_FRAMES go to every part's
# training command, e.g. a setting under study.
#
#   reproduce/procgen_parts.sh GAME RUN_DIR UNTIL_FRAMES [TRAIN_FLAG ...]
#   reproduce/procgen_parts.sh starpilot runs/procgen_starpilot 10000000 \
#       --config.discounting=0.999
#   reproduce/procgen_parts.sh starpilot runs/procgen_starpilot_discount0.99 \
#       6000000 --config.discounting=0.99
set -euo pipefail
game=$1 run=$2 until=$3
shift 3
curves="reproduce/curves/$(basename "$run")"
cd "$(dirname "$0")/.."
python=.venv/bin/python
for ((frames = 1000000; frames <= until; frames += 1000000)); do
  if [[ -f "$run/part_done_$frames" ]]; then continue; fi
  $python -m impala_tf.train --config="paper_configs/procgen.py:$game" \
      --logdir="$run" --config.stop_at_frames="$frames" "$@"
  $python -m impala_tf.evaluate --logdir="$run" --episodes_per_level=100
  $python -m impala_tf.curves export --logdir="$run" --output="$curves.csv"
  $python -m impala_tf.curves export_evaluations --logdir="$run" \
      --output="${curves}_evaluations.csv"
  touch "$run/part_done_$frames"
done
