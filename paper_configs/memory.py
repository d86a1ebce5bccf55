"""The memory task: a quick check that the LSTM core carries information.

Not a paper result. A feed-forward agent cannot beat an expected return of 0
here; the LSTM agent reaches +1:

  python -m impala_tf.train --config=paper_configs/memory.py --logdir=runs/memory
"""

from impala_tf import config as config_lib


def get_config():
  config = config_lib.base_config()
  config.env = 'memory'
  config.levels = ('memory',)
  config.torso = 'mlp'
  config.use_lstm = True
  config.num_action_repeats = 1
  config.total_environment_frames = 100_000
  config.unroll_length = 10  # Episodes cross unroll boundaries.
  config.batch_size = 16
  config.num_actors = 2
  config.envs_per_actor = 8
  config.max_inference_batch_size = 16
  config.learning_rate = 2e-3
  config.rmsprop_epsilon = 0.01
  config.entropy_cost = 0.01
  config.discounting = 0.9
  config.log_interval_s = 5.0
  return config
