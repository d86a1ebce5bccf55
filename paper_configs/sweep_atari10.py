"""Atari-10: Atari-5's games and Amidar, Bowling, Frostbite, Kung-Fu Master
and Riverraid, whose scores predict the Atari-57 median more closely
(paper.md §4.5); one run per game of the expert config given (default: the
shallow expert). As `sweep_atari5.py`, with ``atari10``:

  python -m impala_tf.sweep --sweep=paper_configs/sweep_atari10.py \\
      --logdir=runs/atari10 [--ray_address=auto]
  python -m impala_tf.tables atari10 \\
      --runs=$(ls -d runs/atari10/*/ | paste -sd,)
"""

import os

from impala_tf import config as config_lib
from impala_tf import sweep_plan
from impala_tf.results import scores


def get_sweep(base: str = os.path.join(os.path.dirname(__file__),
                                       'atari_expert_shallow.py')):
  """One run of ``base`` (``path[:argument]``) per game of the subset."""
  path, _, argument = base.partition(':')
  config = config_lib.load_config_file(path, argument or None)
  return sweep_plan.Sweep(config, {game: dict(levels=(game,))
                                   for game in scores.ATARI_SUBSETS['atari10']})
