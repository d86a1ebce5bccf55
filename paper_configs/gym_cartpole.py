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
  config = config_lib.quick_check_config('gym')
  config.seed = int(seed)
  config.levels = ('CartPole-v1',)
  config.torso = 'auto'  # An MLP, chosen from the vector observations.
  config.use_lstm = False
  config.total_environment_frames = 400_000
  config.unroll_length = 20
  config.learning_rate = 1e-3
  config.discounting = 0.99
  return config
