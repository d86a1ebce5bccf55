"""IMPALA deep multi-task agent on Atari-57 (Table 4 and Table C.1 "IMPALA
(deep, multi-task)"): one set of weights for all 57 games.

Games are assigned to environments round robin (paper.md §8.2), the full 18
actions are used so that every game shares one policy head (App. G), and
the budget is 200 M frames per game, 11.4 B in total (§5.3.2). The paper
trains a PBT population of 24 (paper.md §6.4); its settings are recorded in
``config.pbt`` for the scale-out runtime. A single run of this config uses
the expert hyperparameters of Table G.1 as its starting point.

  python -m impala_tf.train --config=paper_configs/atari_multitask_deep.py \
      --logdir=runs/atari57
"""

from impala_tf import config as config_lib
from impala_tf.envs import atari


def get_config():
  config = config_lib.atari_config()  # Table G.1.
  config.levels = atari.ATARI_57
  config.full_action_space = True  # App. G.
  config.torso = 'deep'
  config.total_environment_frames = int(11.4e9)  # 57 × 200 M (§5.3.2).
  # One environment per game on a 2-core machine: 3 workers × 19 games. Use
  # a multiple of 57 environments so every game gets the same share.
  config.num_actors = 3
  config.envs_per_actor = 19
  config.max_inference_batch_size = 57
  # Each worker process holds 19 different games: the vector backend steps
  # copies of one game only.
  config.atari_backend = 'gymnasium'
  # Population-based training (paper.md §6.4, Table G.1), for the scale-out
  # runtime. Initial hyperparameters are drawn from the Table D.1 ranges.
  config.pbt = config_lib.pbt_config(
      evolved=('learning_rate', 'entropy_cost', 'rmsprop_epsilon',
               'max_grad_norm'))
  return config
