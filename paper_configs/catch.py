"""Catch from pixels: a quick check of the whole system, not a paper result.

Trains to a near-optimal return in a couple of minutes on 2 CPU cores:

  python -m impala_tf.train --config=paper_configs/catch.py --logdir=runs/catch

The optional argument is the seed (``catch.py:1``), for repeated runs.
"""

from impala_tf import config as config_lib


def get_config(seed: str = '0'):
  config = config_lib.base_config()
  config.seed = int(seed)
  config.env = 'catch'
  config.levels = ('catch',)
  config.torso = 'mlp'  # A 10×5 frame is too small for the conv torsos.
  config.use_lstm = False
  config.num_action_repeats = 1
  config.total_environment_frames = 300_000
  config.unroll_length = 20
  config.batch_size = 16
  config.num_actors = 2
  config.envs_per_actor = 8
  config.max_inference_batch_size = 16
  config.learning_rate = 2e-3
  config.rmsprop_epsilon = 0.01
  config.entropy_cost = 0.01
  config.discounting = 0.99
  config.log_interval_s = 5.0
  return config
