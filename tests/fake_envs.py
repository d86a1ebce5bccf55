"""Small environments for tests of the runtime (no TensorFlow imports here:
environment worker processes import this module)."""

import gymnasium as gym
import numpy as np

_failures = {'count': 0}


class Counter(gym.Env):
  """Observation = steps since reset (as uint8 [1]); reward = the action;
  episodes last ``length`` steps."""

  def __init__(self, length=3):
    self.length = length
    self.observation_space = gym.spaces.Box(0, 255, (1,), np.uint8)
    self.action_space = gym.spaces.Discrete(4)
    self._t = 0

  def reset(self, *, seed=None, options=None):
    super().reset(seed=seed)
    self._t = 0
    return np.array([0], np.uint8), {}

  def step(self, action):
    self._t += 1
    return (np.array([self._t], np.uint8), float(action),
            self._t == self.length, False, {})


class Flaky(Counter):
  """A Counter whose step raises at step ``fail_at`` of its life, at most
  ``max_failures`` times in one process."""

  def __init__(self, fail_at=2, max_failures=1):
    super().__init__(length=100)
    self.fail_at, self.max_failures = fail_at, max_failures
    self._steps = 0

  def step(self, action):
    self._steps += 1
    if self._steps == self.fail_at and _failures['count'] < self.max_failures:
      _failures['count'] += 1
      raise RuntimeError('flaky environment failed')
    return super().step(action)


class Unbuildable(gym.Env):
  """Raises when built, as an environment with a missing dependency would."""

  def __init__(self):
    raise ImportError('unbuildable: missing dependency')


def make_counter(level):
  """A user's environment factory (``env_factory='tests.fake_envs:make_counter'``):
  levels name the episode length, e.g. 'length_5'."""
  return Counter(length=int(level.split('_')[-1]))


class TwoJoysticks(Counter):
  """A Counter with a MultiDiscrete action space (unsupported)."""

  def __init__(self):
    super().__init__()
    self.action_space = gym.spaces.MultiDiscrete([3, 3])


def make_two_joysticks(level):
  del level
  return TwoJoysticks()


class CounterVector:
  """A vectorised group of Counters (the `EnvironmentGroup` ``vector_fn``
  interface) whose step raises once, at its ``fail_at``-th call."""

  def __init__(self, num_envs, fail_at=None):
    self.num_envs = num_envs
    self._envs = [Counter() for _ in range(num_envs)]
    self._fail_at, self._calls = fail_at, 0

  def reset(self, seeds):
    return np.stack([env.reset(seed=seed)[0]
                     for env, seed in zip(self._envs, seeds)])

  def step(self, actions):
    from impala_tf.envs.atari_vector import VectorStep  # pylint: disable=g-import-not-at-top
    self._calls += 1
    if self._calls == self._fail_at:
      raise RuntimeError('vector failed')
    results = [env.step(int(a)) for env, a in zip(self._envs, actions)]
    done = np.array([r[2] for r in results])
    observations = [env.reset()[0] if d else r[0]
                    for env, r, d in zip(self._envs, results, done)]
    return VectorStep(np.stack(observations),
                      np.array([r[1] for r in results], np.float32), done,
                      done)

  def close(self):
    pass


def make_counter_vector(num_envs, fail_at=None):
  return CounterVector(num_envs, fail_at)
