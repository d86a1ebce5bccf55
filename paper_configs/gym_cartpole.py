"""CartPole-v1 through the generic gymnasium adapter: not a paper result, a
check that any registered environment trains (its MLP torso is chosen from
the 4-number observation).

  python -m impala_tf.train --config=paper_configs/gym_cartpole.py \
      --logdir=runs/cartpole

Any other registered id with a discrete action space runs the same way:
``--config.levels="('Acrobot-v1',)"``.
"""

from impala_tf import config as config_lib


def get_config(seed: str = '0'):
  config = config_lib.base_config()
  config.seed = int(seed)
  config.env = 'gym'
  config.levels = ('CartPole-v1',)
  config.use_lstm = False
  config.num_action_repeats = 1
  config.total_environment_frames = 400_000
  config.unroll_length = 20
  config.batch_size = 16
  config.num_actors = 2
  config.envs_per_actor = 8
  config.max_inference_batch_size = 16
  config.learning_rate = 1e-3
  config.rmsprop_epsilon = 0.01
  config.entropy_cost = 0.01
  config.discounting = 0.99
  config.log_interval_s = 5.0
  return config
