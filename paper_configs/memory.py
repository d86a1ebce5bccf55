"""The memory task: a quick check that the LSTM core carries information.

Not a paper result. A feed-forward agent cannot beat an expected return of 0
here; the LSTM agent reaches +1:

  python -m impala_tf.train --config=paper_configs/memory.py --logdir=runs/memory
"""

from impala_tf import config as config_lib


def get_config():
  config = config_lib.quick_check_config('memory')
  config.use_lstm = True
  config.total_environment_frames = 100_000
  config.unroll_length = 10  # Episodes cross unroll boundaries.
  config.discounting = 0.9
  return config
