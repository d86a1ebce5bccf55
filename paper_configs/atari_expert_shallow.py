"""IMPALA shallow Atari expert (Table 4, Table C.1 "IMPALA (shallow)").

One agent per game, feed-forward shallow network, Table G.1 hyperparameters
(`config.atari_config`). The game is the config argument:

  python -m impala_tf.train --config=paper_configs/atari_expert_shallow.py:pong \
      --logdir=runs/pong
"""

from impala_tf import config as config_lib


def get_config(game: str = 'pong'):
  config = config_lib.atari_config()
  config.levels = (game,)
  config.torso = 'shallow'  # The A3C network (paper.md §4.2, §5.2).
  config.total_environment_frames = int(200e6)  # Experts: 200 M (§5.3.2).
  # The number of actors is not stated for Atari (paper.md §6.3). On a 2-core
  # machine 4 worker processes of 24 games keep the learner busy (measured
  # with benchmarks/throughput.py); raise num_actors with more cores.
  config.num_actors = 4
  config.envs_per_actor = 24
  config.max_inference_batch_size = 96
  return config
