"""A memory task only a recurrent agent can solve.

The first observation shows a cue, one of ``num_cues``; the next ``delay - 1``
observations are blank; the one after that carries a query flag, and the
action taken on it is the answer: +1 if it names the cue, −1 otherwise (the
actions before the query are ignored). An episode is ``delay + 1`` steps. A feed-forward agent sees the same
blank query whatever the cue, so its expected return is at most
``(2 - num_cues) / num_cues`` (0 for two cues); an agent that remembers gets +1.

Observation: float32 ``[num_cues + 1]``: the one-hot cue at the first step,
the query flag in the last position at the last step, zeros in between.
"""

import gymnasium as gym
import numpy as np


class Memory(gym.Env):
  """Remember a cue over ``delay`` blank steps."""

  metadata = {'render_modes': []}

  def __init__(self, num_cues: int = 2, delay: int = 4):
    self.num_cues, self.delay = num_cues, delay
    self.observation_space = gym.spaces.Box(0, 1, (num_cues + 1,), np.float32)
    self.action_space = gym.spaces.Discrete(num_cues)
    self._cue = 0
    self._step = 0

  def reset(self, *, seed=None, options=None):
    super().reset(seed=seed)
    self._cue = int(self.np_random.integers(self.num_cues))
    self._step = 0
    observation = np.zeros(self.num_cues + 1, np.float32)
    observation[self._cue] = 1.0
    return observation, {}

  def step(self, action):
    if not self.action_space.contains(action):
      raise ValueError(
          f'Memory: action {action!r} is not in [0, {self.num_cues})')
    observation = np.zeros(self.num_cues + 1, np.float32)
    if self._step == self.delay:  # This action answered the query.
      reward = 1.0 if int(action) == self._cue else -1.0
      return observation, reward, True, False, {}
    self._step += 1
    if self._step == self.delay:
      observation[-1] = 1.0  # The query: answer with the next action.
    return observation, 0.0, False, False, {}
