"""IMPALA shallow on DMLab-30, one multi-task agent (Table 3 "IMPALA,
shallow": 37.1 %).

The 30 training levels are assigned to environments round robin (facts
§8.2); the paper uses 210 actors and one learner (§5.3.1). Reward clipping
is the release's 'soft_asymmetric', the function its DMLab-30 results were
produced with; 'paper_asymmetric' is Fig. D.1's formula (paper.md §6.2).

  python -m impala_tf.train --config=paper_configs/dmlab30_shallow.py \
      --logdir=runs/dmlab30_shallow
"""

from impala_tf import config as config_lib
from impala_tf.envs import dmlab


def get_config():
  config = config_lib.dmlab_config()
  config.levels = dmlab.DMLAB30_TRAIN_LEVELS
  config.torso = 'shallow'
  config.reward_clipping = 'soft_asymmetric'  # Table D.3 / [SA].
  config.total_environment_frames = int(10e9)  # [SA] README; not in [P].
  config.num_actors = 14  # 14 worker processes × 15 = 210 actors (§5.3.1).
  config.envs_per_actor = 15
  config.max_inference_batch_size = 210
  return config
