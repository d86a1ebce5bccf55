"""IMPALA deep on DMLab-30, one multi-task agent (Table 3 "IMPALA, deep":
46.5 %): the shallow agent's settings (dmlab30_shallow.py) with the deep
torso and 150 actors, one learner (§5.3.1).

  python -m impala_tf.train --config=paper_configs/dmlab30_deep.py \
      --logdir=runs/dmlab30_deep
"""

import os

from impala_tf import config as config_lib


def get_config():
  config = config_lib.load_config_file(
      os.path.join(os.path.dirname(__file__), 'dmlab30_shallow.py'))
  config.torso = 'deep'
  config.num_actors = 10  # 10 worker processes × 15 = 150 actors.
  config.envs_per_actor = 15
  config.max_inference_batch_size = 150
  return config
