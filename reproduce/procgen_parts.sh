#!/usr/bin/env bash
# A Procgen learning run in parts of 1 M frames (REPRODUCE.md, "Procgen"):
# after each part the newest checkpoint is evaluated on the training levels
# and on the test levels, and both curves are exported to reproduce/curves/.
# Run it again with the same arguments to go on where it stopped; a part
# already done is skipped.
#
#   reproduce/procgen_parts.sh GAME RUN_DIR UNTIL_FRAMES
#   reproduce/procgen_parts.sh starpilot runs/procgen_starpilot 10000000
set -euo pipefail
game=$1 run=$2 until=$3
cd "$(dirname "$0")/.."
python=.venv/bin/python
for ((frames = 1000000; frames <= until; frames += 1000000)); do
  if [[ -f "$run/part_done_$frames" ]]; then continue; fi
  $python -m impala_tf.train --config="paper_configs/procgen.py:$game" \
      --logdir="$run" --config.stop_at_frames="$frames"
  $python -m impala_tf.evaluate --logdir="$run" --episodes_per_level=100
  $python -m impala_tf.curves export --logdir="$run" \
      --output="reproduce/curves/procgen_$game.csv"
  $python -m impala_tf.curves export_evaluations --logdir="$run" \
      --output="reproduce/curves/procgen_${game}_evaluations.csv"
  touch "$run/part_done_$frames"
done
