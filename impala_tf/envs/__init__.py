"""Environments by name, created inside environment worker processes.

Every environment is a `gymnasium.Env` with a discrete action space. An
episode ends for learning where ``terminated or truncated``; where the scored
episode is longer (Atari's life loss in training), ``info['game_over']`` says
whether the scored episode ended too.

`SUITES` is the registry: one `Suite` per environment name, saying how to
make a level, which levels there are, whether all levels share their spaces
and which torso fits. A suite's module is imported only when the suite is
used, so that its dependency (ale-py, minatar, procgen, DeepMind Lab) is
needed only then. Adding a suite is adding its module and one entry here.

This package must not import TensorFlow: worker processes import it.
"""

import importlib
from typing import Callable, NamedTuple, Optional, Tuple

import gymnasium as gym


class Options(NamedTuple):
  """What `make` passes on to a suite besides the level (see `make`)."""
  training: bool = True
  full_action_space: bool = False
  fire_reset: bool = False
  dataset_path: Optional[str] = None
  level_cache_dir: Optional[str] = None
  env_factory: Optional[str] = None
  procgen: Optional[dict] = None


class Suite(NamedTuple):
  """One environment suite.

  module: the module of ``impala_tf.envs`` that makes its environments.
  make: ``(module, level, options) -> gymnasium.Env``.
  levels: ``module -> the level names``; None where any name may be valid
    (``custom``: its factory decides).
  shared_spaces: ``options -> bool``: whether every level has the same
    observation and action spaces, so that one level tells the spaces of all.
  torso: the torso that fits its observations (`config.torso='auto'`); None
    to choose from the observations themselves.
  """
  module: str
  make: Callable[..., gym.Env]
  levels: Optional[Callable[..., Tuple[str, ...]]]
  shared_spaces: Callable[[Options], bool] = lambda options: False
  torso: Optional[str] = None


SUITES = {
    'catch': Suite(
        'catch', lambda m, level, options: m.Catch(),
        lambda m: ('catch',), torso='mlp'),
    'memory': Suite(
        'memory', lambda m, level, options: m.Memory(),
        lambda m: ('memory',), torso='mlp'),
    'atari': Suite(
        'atari',
        lambda m, level, options: m.make_atari(
            level, training=options.training,
            full_action_space=options.full_action_space,
            fire_reset=options.fire_reset),
        lambda m: m.ATARI_57,
        # With the full action set every game has the same spaces.
        shared_spaces=lambda options: options.full_action_space,
        torso='shallow'),
    'dmlab': Suite(
        'dmlab',
        lambda m, level, options: m.DmLab(
            level, training=options.training,
            dataset_path=options.dataset_path,
            level_cache_dir=options.level_cache_dir),
        lambda m: m.levels(),
        shared_spaces=lambda options: True,
        torso='shallow'),
    'minatar': Suite(
        'minatar', lambda m, level, options: m.make_minatar(level),
        lambda m: m.GAMES, torso='minatar'),
    'procgen': Suite(
        'procgen', lambda m, level, options: m.make_procgen(
            level, options.procgen),
        lambda m: m.GAMES, shared_spaces=lambda options: True,
        torso='deep'),
    'gym': Suite(
        'gym_env', lambda m, level, options: m.make_registered(level),
        lambda m: tuple(gym.registry)),
    'custom': Suite(
        'gym_env',
        lambda m, level, options: m.make_custom(options.env_factory, level),
        None),
}
ENVIRONMENTS = tuple(SUITES)


def suite_module(env_name: str):
  """The module of ``env_name``'s suite, imported now."""
  return importlib.import_module(f'impala_tf.envs.{SUITES[env_name].module}')


def make(env_name: str, level: str, training: bool = True,
         full_action_space: bool = False,
         fire_reset: bool = False,
         dataset_path: Optional[str] = None,
         level_cache_dir: Optional[str] = None,
         env_factory: Optional[str] = None,
         procgen: Optional[dict] = None) -> gym.Env:
  """Creates ``level`` of ``env_name`` (e.g. 'atari', 'pong').

  Args:
    env_name: one of `ENVIRONMENTS`.
    level: one of ``levels(env_name)``.
    training: training or evaluation protocol (on Atari, a lost life ends a
      training episode only).
    full_action_space: Atari only: all 18 actions instead of the game's
      minimal set (the multi-task agent, App. G).
    fire_reset: Atari only: press FIRE at every game start and lost life
      (`atari.FireReset`).
    dataset_path: DMLab only: where the psychlab datasets are.
    level_cache_dir: DMLab only: a directory to cache compiled levels in.
    env_factory: 'custom' only: ``'module.path:function'``, a callable
      ``level -> gymnasium.Env``.
    procgen: Procgen only: `procgen.Settings` as a dict (``config.procgen``:
      distribution mode, levels, visual options); None: its defaults.
  """
  check_level(env_name, level)
  options = Options(training, full_action_space, fire_reset, dataset_path,
                    level_cache_dir, env_factory, procgen)
  return SUITES[env_name].make(suite_module(env_name), level, options)


def check_level(env_name: str, level: str) -> None:
  """Raises ValueError naming an unknown environment or level."""
  if env_name not in SUITES:
    raise ValueError(
        f'Unknown environment {env_name!r}; choose one of {ENVIRONMENTS}')
  if env_name == 'gym':  # Its own check names the ids close to a typo.
    suite_module('gym').check_registered(level)
    return
  if SUITES[env_name].levels is None:
    return  # The factory decides what its levels are.
  valid = levels(env_name)
  if level not in valid:
    raise ValueError(f'Unknown {env_name} level {level!r}; valid levels: '
                     f'{", ".join(valid)}')


def spaces_key(env_name: str, level: str, full_action_space: bool) -> str:
  """Levels with the same key have the same observation and action spaces,
  so one of them tells the spaces of all (DeepMind Lab levels and Procgen
  games share the action set and observations; Atari games do with the full
  action set)."""
  options = Options(full_action_space=full_action_space)
  if SUITES[env_name].shared_spaces(options):
    return env_name
  return f'{env_name}/{level}'


def levels(env_name: str) -> Tuple[str, ...]:
  """The levels of ``env_name``: every registered id for 'gym'; none listed
  for 'custom', whose factory accepts the names it knows."""
  suite = SUITES[env_name]
  if suite.levels is None:
    return ()
  return suite.levels(suite_module(env_name))


def default_torso(env_name: str) -> Optional[str]:
  """The torso that fits ``env_name``'s observations; None where the
  observations must tell (`Suite.torso`)."""
  return SUITES[env_name].torso
