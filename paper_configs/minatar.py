"""MinAtar (breakout, asterix, freeway, seaquest, space_invaders): not a
paper result, a small benchmark harder than Catch that this machine can
afford for studies (issue 20 runs the V-trace study on it).

  python -m impala_tf.train --config=paper_configs/minatar.py:breakout \
      --logdir=runs/minatar_breakout

The argument is the game, optionally with a seed for repeated runs
(``minatar.py:breakout,1``; default seed 0).

The MinAtar paper's torso (one 16-filter 3×3 conv, 128 units), no LSTM, no
action repeat (MinAtar steps are already coarse); the learner settings are
Table G.1's Atari ones (unroll 20, batch 32, entropy 0.01, RMSProp ε 0.01,
clip 40, discount 0.99) with a learning rate of 6e-4, annealed over 5 M
frames, MinAtar's customary budget.
"""

from impala_tf import config as config_lib


def get_config(argument: str = 'breakout'):
  game, _, seed = argument.partition(',')
  config = config_lib.base_config()
  config.seed = int(seed or 0)
  config.env = 'minatar'
  config.levels = (game,)
  config.torso = 'minatar'
  config.use_lstm = False
  config.num_action_repeats = 1
  config.total_environment_frames = 5_000_000
  config.unroll_length = 20
  config.batch_size = 32
  config.num_actors = 2
  config.envs_per_actor = 16
  config.max_inference_batch_size = 32
  config.learning_rate = 6e-4
  config.rmsprop_epsilon = 0.01
  config.entropy_cost = 0.01
  config.max_grad_norm = 40.0
  config.discounting = 0.99
  config.log_interval_s = 10.0
  return config
