"""Atari games that cost nothing to step: an upper bound for the system.

`FreeAtariGame` has the interface of `impala_tf.envs.atari_vector.
AtariVectorGame` (``reset(seeds)``, ``step(actions)`` → `VectorStep`,
``close()``), but emulates nothing: every step hands out a copy of one
fixed stack of frames ``[n, 84, 84, 4]``, as the vector backend hands out
a copy of its stacks. Everything else the system does per step is real:
the worker process's bookkeeping, pickling and the socket to the learner
process, the actor threads, batched inference, the unrolls and the learner.

`benchmarks/throughput.py --free_environments` runs the whole system with
these in the worker processes (``--part=system_free``): what it measures is
what the system would run at if the environments were free, so no Atari
backend can make the system faster than that on the same machine.
"""

import functools

import numpy as np

from impala_tf.envs import atari_vector

# Every game ends after this many agent steps (games end at staggered
# steps), so that episode ends and their bookkeeping happen as in training.
EPISODE_STEPS = 800


class FreeAtariGame:
  """``num_envs`` stand-ins for Atari games that emulate nothing.

  Args:
    num_envs: how many.
    num_actions: size of the action set (actions are checked against it).
  """

  def __init__(self, num_envs: int, num_actions: int):
    self.num_envs = num_envs
    self.num_actions = num_actions
    rng = np.random.default_rng(0)
    self._frames = rng.integers(0, 256, (num_envs, 84, 84, 4), np.uint8)
    self._steps = np.arange(num_envs) * (EPISODE_STEPS // max(num_envs, 1))

  def reset(self, seeds) -> np.ndarray:
    del seeds  # Nothing is random.
    return self._frames.copy()

  def step(self, actions: np.ndarray) -> atari_vector.VectorStep:
    actions = np.asarray(actions)
    if actions.shape != (self.num_envs,) or not (
        (0 <= actions) & (actions < self.num_actions)).all():
      raise ValueError(f'expected {self.num_envs} actions below '
                       f'{self.num_actions}, got {actions!r}')
    self._steps += 1
    done = self._steps % EPISODE_STEPS == 0
    return atari_vector.VectorStep(
        observation=self._frames.copy(),
        reward=(self._steps % 100 == 0).astype(np.float32),
        done=done,
        game_over=done)

  def close(self) -> None:
    pass


def make_vector_fn(num_actions: int):
  """A stand-in for `impala_tf.runtime.fleet.make_vector_fn`: every group
  gets a picklable factory of `FreeAtariGame`s."""

  def vector_fn(config, levels, training):
    del config
    if not training:  # Evaluation plays real games.
      return None
    return functools.partial(FreeAtariGame, len(levels), num_actions)

  return vector_fn
