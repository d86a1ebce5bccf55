"""Catch with half of every batch replayed: a small task with real policy lag.

Not a paper result. On Catch the actors are barely behind the learner (1–2
updates), so off-policy corrections have nothing to correct. With the
paper's replay (paper.md §2: 50 % of each batch drawn uniformly from the last
10,000 trajectories) a replayed trajectory is on average hundreds of updates
old, which is the regime where V-trace's truncation levels and Table 2's
corrections differ. The small-scale ablations of REPRODUCE.md run on it:

  python -m impala_tf.sweep \\
      --sweep=paper_configs/sweep_rho_c.py:paper_configs/catch_replay.py:0 \\
      --logdir=runs/rho_c_catch_replay/seed_0

The optional argument is the seed.
"""

import os

from impala_tf import config as config_lib


def get_config(seed: str = '0'):
  config = config_lib.load_config_file(
      os.path.join(os.path.dirname(__file__), 'catch.py'), seed)
  config.replay_fraction = 0.5  # Table 2's replay experiments (paper.md §2).
  config.replay_capacity = 10_000
  # Frames count only new experience, so a replay run makes twice the
  # updates of a fresh one per frame; 200 k frames are enough for either to
  # learn Catch, which keeps the 26-run grid at about 20 minutes on 2 cores.
  config.total_environment_frames = 200_000
  return config
