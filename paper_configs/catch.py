"""Catch from pixels: a quick check of the whole system, not a paper result.

Trains to a near-optimal return in a couple of minutes on 2 CPU cores:

  python -m impala_tf.train --config=paper_configs/catch.py --logdir=runs/catch

The optional argument is the seed (``catch.py:1``), for repeated runs.
"""

from impala_tf import config as config_lib


def get_config(seed: str = '0'):
  config = config_lib.quick_check_config('catch')
  config.seed = int(seed)
  config.use_lstm = False
  config.total_environment_frames = 300_000
  config.unroll_length = 20
  config.discounting = 0.99
  return config
