"""IMPALA-Experts, deep (Table 3: 44.5 %): one agent per DMLab-30 level,
with the hyperparameters shared across levels (§5.3.1). The level is the
config argument (its training name):

  python -m impala_tf.train --config=paper_configs/dmlab30_expert_deep.py:rooms_watermaze \
      --logdir=runs/experts/rooms_watermaze
"""

from impala_tf import config as config_lib


def get_config(level: str = 'rooms_watermaze'):
  config = config_lib.dmlab_config()
  config.levels = (level,)
  config.torso = 'deep'
  # Table D.3: the asymmetric clipping holds for DMLab-30 experts too.
  config.reward_clipping = 'soft_asymmetric'
  config.total_environment_frames = int(1e9)  # [SA] default; not in [P].
  config.num_actors = 4  # 4 worker processes × 12 = 48 actors ([SA] README).
  config.envs_per_actor = 12
  config.max_inference_batch_size = 48
  return config
