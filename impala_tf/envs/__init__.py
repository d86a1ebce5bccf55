"""Environments by name, created inside environment worker processes.

Every environment is a `gymnasium.Env` with a discrete action space. An
episode ends for learning where ``terminated or truncated``; where the scored
episode is longer (Atari's life loss in training), ``info['game_over']`` says
whether the scored episode ended too.

This package must not import TensorFlow: worker processes import it.
"""

from typing import Optional, Tuple

import gymnasium as gym

ENVIRONMENTS = ('catch', 'memory', 'atari', 'dmlab', 'minatar', 'gym',
                'custom')


def make(env_name: str, level: str, training: bool = True,
         full_action_space: bool = False,
         fire_reset: bool = False,
         dataset_path: Optional[str] = None,
         level_cache_dir: Optional[str] = None,
         env_factory: Optional[str] = None) -> gym.Env:
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
  """
  check_level(env_name, level)
  if env_name == 'catch':
    from impala_tf.envs import catch  # pylint: disable=g-import-not-at-top
    return catch.Catch()
  if env_name == 'memory':
    from impala_tf.envs import memory  # pylint: disable=g-import-not-at-top
    return memory.Memory()
  if env_name == 'dmlab':
    from impala_tf.envs import dmlab  # pylint: disable=g-import-not-at-top
    return dmlab.DmLab(level, training=training, dataset_path=dataset_path,
                       level_cache_dir=level_cache_dir)
  if env_name == 'minatar':
    from impala_tf.envs import minatar  # pylint: disable=g-import-not-at-top
    return minatar.make_minatar(level)
  if env_name in ('gym', 'custom'):
    from impala_tf.envs import gym_env  # pylint: disable=g-import-not-at-top
    if env_name == 'gym':
      return gym_env.make_registered(level)
    return gym_env.make_custom(env_factory, level)
  from impala_tf.envs import atari  # pylint: disable=g-import-not-at-top
  return atari.make_atari(level, training=training,
                          full_action_space=full_action_space,
                          fire_reset=fire_reset)


def check_level(env_name: str, level: str) -> None:
  """Raises ValueError naming an unknown environment or level."""
  if env_name not in ENVIRONMENTS:
    raise ValueError(
        f'Unknown environment {env_name!r}; choose one of {ENVIRONMENTS}')
  if env_name == 'custom':
    return  # The factory decides what its levels are.
  if env_name == 'gym':
    from impala_tf.envs import gym_env  # pylint: disable=g-import-not-at-top
    gym_env.check_registered(level)
    return
  valid = levels(env_name)
  if level not in valid:
    raise ValueError(f'Unknown {env_name} level {level!r}; valid levels: '
                     f'{", ".join(valid)}')


def spaces_key(env_name: str, level: str, full_action_space: bool) -> str:
  """Levels with the same key have the same observation and action spaces,
  so one of them tells the spaces of all (DeepMind Lab levels share the
  action set and observations; Atari games do with the full action set)."""
  if env_name == 'dmlab' or (env_name == 'atari' and full_action_space):
    return env_name
  return f'{env_name}/{level}'


def levels(env_name: str) -> Tuple[str, ...]:
  """The levels of ``env_name``: every registered id for 'gym'; none listed
  for 'custom', whose factory accepts the names it knows."""
  if env_name == 'gym':
    return tuple(gym.registry)
  if env_name == 'custom':
    return ()
  if env_name == 'dmlab':
    from impala_tf.envs import dmlab  # pylint: disable=g-import-not-at-top
    return dmlab.levels()
  if env_name == 'atari':
    from impala_tf.envs import atari  # pylint: disable=g-import-not-at-top
    return atari.ATARI_57
  if env_name == 'minatar':
    from impala_tf.envs import minatar  # pylint: disable=g-import-not-at-top
    return minatar.GAMES
  return (env_name,)
