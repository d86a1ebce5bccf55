"""The single-task DMLab runs of Table 2 and Fig. 4 (shallow model), one of
the five levels as the config argument:

  python -m impala_tf.train --config=paper_configs/dmlab_single_task.py:rooms_watermaze \
      --logdir=runs/single/rooms_watermaze

Rewards clipped to [−1, 1] (Table D.3, single tasks). Table 2's score is the
mean final return of the 3 best of 24 settings of entropy cost, learning rate
and RMSProp ε pre-sampled from Table D.1; the sweep runner supplies them.
"""

from impala_tf import config as config_lib
from impala_tf.envs import dmlab


def get_config(level: str = 'rooms_watermaze'):
  if level not in dmlab.TABLE_2_LEVELS:
    raise ValueError(f'{level!r} is not one of the Table 2 levels '
                     f'{dmlab.TABLE_2_LEVELS}')
  config = config_lib.dmlab_config()
  config.levels = (level,)
  config.torso = 'shallow'
  config.use_instruction = False  # None of the five has a language channel.
  config.reward_clipping = 'abs_one'
  config.total_environment_frames = int(1e9)  # [SA] default; not in [P].
  config.num_actors = 4  # 48 actors, as [SA] README's single-level example.
  config.envs_per_actor = 12
  config.max_inference_batch_size = 48
  config.entropy_cost = 0.00025  # [SA] defaults until the sweep sets them.
  config.learning_rate = 0.00048
  return config
