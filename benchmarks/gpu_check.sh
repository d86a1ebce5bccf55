#!/usr/bin/env bash
# The GPU check (benchmarks/gpu_check.py) in one run of at most 8 minutes:
# the learner step and the whole system, shallow and deep, with all the
# machine's cores, and strategy=mirrored on the GPUs it finds; one JSON.
#
#   benchmarks/gpu_check.sh [OUTPUT.json]     (default: gpu_check.json)
#
# Uses the README's .venv where there is one, else python3 (which must have
# requirements.txt installed). Runs on a machine without a GPU too, and its
# JSON then says so.
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
[ -x "$python" ] || python=python3
exec timeout 480 "$python" benchmarks/gpu_check.py --output="${1:-gpu_check.json}"
