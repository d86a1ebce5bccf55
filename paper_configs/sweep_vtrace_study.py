"""The V-trace study (issue 20): Table 2's four off-policy corrections
and V-trace's ρ̄ × c̄ grid, each without and with the paper's replay, on one
game and one seed per sweep: 26 runs.

  for seed in 0 1 2; do
    python -m impala_tf.sweep \\
        --sweep=paper_configs/sweep_vtrace_study.py:paper_configs/minatar.py:breakout,$seed \\
        --logdir=runs/vtrace_study/breakout/seed_$seed
  done

- corrections: 'vtrace', 'one_step_is', 'epsilon_correction' and
  'no_correction' at ρ̄ = c̄ = 1 (paper.md §2);
- ρ̄ × c̄: ρ̄, c̄ ∈ {0.5, 1, 10, ∞} with c̄ ≤ ρ̄ (the paper's assumption,
  paper.md §7), λ = 1; the policy-gradient ρ̄ follows ρ̄. The cell
  ρ̄ = c̄ = 1 is the 'vtrace' run above, not run twice;
- replay: none, and Table 2's (50 % of each batch from the last 10,000
  trajectories), which makes the policy lag that corrections exist for.

Every run gets FRAMES new environment frames (replayed steps are not
counted), with the learning rate annealed over them. The argument is the
base config (``path[:argument]``); default: MinAtar Breakout, seed 0.
"""

import math
import os

from impala_tf import config as config_lib
from impala_tf import sweep_plan
from impala_tf.agent import corrections

TRUNCATIONS = (0.5, 1.0, 10.0, None)  # None: no truncation (∞).
REPLAY_FRACTIONS = (0.0, 0.5)
FRAMES = 1_000_000


def _grid_runs():
  """The ρ̄ × c̄ cells with c̄ ≤ ρ̄ other than ρ̄ = c̄ = 1."""
  infinite = lambda x: math.inf if x is None else x
  for values in sweep_plan.grid(clip_rho_threshold=TRUNCATIONS,
                           clip_c_threshold=TRUNCATIONS):
    rho, c = (infinite(values['clip_rho_threshold']),
              infinite(values['clip_c_threshold']))
    if c <= rho and (rho, c) != (1.0, 1.0):
      yield values


def get_sweep(base: str = os.path.join(os.path.dirname(__file__),
                                       'minatar.py:breakout')):
  path, _, argument = base.partition(':')
  config = config_lib.load_config_file(path, argument or None)
  config.total_environment_frames = FRAMES
  runs = {}
  for replay_fraction in REPLAY_FRACTIONS:
    for correction in corrections.CORRECTIONS:
      values = dict(off_policy_correction=correction,
                    replay_fraction=replay_fraction)
      runs[sweep_plan.run_name(values)] = values
    for values in _grid_runs():
      values = dict(values, replay_fraction=replay_fraction)
      name = sweep_plan.run_name(values)
      values['clip_pg_rho_threshold'] = values['clip_rho_threshold']
      runs[name] = values
  return sweep_plan.Sweep(config, runs)
