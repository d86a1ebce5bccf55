"""Table 2's four off-policy corrections × without / with replay, at the
base config's hyperparameters: 8 runs, the affordable cousin of
sweep_table2.py (which repeats this for 24 hyperparameter settings).

  python -m impala_tf.sweep \\
      --sweep=paper_configs/sweep_corrections.py:paper_configs/catch.py:0 \\
      --logdir=runs/corrections_catch/seed_0

The argument is the base config (``path[:argument]``); default: Catch.
"""

import os

from impala_tf import config as config_lib
from impala_tf import sweep_plan
from impala_tf.agent import corrections

REPLAY_FRACTIONS = (0.0, 0.5)  # Without, and with 50 % replay (paper.md §2).


def get_sweep(base: str = os.path.join(os.path.dirname(__file__), 'catch.py')):
  path, _, argument = base.partition(':')
  config = config_lib.load_config_file(path, argument or None)
  runs = {}
  for values in sweep_plan.grid(off_policy_correction=corrections.CORRECTIONS,
                           replay_fraction=REPLAY_FRACTIONS):
    runs[sweep_plan.run_name(values)] = values
  return sweep_plan.Sweep(config, runs)
