"""Atari-5: the expert runs whose scores predict the Atari-57 median
(paper.md §4.5): Battle Zone, Double Dunk, Name This Game, Phoenix, Q*bert,
one run per game of the expert config given (default: the shallow expert,
200 M frames each).

  python -m impala_tf.sweep --sweep=paper_configs/sweep_atari5.py \\
      --logdir=runs/atari5 [--ray_address=auto]
  python -m impala_tf.sweep --logdir=runs/atari5_deep \\
      --sweep=paper_configs/sweep_atari5.py:paper_configs/atari_expert_deep.py

Then evaluate each run and predict the median:

  for run in runs/atari5/*/; do python -m impala_tf.evaluate --logdir=$run; done
  python -m impala_tf.tables atari5 --runs=$(ls -d runs/atari5/*/ | paste -sd,)
"""

import os

from impala_tf import config as config_lib
from impala_tf import sweep_plan
from impala_tf.results import scores


def get_sweep(base: str = os.path.join(os.path.dirname(__file__),
                                       'atari_expert_shallow.py')):
  """One run of ``base`` (an expert config file, ``path[:argument]``) per
  game of the subset, named after the game."""
  path, _, argument = base.partition(':')
  config = config_lib.load_config_file(path, argument or None)
  return sweep_plan.Sweep(config, {game: dict(levels=(game,))
                                   for game in scores.ATARI_SUBSETS['atari5']})
