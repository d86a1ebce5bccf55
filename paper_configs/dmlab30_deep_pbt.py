"""IMPALA deep on DMLab-30 with population-based training (Table 3 "IMPALA,
deep, PBT": 49.4 %; with ``:8`` the "8 learners" row, 49.1 %).

Each member is the deep DMLab-30 agent; the population and its rules
(paper.md §6.4) are in ``config.pbt``, and `impala_tf.pbt` runs the members
as Ray Tune trials. The 8-learner variant puts one member's learner on 8
GPUs with MirroredStrategy; the paper gives no batch size for it, we keep 32
per learner (256 in all) and say so.

  python -m impala_tf.pbt --config=paper_configs/dmlab30_deep_pbt.py \
      --logdir=runs/dmlab30_pbt [--ray_address=HOST:PORT]
"""

import os

from impala_tf import config as config_lib


def get_config(num_learners: str = '1'):
  config = config_lib.load_config_file(
      os.path.join(os.path.dirname(__file__), 'dmlab30_deep.py'))
  num_learners = int(num_learners)
  if num_learners > 1:
    config.strategy = 'mirrored'  # One replica per local GPU.
    config.batch_size = 32 * num_learners
  # paper.md §6.4: DMLab-30 evolves these three.
  config.pbt = config_lib.pbt_config(
      evolved=('learning_rate', 'entropy_cost', 'rmsprop_epsilon'))
  return config
