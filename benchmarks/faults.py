"""Faults for the soak benchmark, built inside environment worker
processes (so this module, like `impala_tf.envs`, imports no TensorFlow):
one for each way a worker steps its games (`config.atari_backend`)."""

import gymnasium as gym
import numpy as np


def _fail_now_and_then(rng: np.random.Generator, probability: float) -> None:
  """Raises with probability ``probability``: the one injected fault."""
  if rng.random() < probability:
    raise RuntimeError('injected environment failure (benchmarks/soak.py)')


class FaultyStep(gym.Wrapper):
  """Raises inside ``step`` with probability ``probability`` per step, as a
  crashing emulator or a lost connection to a simulator would."""

  def __init__(self, env: gym.Env, probability: float):
    super().__init__(env)
    self._probability = probability
    self._rng = np.random.default_rng()

  def step(self, action):
    _fail_now_and_then(self._rng, self._probability)
    return self.env.step(action)


def make_faulty(env_fn, probability: float) -> gym.Env:
  """``env_fn()`` wrapped in `FaultyStep`; picklable with
  `functools.partial`, like the factories it wraps."""
  return FaultyStep(env_fn(), probability)


class FaultyVector:
  """A vectorised group of games (`impala_tf.envs.atari_vector`) whose
  ``step`` raises as often as ``num_envs`` `FaultyStep` games would: each
  game's step fails with probability ``probability``."""

  def __init__(self, vector, probability: float):
    self._vector = vector
    self._probability = 1.0 - (1.0 - probability) ** vector.num_envs
    self._rng = np.random.default_rng()

  def step(self, actions):
    _fail_now_and_then(self._rng, self._probability)
    return self._vector.step(actions)

  def __getattr__(self, name):  # reset, close, num_envs, ...
    return getattr(self._vector, name)


def make_faulty_vector(vector_fn, probability: float) -> FaultyVector:
  """``vector_fn()`` wrapped in `FaultyVector`; picklable with
  `functools.partial`."""
  return FaultyVector(vector_fn(), probability)
