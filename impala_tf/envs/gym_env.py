"""Any gymnasium environment with a discrete action space: a registered one
by its id (``env='gym'``), or a user's own from a factory (``env='custom'``,
``env_factory='my_pkg.envs:make'``, called with the level name).

Both are built inside the environment worker processes, like every other
environment, so a factory must be importable there (on every node, for the
Ray runtime).
"""

import difflib
import importlib
from typing import Callable

import gymnasium as gym


def make_registered(env_id: str) -> gym.Env:
  return gym.make(env_id)


def check_registered(env_id: str) -> None:
  """Raises ValueError naming an id gymnasium does not know."""
  if env_id in gym.registry:
    return
  close = difflib.get_close_matches(env_id, list(gym.registry), n=5)
  hint = f'; did you mean {", ".join(close)}?' if close else ''
  raise ValueError(f'{env_id!r} is not a registered gymnasium environment '
                   f'id{hint}')


def load_factory(spec: str) -> Callable[[str], gym.Env]:
  """The callable named by ``'module.path:function'``; ValueError naming
  what is wrong otherwise."""
  module_name, _, attribute = (spec or '').partition(':')
  if not module_name or not attribute:
    raise ValueError(f'config.env_factory={spec!r}: must be '
                     "'module.path:function'")
  try:
    module = importlib.import_module(module_name)
  except ImportError as error:
    raise ValueError(f'config.env_factory={spec!r}: cannot import '
                     f'{module_name!r} ({error})') from None
  factory = getattr(module, attribute, None)
  if not callable(factory):
    raise ValueError(f'config.env_factory={spec!r}: {module_name} has no '
                     f'callable {attribute!r}')
  return factory


def make_custom(spec: str, level: str) -> gym.Env:
  env = load_factory(spec)(level)
  if not isinstance(env, gym.Env):
    raise ValueError(f'config.env_factory={spec!r} returned '
                     f'{type(env).__name__} for level {level!r}, not a '
                     'gymnasium.Env')
  return env


def check_action_space(env: gym.Env, name: str) -> None:
  """Raises ValueError unless the action space is `Discrete`."""
  if not isinstance(env.action_space, gym.spaces.Discrete):
    raise ValueError(
        f'{name} has a {type(env.action_space).__name__} action space; '
        'impala_tf trains policies over a Discrete action space only (a '
        'softmax over actions, as in the paper)')
