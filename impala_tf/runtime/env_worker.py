"""The child side of an `environment_group.EnvironmentGroup`: a worker
process that builds the group's environments and steps them on command.

  python -m impala_tf.runtime.env_worker <socket file descriptor>

The child keeps the episode statistics and resets an environment as soon as
its episode ends, so every step's output is ready for the agent. Once the
parent shares a block for the observations (``share``), every step writes
them there and sends the rest without them. An exception
raised by one environment's ``step`` is reported and that environment is
rebuilt here; it comes back with ``done`` set. This module must not import
TensorFlow: it is all the worker imports besides the environments.
"""

import dataclasses
from multiprocessing import connection as mp_connection
import signal
import sys

import numpy as np
import tree

from impala_tf.types import Episode, GroupStep, StepOutput, StepOutputInfo


@dataclasses.dataclass
class _EpisodeStats:
  learning_return: float = 0.0
  learning_steps: int = 0
  scored_return: float = 0.0
  scored_steps: int = 0


def serve(file_descriptor: int) -> None:
  """The child's main loop: build the environments, then answer commands."""
  # Ctrl-C reaches the whole process group; the parent decides when to stop
  # (after its checkpoint) by closing the socket.
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  connection = mp_connection.Connection(file_descriptor)
  try:
    env_fns, vector_fn, level_names, seeds = connection.recv()
    if vector_fn is not None:
      group = _VectorChildGroup(vector_fn, level_names, seeds)
    else:
      group = _ChildGroup(env_fns, level_names, seeds)
  except EOFError:
    return
  except Exception as error:  # pylint: disable=broad-except
    connection.send(error)
    return
  shared = None  # The parent's block for the observations, once shared.
  while True:
    try:
      command, payload = connection.recv()
    except (EOFError, KeyboardInterrupt):
      return
    if command == 'close':
      return
    if command == 'reset':
      connection.send(group.reset())
    elif command == 'share':
      path, dtype, shape = payload
      shared = np.memmap(path, np.dtype(dtype), 'r+', shape=shape)
      connection.send(None)
    elif command == 'step':
      result = group.step(payload)
      if shared is not None:
        np.copyto(shared, result.env_output.observation)
        result = result._replace(env_output=result.env_output._replace(
            observation=None))
      connection.send(result)


class _Bookkeeping:
  """Episode statistics and outputs of a child's environments: what
  `_ChildGroup` and `_VectorChildGroup` share."""

  def __init__(self, level_names):
    self._level_names = level_names
    self._stats = [_EpisodeStats() for _ in level_names]
    self._observations = [None] * len(level_names)

  def _first_output(self) -> GroupStep:
    n = len(self._level_names)
    return GroupStep(
        self._output(np.zeros(n, np.float32), np.ones(n, bool),
                     np.zeros(n, np.float32), np.zeros(n, np.int32)), [], [])

  def _stacked_observations(self):
    """The observations, leaves ``[n, ...]``."""
    return tree.map_structure(lambda *xs: np.stack(xs), *self._observations)

  def _output(self, rewards, dones, returns, lengths) -> StepOutput:
    observation = self._stacked_observations()
    return StepOutput(
        reward=rewards,
        info=StepOutputInfo(episode_return=returns, episode_step=lengths),
        done=dones,
        observation=observation)

  def _account(self, rewards, dones, game_overs, failed,
               errors) -> GroupStep:
    """Counts a step's rewards into the episodes; ``failed`` environments
    (rebuilt, their episodes lost) count nothing."""
    n = len(self._level_names)
    returns = np.zeros(n, np.float32)
    lengths = np.zeros(n, np.int32)
    episodes = []
    for i in np.flatnonzero(~failed):
      stats = self._stats[i]
      stats.learning_return += rewards[i]
      stats.learning_steps += 1
      stats.scored_return += rewards[i]
      stats.scored_steps += 1
      returns[i] = stats.learning_return
      lengths[i] = stats.learning_steps
      if dones[i]:
        stats.learning_return, stats.learning_steps = 0.0, 0
      if game_overs[i]:
        episodes.append(Episode(self._level_names[i],
                                float(stats.scored_return),
                                stats.scored_steps, int(i)))
        stats.scored_return, stats.scored_steps = 0.0, 0
    rewards = np.where(failed, 0.0, rewards).astype(np.float32)
    return GroupStep(self._output(rewards, dones | failed, returns, lengths),
                     episodes, errors)


class _ChildGroup(_Bookkeeping):
  """The environments as the child process holds them, stepped one by one."""

  def __init__(self, env_fns, level_names, seeds):
    super().__init__(level_names)
    self._env_fns = env_fns
    self._seeds = list(seeds)
    self._envs = [fn() for fn in env_fns]

  def reset(self) -> GroupStep:
    for i in range(len(self._envs)):
      self._observations[i] = self._reset_env(i, seed=self._seeds[i])
    return self._first_output()

  def step(self, actions) -> GroupStep:
    n = len(self._envs)
    rewards = np.zeros(n, np.float32)
    dones, game_overs, failed = (np.zeros(n, bool) for _ in range(3))
    errors = []
    for i, env in enumerate(self._envs):
      try:
        observation, rewards[i], terminated, truncated, info = env.step(
            int(actions[i]))
      except Exception as error:  # pylint: disable=broad-except
        errors.append(f'{self._level_names[i]} environment {i} raised '
                      f'{error!r}; rebuilt it')
        self._rebuild(i)
        failed[i] = True
        continue
      dones[i] = terminated or truncated
      if dones[i]:
        game_overs[i] = info.get('game_over', True)
        observation = self._reset_env(i)
      self._observations[i] = observation
    return self._account(rewards, dones, game_overs, failed, errors)

  def _reset_env(self, i, seed=None):
    observation, _ = self._envs[i].reset(seed=seed)
    return observation

  def _rebuild(self, i):
    try:
      self._envs[i].close()
    except Exception:  # pylint: disable=broad-except
      pass
    self._seeds[i] += 1_000_003  # A fresh seed, away from the others.
    self._envs[i] = self._env_fns[i]()
    self._stats[i] = _EpisodeStats()
    self._observations[i] = self._reset_env(i, seed=self._seeds[i])


class _VectorChildGroup(_Bookkeeping):
  """The environments as one vectorised object that steps them all."""

  def __init__(self, vector_fn, level_names, seeds):
    super().__init__(level_names)
    self._vector_fn = vector_fn
    self._seeds = list(seeds)
    self._vector = vector_fn()

  def reset(self) -> GroupStep:
    self._observations = self._vector.reset(self._seeds)
    return self._first_output()

  def _stacked_observations(self):
    return self._observations  # Stacked already, ``[n, ...]``.

  def step(self, actions) -> GroupStep:
    n = len(self._level_names)
    try:
      step = self._vector.step(np.asarray(actions))
    except Exception as error:  # pylint: disable=broad-except
      self._rebuild()
      return self._account(np.zeros(n, np.float32), np.zeros(n, bool),
                           np.zeros(n, bool), np.ones(n, bool),
                           [f'{self._level_names[0]} vector of {n} '
                            f'environments raised {error!r}; rebuilt it'])
    self._observations = step.observation
    return self._account(step.reward, step.done, step.game_over,
                         np.zeros(n, bool), [])

  def _rebuild(self):
    try:
      self._vector.close()
    except Exception:  # pylint: disable=broad-except
      pass
    self._seeds = [seed + 1_000_003 for seed in self._seeds]
    self._vector = self._vector_fn()
    self._stats = [_EpisodeStats() for _ in self._level_names]
    self._observations = self._vector.reset(self._seeds)


if __name__ == '__main__':
  serve(int(sys.argv[1]))
