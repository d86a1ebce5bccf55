"""Table 2 (paper.md §2): four off-policy corrections × without / with replay ×
24 hyperparameter settings, 192 runs on one level.

The 24 settings (entropy cost, learning rate, RMSProp ε) are drawn once from
Table D.1's ranges with a fixed seed and shared by every method, so methods
differ in nothing else. Table 2's score of a method is the mean final return
of its 3 best settings (`analysis.top_k_mean`).

  python -m impala_tf.sweep \
      --sweep=paper_configs/sweep_table2.py:paper_configs/dmlab_single_task.py:rooms_watermaze \
      --logdir=runs/table2/rooms_watermaze

The argument is the base config (``path[:argument]``); default: the
rooms_watermaze single-task config.
"""

import math
import os

import numpy as np

from impala_tf import config as config_lib
from impala_tf import corrections
from impala_tf import sweep

NUM_SETTINGS = 24  # Sweep size (paper.md §3.1).
SEED = 2018
REPLAY_FRACTIONS = (0.0, 0.5)  # Without, and with 50 % replay (paper.md §2).


def settings(num=NUM_SETTINGS, seed=SEED):
  """Table D.1: entropy cost and learning rate log-uniform, ε categorical."""
  rng = np.random.default_rng(seed)
  log_uniform = lambda low, high: float(math.exp(
      rng.uniform(math.log(low), math.log(high))))
  return [dict(entropy_cost=log_uniform(5e-5, 1e-2),
               learning_rate=log_uniform(5e-6, 5e-3),
               rmsprop_epsilon=float(rng.choice([1e-1, 1e-3, 1e-5, 1e-7])))
          for _ in range(num)]


def get_sweep(base: str = os.path.join(os.path.dirname(__file__),
                                       'dmlab_single_task.py:rooms_watermaze')):
  path, _, argument = base.partition(':')
  config = config_lib.load_config_file(path, argument or None)
  runs = {}
  for correction in corrections.CORRECTIONS:
    for replay_fraction in REPLAY_FRACTIONS:
      for index, setting in enumerate(settings()):
        name = f'{correction},replay={replay_fraction:g},setting={index:02d}'
        runs[name] = dict(off_policy_correction=correction,
                          replay_fraction=replay_fraction, **setting)
  return sweep.Sweep(config, runs)
