"""IMPALA deep on DMLab-30, one multi-task agent (Table 3 "IMPALA, deep":
46.5 %): 150 actors, one learner (§5.3.1).

  python -m impala_tf.train --config=paper_configs/dmlab30_deep.py \
      --logdir=runs/dmlab30_deep
"""

from impala_tf import config as config_lib
from impala_tf import scores


def get_config():
  config = config_lib.dmlab_config()
  config.levels = scores.DMLAB30_TRAIN_LEVELS
  config.torso = 'deep'
  config.reward_clipping = 'soft_asymmetric'  # Table D.3 / [SA].
  config.total_environment_frames = int(10e9)  # [SA] README; not in [P].
  config.num_actors = 10  # 10 worker processes × 15 = 150 actors.
  config.envs_per_actor = 15
  config.max_inference_batch_size = 150
  return config
