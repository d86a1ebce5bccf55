"""Run configuration: defaults and validation.

`base_config` is every field a run has: the learner's hyperparameters
(`learner_config`) and the runtime's settings. Defaults are the original
release's flag defaults (paper.md §6.2, "[SA] flag defaults") unless a comment
cites the paper; the files in paper_configs/ override them per experiment.
`validate_config` runs before anything starts, so that a bad value fails at
once with a message naming the field and the value.

Importing this module does not import TensorFlow (run directories are read
with it, by tools that need only JSON); the choices it checks against are
named in `choices`, below it and the modules that implement them.
"""

import importlib.util
import math
import os
from typing import Optional

import ml_collections
from ml_collections import config_dict

from impala_tf import choices
from impala_tf import envs
from impala_tf.envs import gym_env
from impala_tf.envs import procgen

STRATEGIES = ('default', 'mirrored', 'multi_worker_mirrored')
RUNTIMES = ('local', 'ray')


def load_config_file(path: str,
                     argument: Optional[str] = None) -> ml_collections.ConfigDict:
  """``get_config([argument])`` of a config file, as ``--config=path[:arg]``
  would load it on the command line."""
  return call_file_function(path, 'get_config', argument)


def call_file_function(path: str, function: str,
                       argument: Optional[str] = None):
  """Imports the Python file at ``path`` and returns ``function()``, or
  ``function(argument)`` (config files' get_config, sweep files'
  get_sweep)."""
  name = os.path.splitext(os.path.basename(path))[0]
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  call = getattr(module, function)
  return call() if argument is None else call(argument)


def learner_config() -> ml_collections.ConfigDict:
  """Learner hyperparameters with their defaults."""
  return ml_collections.ConfigDict(dict(
      # Frames are agent steps × action repeats (paper.md §1). The learning rate
      # is annealed linearly to 0 over total_environment_frames (paper.md §6.2).
      total_environment_frames=int(1e9),  # [SA] default.
      num_action_repeats=4,  # Tables D.3, G.1.
      learning_rate=0.00048,  # [SA] default.
      rmsprop_decay=0.99,  # [SA]; not in the paper.
      rmsprop_momentum=0.0,  # Tables D.3, G.1.
      rmsprop_epsilon=0.1,  # [SA] default.
      # 'tf1': TF1's RMSProp, as the paper and [SA] ran it (mean square
      # starts at 1, ε inside the root); 'torch': PyTorch's, as TorchBeast
      # and other peers run it (mean square starts at 0, ε outside the
      # root). See optimizer.py.
      rmsprop_style='tf1',
      # Global-norm gradient clipping: 40 on Atari (Table G.1); none on DMLab
      # (None, or inf on the command line).
      max_grad_norm=config_dict.placeholder(float),
      discounting=0.99,  # Tables D.3, G.1.
      baseline_cost=0.5,  # Tables D.3, G.1.
      entropy_cost=0.00025,  # [SA] default.
      reward_clipping='abs_one',  # [SA] default; see losses.clip_rewards.
      # V-trace truncation (paper.md §7): ρ̄ = c̄ = 1 in the paper. None (or inf,
      # as the command line writes it) means no clipping.
      # Typed references so that a threshold can be set to None and back.
      clip_rho_threshold=config_dict.FieldReference(1.0, field_type=float),
      clip_c_threshold=config_dict.FieldReference(1.0, field_type=float),
      clip_pg_rho_threshold=config_dict.FieldReference(1.0, field_type=float),
      vtrace_lambda=1.0,
      # Table 2's methods (paper.md §2): 'vtrace', 'one_step_is',
      # 'epsilon_correction' or 'no_correction'; see corrections.py.
      off_policy_correction='vtrace',
      # Experience replay (paper.md §2, Table D.3), off by default: this share
      # of each batch is drawn uniformly from a FIFO of the last
      # replay_capacity trajectories (0.5 in Table 2's runs). Replayed steps
      # are not new frames: the frame budget counts fresh ones only.
      replay_fraction=0.0,
  ))


def base_config() -> ml_collections.ConfigDict:
  """Every field of a run, with defaults; paper_configs/ start from this."""
  config = learner_config()
  config.update(dict(
      # Environment: 'catch', 'memory' or 'atari'; levels are assigned to
      # environments round robin (paper.md §8.2: actor i gets level i mod L).
      env='catch',
      levels=('catch',),  # A tuple: overridable as --config.levels="('a','b')".
      # Atari: all 18 actions (multi-task agent) or the minimal set (experts).
      full_action_space=False,
      # Atari: press FIRE after every game start and lost life, on games
      # whose second action is FIRE (the DQN-era wrappers' FireResetEnv,
      # which the original release's Atari port uses). Off: the paper does
      # not mention it.
      fire_reset=False,
      # Atari: how a worker process steps its games in training: 'vector'
      # (ale-py's C++ AtariVectorEnv, all at once; the same frames, rewards
      # and episode ends, envs/atari_vector.py; 1.6x the environment frames/s
      # and 1.2x the system's on 2 cores, REPRODUCE.md Table 1) or
      # 'gymnasium' (one AtariPreprocessing env after another). 'vector'
      # needs one game per worker process and no fire_reset; evaluation
      # always uses gymnasium.
      atari_backend='vector',
      # atari_backend='vector': the C++ threads each worker process steps
      # its games with; 0: one per core, in every worker. 1 leaves the
      # parallelism to the worker processes (4 workers on 2 cores stepped
      # 11% more frames/s with 1 thread each than with 2; REPRODUCE.md).
      atari_vector_threads=1,
      # DeepMind Lab: the psychlab datasets ('datasetPath') and a directory
      # to cache compiled levels in; None leaves them unset.
      dmlab_dataset_path=config_dict.placeholder(str),
      dmlab_level_cache_dir=config_dict.placeholder(str),
      # env='custom': 'module.path:function', a callable level -> gymnasium.Env
      # (a user's own environment), built in the worker processes.
      env_factory=config_dict.placeholder(str),
      # Procgen (envs/procgen.py): the distribution mode ('easy', 'hard'),
      # the training levels (num_levels seeds from start_level; 0: all
      # levels, the test distribution) and procgen's visual options, with
      # procgen's defaults but the generalisation protocol's 200 easy
      # training levels (paper.md §4.6).
      procgen=ml_collections.ConfigDict(dict(
          distribution_mode='easy', num_levels=200, start_level=0,
          use_backgrounds=True, restrict_themes=False,
          use_monochrome_assets=False, paint_vel_info=False)),
      # Network (paper.md §5.2): 'shallow', 'deep', 'mlp' (vectors, small
      # tests), 'minatar' (MinAtar's 10×10 frames) or 'auto': chosen from
      # the observations (`agents.torso_for`), 'shallow' for Atari and DMLab.
      torso='auto',
      use_lstm=True,
      use_instruction=False,
      # The one-hot last action beside the clipped last reward as core input
      # (Fig. 3). The original release's Atari port feeds the reward only.
      last_action_input=True,
      # Actors: each actor thread steps a group of environments that live in
      # one worker process.
      num_actors=4,
      envs_per_actor=8,
      unroll_length=100,  # Table D.3 (DMLab); 20 on Atari (Table G.1).
      batch_size=32,  # Table 1 caption and [SA] README.
      # Dynamic batching of the actors' policy calls (paper.md §1, Table 1).
      dynamic_batching=True,
      max_inference_batch_size=256,
      inference_timeout_ms=2.0,
      queue_capacity=64,  # Trajectories; a full queue blocks the actors.
      replay_capacity=10_000,  # Trajectories (Table 2's runs: 10,000).
      # Where the actors run: 'local' (threads + worker processes on this
      # machine) or 'ray' (Ray actors on the cluster at ray_address; None
      # starts a Ray instance on this machine), each taking
      # ray_cpus_per_actor CPUs.
      runtime='local',
      ray_address=config_dict.placeholder(str),
      ray_cpus_per_actor=1.0,
      # Learner placement: 'default' (one device), 'mirrored' (all local
      # GPUs, or `devices`, e.g. ('/cpu:0', '/cpu:1')) or
      # 'multi_worker_mirrored' (every host in TF_CONFIG, see REPRODUCE.md).
      strategy='default',
      devices=config_dict.placeholder(tuple),
      seed=0,
      # Stop (with a checkpoint) once this many frames are done, without
      # touching the learning-rate schedule, which still runs over
      # total_environment_frames: a fixed budget for controlled runs, or one
      # part of a long run (resume later with a larger value). None: run to
      # total_environment_frames.
      stop_at_frames=config_dict.placeholder(int),
      checkpoint_interval_s=600.0,
      log_interval_s=10.0,
  ))
  return config


def atari_config() -> ml_collections.ConfigDict:
  """`base_config` with the Atari settings of Table G.1, shared by the
  experts and the multi-task agent (App. G); paper_configs/atari*.py start
  from this."""
  config = base_config()
  config.env = 'atari'
  config.use_lstm = False  # Feed-forward on Atari (§5.3.2).
  config.num_action_repeats = 4
  config.unroll_length = 20
  config.batch_size = 32
  config.discounting = 0.99
  config.baseline_cost = 0.5
  config.entropy_cost = 0.01
  config.rmsprop_momentum = 0.0
  config.rmsprop_epsilon = 0.01
  config.learning_rate = 0.0006  # Annealed linearly to 0.
  config.max_grad_norm = 40.0
  config.reward_clipping = 'abs_one'
  config.rmsprop_decay = 0.99  # Not stated for Atari (paper.md §6.3): [SA]'s.
  config.inference_timeout_ms = 0.0  # Batch whatever is waiting, at once.
  return config


def dmlab_config() -> ml_collections.ConfigDict:
  """`base_config` with the fixed DeepMind Lab settings of Table D.3 and the
  agent of Fig. 3 (LSTM, instruction encoder); paper_configs/dmlab*.py start
  from this."""
  config = base_config()
  config.env = 'dmlab'
  config.use_lstm = True
  config.use_instruction = True
  config.num_action_repeats = 4  # Table D.3 (96×72 frames: the adapter).
  config.unroll_length = 100
  config.discounting = 0.99
  config.baseline_cost = 0.5
  config.rmsprop_momentum = 0.0
  config.rmsprop_decay = 0.99  # [SA]; not in the paper.
  config.max_grad_norm = None  # [SA] clips no gradients on DMLab.
  config.batch_size = 32  # Table 1 caption, [SA] README.
  # [SA] README's DMLab-30 hyperparameters (one draw from Table D.1).
  config.entropy_cost = 0.0033391318945337044
  config.learning_rate = 0.00031866995608948655
  config.rmsprop_epsilon = 0.1
  config.reward_clipping = 'abs_one'  # Single tasks (Table D.3).
  return config


def quick_check_config(env: str) -> ml_collections.ConfigDict:
  """What the small test tasks (catch, memory) share: an MLP torso on their
  tiny frames, no action repeat, a small fleet, and settings that learn them
  in minutes on 2 cores. Not a paper setting."""
  config = base_config()
  config.env = env
  config.levels = (env,)
  config.torso = 'mlp'  # Their frames are too small for the conv torsos.
  config.num_action_repeats = 1
  config.batch_size = 16
  config.num_actors = 2
  config.envs_per_actor = 8
  config.max_inference_batch_size = 16
  config.learning_rate = 2e-3
  config.rmsprop_epsilon = 0.01
  config.entropy_cost = 0.01
  config.log_interval_s = 5.0
  return config


def pbt_config(evolved) -> ml_collections.ConfigDict:
  """Population-based training as the paper runs it (paper.md §6.4), recorded
  in ``config.pbt`` for the scale-out runtime.

  Args:
    evolved: the config fields PBT perturbs (DMLab-30: learning rate,
      entropy cost, RMSProp ε; Atari adds the gradient-clipping norm).
  """
  return ml_collections.ConfigDict(dict(
      population_size=24,
      burn_in_frames=int(20e6),
      ready_after_episodes=5000,
      fitness='mean_capped_hns',
      exploit_threshold=0.05,  # Absolute: 5 % (capped) HNS better.
      perturb_probability=0.33,
      perturb_factor=1.2,  # Multiply by 1.2 or 1 / 1.2, unbiased.
      evolved=tuple(evolved),
      initial_ranges=ml_collections.ConfigDict(dict(  # Table D.1.
          entropy_cost=(5e-5, 1e-2),  # Log-uniform.
          learning_rate=(5e-6, 5e-3),  # Log-uniform.
          rmsprop_epsilon=(1e-1, 1e-3, 1e-5, 1e-7),  # Categorical.
      )),
  ))


def env_options(config: ml_collections.ConfigDict) -> dict:
  """`envs.make`'s keyword arguments from a run config."""
  return dict(full_action_space=config.full_action_space,
              fire_reset=config.fire_reset,
              dataset_path=config.dmlab_dataset_path,
              level_cache_dir=config.dmlab_level_cache_dir,
              env_factory=config.env_factory,
              procgen=config.procgen.to_dict())


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Raises ValueError naming the first bad field of a whole run config."""
  validate_learner_config(config)
  check = _checker(config)
  positive_int = lambda x: isinstance(x, int) and x > 0
  check('env', lambda x: x in envs.ENVIRONMENTS, f'one of {envs.ENVIRONMENTS}')
  check('levels', lambda x: len(x) > 0, 'a non-empty list of level names')
  for level in config.levels:
    try:
      envs.check_level(config.env, level)
    except ValueError as error:
      raise ValueError(f'config.levels: {error}') from None
  torsos = choices.TORSOS + ('auto',)
  check('torso', lambda x: x in torsos, f'one of {torsos}')
  check('env_factory', lambda x: (x is None) == (config.env != 'custom'),
        "set (as 'module.path:function') exactly when config.env='custom'")
  if config.env == 'custom':
    gym_env.load_factory(config.env_factory)
  if config.env == 'procgen':
    try:
      procgen.check_settings(procgen.settings_from(config.procgen.to_dict()))
    except (TypeError, ValueError) as error:
      raise ValueError(f'config.procgen: {error}') from None
    check('num_action_repeats', lambda x: x == 1,
          "1 with config.env='procgen' (Procgen has no frame skip: a frame "
          'is an agent step)')
  check('fire_reset', lambda x: not x or config.env == 'atari',
        "False unless config.env='atari'")
  check('atari_backend', lambda x: x in ('gymnasium', 'vector'),
        "'gymnasium' or 'vector'")
  if config.atari_backend == 'vector' and config.env == 'atari':
    check('atari_backend', lambda x: not config.fire_reset,
          "'gymnasium' with config.fire_reset=True (the vector backend has "
          "no FireReset)")
    check('atari_backend', lambda x: (len(set(config.levels)) == 1 or
                                      config.envs_per_actor == 1),
          "'gymnasium' for several levels: a vector steps one game, and "
          'each worker process holds several levels')
  check('atari_vector_threads', lambda x: isinstance(x, int) and x >= 0,
        'a non-negative integer')
  for field in ('num_actors', 'envs_per_actor', 'unroll_length', 'batch_size',
                'max_inference_batch_size', 'queue_capacity'):
    check(field, positive_int, 'a positive integer')
  check('inference_timeout_ms', lambda x: x >= 0, 'non-negative')
  check('replay_capacity', positive_int, 'a positive integer')
  check('strategy', lambda x: x in STRATEGIES, f'one of {STRATEGIES}')
  check('runtime', lambda x: x in RUNTIMES, f'one of {RUNTIMES}')
  check('ray_cpus_per_actor', lambda x: x >= 0, 'non-negative')
  check('stop_at_frames', lambda x: x is None or positive_int(x),
        'a positive integer, or None to run to total_environment_frames')
  check('checkpoint_interval_s', lambda x: x > 0, 'positive')
  check('log_interval_s', lambda x: x > 0, 'positive')


def _checker(config):
  def check(field, ok, requirement):
    value = config[field]
    if not ok(value):
      raise ValueError(f'config.{field}={value!r}: must be {requirement}')
  return check


def validate_learner_config(config: ml_collections.ConfigDict) -> None:
  """Raises ValueError naming the first field whose value is out of range."""
  check = _checker(config)
  is_number = lambda x: isinstance(x, (int, float)) and math.isfinite(x)
  positive = lambda x: is_number(x) and x > 0
  check('total_environment_frames', positive, 'a positive number')
  check('num_action_repeats', lambda x: isinstance(x, int) and x > 0,
        'a positive integer')
  check('learning_rate', positive, 'positive')
  check('rmsprop_decay', lambda x: is_number(x) and 0 <= x < 1, 'in [0, 1)')
  check('rmsprop_momentum', lambda x: is_number(x) and 0 <= x < 1, 'in [0, 1)')
  check('rmsprop_epsilon', positive, 'positive')
  check('rmsprop_style', lambda x: x in choices.RMSPROP_STYLES,
        f'one of {choices.RMSPROP_STYLES}')
  # inf, like None, means no clipping: the command line cannot say None.
  positive_or_off = lambda x: x is None or (isinstance(x, (int, float)) and
                                            x > 0)
  check('max_grad_norm', positive_or_off,
        'positive, or None / inf for no clipping')
  check('discounting', lambda x: is_number(x) and 0 <= x <= 1, 'in [0, 1]')
  check('baseline_cost', lambda x: is_number(x) and x >= 0, 'non-negative')
  check('entropy_cost', lambda x: is_number(x) and x >= 0, 'non-negative')
  check('reward_clipping', lambda x: x in choices.REWARD_CLIPPINGS,
        f'one of {choices.REWARD_CLIPPINGS}')
  for field in ('clip_rho_threshold', 'clip_c_threshold',
                'clip_pg_rho_threshold'):
    check(field, positive_or_off, 'positive, or None / inf for no clipping')
  check('vtrace_lambda', lambda x: is_number(x) and 0 <= x <= 1, 'in [0, 1]')
  check('off_policy_correction', lambda x: x in choices.CORRECTIONS,
        f'one of {choices.CORRECTIONS}')
  check('replay_fraction', lambda x: is_number(x) and 0 <= x < 1, 'in [0, 1)')
