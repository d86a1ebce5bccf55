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

import os

import numpy as np

from impala_tf import config as config_lib
from impala_tf import sweep_plan
from impala_tf.agent import corrections
from impala_tf.population import rules

NUM_SETTINGS = 24  # Sweep size (paper.md §3.1).
SEED = 2018
REPLAY_FRACTIONS = (0.0, 0.5)  # Without, and with 50 % replay (paper.md §2).
# The hyperparameters swept (paper.md §6.1), in the order they are drawn.
EVOLVED = ('entropy_cost', 'learning_rate', 'rmsprop_epsilon')


def settings(num=NUM_SETTINGS, seed=SEED):
  """``num`` draws from Table D.1 (entropy cost and learning rate
  log-uniform, ε categorical), by the sampler population-based training
  starts its members with."""
  ranges = config_lib.base_config()
  ranges.pbt = config_lib.pbt_config(evolved=EVOLVED)
  rng = np.random.default_rng(seed)
  return [rules.initial_hyperparameters(ranges, rng) for _ in range(num)]


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
  return sweep_plan.Sweep(config, runs)
