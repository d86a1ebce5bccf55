"""Catch from pixels: a ball falls, the paddle must be under it at the end.

A quick check of the whole system (Osband et al.'s bsuite Catch, re-written):
a ``rows × columns`` grid, the ball starts in a random column of the top row
and falls one row a step; the paddle in the bottom row moves left, stays or
moves right. When the ball reaches the bottom the episode ends with +1 if the
paddle is under it, −1 otherwise. The optimal return is +1; a random policy
gets about −0.6.

Observation: uint8 ``[rows, columns, 1]``, 255 where the ball or paddle is.
"""

import gymnasium as gym
import numpy as np


class Catch(gym.Env):
  """Catch on a grid of ``rows × columns`` cells."""

  metadata = {'render_modes': []}

  def __init__(self, rows: int = 10, columns: int = 5):
    self.rows, self.columns = rows, columns
    self.observation_space = gym.spaces.Box(0, 255, (rows, columns, 1),
                                            np.uint8)
    self.action_space = gym.spaces.Discrete(3)
    self._ball = (0, 0)
    self._paddle = columns // 2

  def reset(self, *, seed=None, options=None):
    super().reset(seed=seed)
    self._ball = (0, int(self.np_random.integers(self.columns)))
    self._paddle = self.columns // 2
    return self._observation(), {}

  def step(self, action):
    if not self.action_space.contains(action):
      raise ValueError(f'Catch: action {action!r} is not in {{0, 1, 2}}')
    self._paddle = int(np.clip(self._paddle + int(action) - 1, 0,
                               self.columns - 1))
    row, column = self._ball
    self._ball = (row + 1, column)
    terminated = self._ball[0] == self.rows - 1
    reward = 0.0
    if terminated:
      reward = 1.0 if column == self._paddle else -1.0
    return self._observation(), reward, terminated, False, {}

  def _observation(self):
    frame = np.zeros((self.rows, self.columns, 1), np.uint8)
    frame[self._ball[0], self._ball[1], 0] = 255
    frame[self.rows - 1, self._paddle, 0] = 255
    return frame
