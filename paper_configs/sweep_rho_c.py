"""The ρ̄ × c̄ ablation grid of V-trace's truncation levels (paper.md §7), with λ.

ρ̄ ∈ {0.5, 1, 10, 100, ∞} and c̄ ∈ {0.5, 1, 2, ∞}, keeping c̄ ≤ ρ̄ as the
paper assumes (None means no truncation), each with λ ∈ {1, 0.9}: 26 runs.
The paper uses ρ̄ = c̄ = 1 everywhere and reports it best.

  python -m impala_tf.sweep --sweep=paper_configs/sweep_rho_c.py \
      --logdir=runs/sweep_rho_c
  python -m impala_tf.sweep \
      --sweep=paper_configs/sweep_rho_c.py:paper_configs/atari_expert_shallow.py:pong ...

The argument is the base config (``path[:argument]``); default: Catch.
"""

import math
import os

from impala_tf import config as config_lib
from impala_tf import sweep_plan

RHO_BARS = (0.5, 1.0, 10.0, 100.0, None)
C_BARS = (0.5, 1.0, 2.0, None)
LAMBDAS = (1.0, 0.9)


def get_sweep(base: str = os.path.join(os.path.dirname(__file__), 'catch.py')):
  path, _, argument = base.partition(':')
  config = config_lib.load_config_file(path, argument or None)
  infinite = lambda x: math.inf if x is None else x
  runs = {}
  for values in sweep_plan.grid(clip_rho_threshold=RHO_BARS,
                           clip_c_threshold=C_BARS, vtrace_lambda=LAMBDAS):
    if infinite(values['clip_c_threshold']) > infinite(
        values['clip_rho_threshold']):
      continue  # The paper assumes ρ̄ ≥ c̄.
    name = sweep_plan.run_name(values)
    # The policy-gradient ρ̄ follows ρ̄, as in the paper's runs.
    values['clip_pg_rho_threshold'] = values['clip_rho_threshold']
    runs[name] = values
  return sweep_plan.Sweep(config, runs)
