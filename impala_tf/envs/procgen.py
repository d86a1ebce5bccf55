"""Procgen (Cobbe et al., 2020): sixteen procedurally generated games, the
benchmark on which the paper's deep torso became "the IMPALA CNN".

Procgen's own protocol, which we keep: 64 × 64 RGB frames, the 15 actions of
every game, no frame skip and no frame stack (a frame is an agent step), and
the episode ends where the game says (it auto-resets to a new level; a
timeout, 1,000 steps in most games, is part of the game). Its
generalisation protocol trains on a fixed set of levels (``num_levels``
seeds from ``start_level``: 200 in easy mode, 500 in hard) and tests on the
full distribution (``num_levels=0``: any level seed; docs/paper.md §4.6).

The games run in procgen's vectorised C++ environment, ``ProcgenGym3Env``:

* `ProcgenVector` steps a worker process's n copies of one game as one
  object (training; ``fleet.make_vector_fn``), as the Atari vector backend
  does;
* `ProcgenGame` is one game as a `gymnasium.Env` (evaluation, videos and
  reading the spaces).

procgen is imported only here, when a Procgen run needs it (the package
installs with ``--no-deps``: its metadata asks for numpy < 2, README).
"""

from typing import Any, Dict, NamedTuple, Optional, Sequence

import gymnasium as gym
import numpy as np

GAMES = ('bigfish', 'bossfight', 'caveflyer', 'chaser', 'climber', 'coinrun',
         'dodgeball', 'fruitbot', 'heist', 'jumper', 'leaper', 'maze', 'miner',
         'ninja', 'plunder', 'starpilot')
DISTRIBUTION_MODES = ('easy', 'hard')
# The generalisation protocol's training levels per mode (docs/paper.md
# §4.6): train on these many, test on all.
TRAINING_LEVELS = {'easy': 200, 'hard': 500}
NUM_ACTIONS = 15
FRAME_SHAPE = (64, 64, 3)
# Procgen's own rendering rate, for videos of its games.
FRAMES_PER_SECOND = 15


class Settings(NamedTuple):
  """What ``ProcgenGym3Env`` is given besides the game (``config.procgen``).

  distribution_mode: 'easy' or 'hard'.
  num_levels: how many level seeds to draw from; 0 draws from all of them
    (the test distribution).
  start_level: the first level seed of the ``num_levels``.
  use_backgrounds, restrict_themes, use_monochrome_assets, paint_vel_info:
    procgen's visual options, with its defaults.
  """
  distribution_mode: str = 'easy'
  num_levels: int = 200
  start_level: int = 0
  use_backgrounds: bool = True
  restrict_themes: bool = False
  use_monochrome_assets: bool = False
  paint_vel_info: bool = False


def settings_from(procgen: Optional[Dict[str, Any]]) -> Settings:
  """`Settings` from a config's ``procgen`` dict (None: the defaults)."""
  return Settings(**(procgen or {}))


def check_settings(settings: Settings) -> None:
  """Raises ValueError naming the first bad setting."""
  if settings.distribution_mode not in DISTRIBUTION_MODES:
    raise ValueError(f'distribution_mode={settings.distribution_mode!r}: '
                     f'must be one of {DISTRIBUTION_MODES}')
  for name in ('num_levels', 'start_level'):
    value = getattr(settings, name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
      raise ValueError(f'{name}={value!r}: must be an integer >= 0')


def check_game(game: str) -> None:
  if game not in GAMES:
    raise ValueError(f'Unknown procgen game {game!r}; valid games: '
                     f'{", ".join(GAMES)}')


def _procgen():
  try:
    # Optional: only Procgen runs need it, and they get a hint without it.
    import procgen  # pylint: disable=g-import-not-at-top
  except ImportError as error:
    raise ImportError(
        'Procgen is not installed: pip install --no-deps -r '
        f'requirements-no-deps.txt (README) ({error})') from None
  return procgen


def _make_gym3(game: str, num_envs: int, settings: Settings, seed: int):
  """procgen's vectorised environment; ``seed`` draws the level sequence of
  all ``num_envs`` games (each gets its own from it)."""
  # procgen takes its seed as an int32. No threads of its own: the worker
  # processes are the parallelism, as with Atari's vector backend.
  return _procgen().ProcgenGym3Env(
      num=num_envs, env_name=game, rand_seed=int(seed) % (2**31 - 1),
      num_threads=0, **settings._asdict())


class VectorStep(NamedTuple):
  observation: np.ndarray  # uint8 [n, 64, 64, 3].
  reward: np.ndarray  # float32 [n], raw.
  done: np.ndarray  # bool [n]: the episode ended (the next one has begun).
  game_over: np.ndarray  # bool [n]: the same; Procgen has no lives.


class ProcgenVector:
  """``num_envs`` games of ``game`` stepped together in procgen's C++.

  Where an episode ends, the observation returned is the next level's
  first frame (procgen resets by itself), the convention of
  `EnvironmentGroup`.
  """

  def __init__(self, game: str, num_envs: int, settings: Settings):
    check_game(game)
    check_settings(settings)
    self._game = game
    self._settings = settings
    self.num_envs = num_envs
    self.num_actions = NUM_ACTIONS
    self._env = None

  def reset(self, seeds: Sequence[int]) -> np.ndarray:
    """Starts every game anew from ``seeds[0]`` (procgen seeds a vector
    with one number); returns the first observations ``[n, 64, 64, 3]``."""
    self.close()
    self._env = _make_gym3(self._game, self.num_envs, self._settings,
                           seeds[0])
    _, observation, _ = self._env.observe()
    return observation['rgb']

  def step(self, actions: np.ndarray) -> VectorStep:
    self._env.act(np.asarray(actions, np.int32))
    reward, observation, first = self._env.observe()
    done = np.asarray(first, bool)
    return VectorStep(observation=observation['rgb'],
                      reward=np.asarray(reward, np.float32),
                      done=done, game_over=done)

  def level_seeds(self) -> np.ndarray:
    """int [n]: the level each game is playing now."""
    return np.array([info['level_seed'] for info in self._env.get_info()])

  def close(self) -> None:
    if self._env is not None:
      self._env.close()
      self._env = None


def make_vector_game(game: str, num_envs: int,
                     procgen: Optional[Dict[str, Any]]) -> ProcgenVector:
  """A picklable factory (with `functools.partial`) for worker processes."""
  return ProcgenVector(game, num_envs, settings_from(procgen))


class ProcgenGame(gym.Env):
  """One game as a `gymnasium.Env`: ``reset(seed=s)`` starts the level
  sequence of seed ``s``; an episode's end returns the next level's first
  frame, and ``reset()`` without a seed goes on from there."""

  metadata = {'render_modes': ['rgb_array'],
              'render_fps': FRAMES_PER_SECOND}

  def __init__(self, game: str, settings: Settings):
    self._vector = ProcgenVector(game, 1, settings)  # Checks both.
    self._observation = None
    self.observation_space = gym.spaces.Box(0, 255, FRAME_SHAPE, np.uint8)
    self.action_space = gym.spaces.Discrete(NUM_ACTIONS)

  def reset(self, *, seed: Optional[int] = None, options=None):
    super().reset(seed=seed)
    if seed is not None or self._observation is None:
      if seed is None:
        seed = int(self.np_random.integers(2**31 - 1))
      self._observation = self._vector.reset([seed])[0]
    return self._observation, self._info()

  def step(self, action):
    step = self._vector.step(np.array([action]))
    self._observation = step.observation[0]
    return (self._observation, float(step.reward[0]), bool(step.done[0]),
            False, self._info())

  def _info(self):
    return {'level_seed': int(self._vector.level_seeds()[0])}

  def render(self):
    return self._observation

  def close(self):
    self._vector.close()


def make_procgen(game: str, procgen: Optional[Dict[str, Any]]) -> gym.Env:
  return ProcgenGame(game, settings_from(procgen))
