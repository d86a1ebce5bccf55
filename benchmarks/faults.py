"""Faults for the soak benchmark, built inside environment worker
processes (so this module, like `impala_tf.envs`, imports no TensorFlow)."""

import gymnasium as gym
import numpy as np


class FaultyStep(gym.Wrapper):
  """Raises inside ``step`` with probability ``probability`` per step, as a
  crashing emulator or a lost connection to a simulator would."""

  def __init__(self, env: gym.Env, probability: float):
    super().__init__(env)
    self._probability = probability
    self._rng = np.random.default_rng()

  def step(self, action):
    if self._rng.random() < self._probability:
      raise RuntimeError('injected environment failure (benchmarks/soak.py)')
    return self.env.step(action)


def make_faulty(env_fn, probability: float) -> gym.Env:
  """``env_fn()`` wrapped in `FaultyStep`; picklable with
  `functools.partial`, like the factories it wraps."""
  return FaultyStep(env_fn(), probability)
