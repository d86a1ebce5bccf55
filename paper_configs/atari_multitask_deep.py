"""IMPALA deep multi-task agent on Atari-57 (Table 4 and Table C.1 "IMPALA
(deep, multi-task)"): one set of weights for all 57 games.

Games are assigned to environments round robin (facts §8.2), the full 18
actions are used so that every game shares one policy head (App. G), and
the budget is 200 M frames per game, 11.4 B in total (§5.3.2). The paper
trains a PBT population of 24 (facts §6.4); its settings are recorded in
``config.pbt`` for the scale-out runtime. A single run of this config uses
the expert hyperparameters of Table G.1 as its starting point.

  python -m impala_tf.train --config=paper_configs/atari_multitask_deep.py \
      --logdir=runs/atari57
"""

import ml_collections

from impala_tf import config as config_lib
from impala_tf.envs import atari


def get_config():
  config = config_lib.base_config()
  config.env = 'atari'
  config.levels = atari.ATARI_57
  config.full_action_space = True  # App. G.
  config.torso = 'deep'
  config.use_lstm = False  # §5.3.2: feed-forward on Atari.
  config.total_environment_frames = int(11.4e9)  # 57 × 200 M (§5.3.2).
  # Table G.1.
  config.num_action_repeats = 4
  config.unroll_length = 20
  config.batch_size = 32
  config.discounting = 0.99
  config.baseline_cost = 0.5
  config.entropy_cost = 0.01
  config.rmsprop_momentum = 0.0
  config.rmsprop_epsilon = 0.01
  config.learning_rate = 0.0006
  config.max_grad_norm = 40.0
  config.reward_clipping = 'abs_one'
  config.rmsprop_decay = 0.99  # Not stated for Atari (facts §6.3).
  # One environment per game on a 2-core machine: 3 workers × 19 games. Use
  # a multiple of 57 environments so every game gets the same share.
  config.num_actors = 3
  config.envs_per_actor = 19
  config.max_inference_batch_size = 57
  config.inference_timeout_ms = 0.0
  # Population-based training (facts §6.4, Table G.1), for the scale-out
  # runtime. Initial hyperparameters are drawn from the Table D.1 ranges.
  config.pbt = ml_collections.ConfigDict(dict(
      population_size=24,
      burn_in_frames=int(20e6),
      ready_after_episodes=5000,
      fitness='mean_capped_hns',
      exploit_threshold=0.05,  # Absolute: 5 % HNS better.
      perturb_probability=0.33,
      perturb_factor=1.2,  # Multiply by 1.2 or 1 / 1.2.
      evolved=('learning_rate', 'entropy_cost', 'rmsprop_epsilon',
               'max_grad_norm'),
      initial_ranges=ml_collections.ConfigDict(dict(  # Table D.1.
          entropy_cost=(5e-5, 1e-2),  # Log-uniform.
          learning_rate=(5e-6, 5e-3),  # Log-uniform.
          rmsprop_epsilon=(1e-1, 1e-3, 1e-5, 1e-7),  # Categorical.
      )),
  ))
  return config
