"""IMPALA deep Atari expert (Table 4, Table C.1 "IMPALA (deep)").

The shallow expert's settings (Table G.1 is the same for both, App. G) with
the residual torso of Fig. 3, no LSTM (§5.3.2):

  python -m impala_tf.train --config=paper_configs/atari_expert_deep.py:pong \
      --logdir=runs/pong_deep
"""

from impala_tf import config as config_lib


def get_config(game: str = 'pong'):
  config = config_lib.atari_config()
  config.levels = (game,)
  config.torso = 'deep'  # paper.md §5.2.
  config.total_environment_frames = int(200e6)  # Experts: 200 M (§5.3.2).
  config.num_actors = 4  # As the shallow expert; not stated (paper.md §6.3).
  config.envs_per_actor = 24
  config.max_inference_batch_size = 96
  return config
