"""IMPALA shallow Atari expert (Table 4, Table C.1 "IMPALA (shallow)").

One agent per game, feed-forward shallow network, Table G.1 hyperparameters.
The game is the config argument:

  python -m impala_tf.train --config=paper_configs/atari_expert_shallow.py:pong \
      --logdir=runs/pong
"""

from impala_tf import config as config_lib


def get_config(game: str = 'pong'):
  config = config_lib.base_config()
  config.env = 'atari'
  config.levels = (game,)
  # Network: the A3C feed-forward net, no LSTM (facts §4.2, §5.2).
  config.torso = 'shallow'
  config.use_lstm = False
  # Table G.1.
  config.total_environment_frames = int(200e6)  # Experts: 200 M (§5.3.2).
  config.num_action_repeats = 4
  config.unroll_length = 20
  config.batch_size = 32
  config.discounting = 0.99
  config.baseline_cost = 0.5
  config.entropy_cost = 0.01
  config.rmsprop_momentum = 0.0
  config.rmsprop_epsilon = 0.01
  config.learning_rate = 0.0006  # Annealed linearly to 0 (Table G.1).
  config.max_grad_norm = 40.0
  config.reward_clipping = 'abs_one'
  # RMSProp decay is not stated for Atari (facts §6.3): the release's 0.99.
  config.rmsprop_decay = 0.99
  # The number of actors is not stated for Atari (facts §6.3). On a 2-core
  # machine 4 worker processes of 24 games keep the learner busy (measured
  # with benchmarks/throughput.py); raise num_actors with more cores.
  config.num_actors = 4
  config.envs_per_actor = 24
  config.max_inference_batch_size = 96
  config.inference_timeout_ms = 0.0  # Batch whatever is waiting, at once.
  config.queue_capacity = 64
  return config
