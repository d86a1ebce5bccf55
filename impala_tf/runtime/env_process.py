"""Environments stepped in a child process (the original's ``py_process``).

An `EnvironmentGroup` owns one child process holding several environments and
steps all of them on one command, so that a single pipe round trip serves the
whole group. The child keeps the episode statistics and resets an environment
as soon as its episode ends, so every step's output is ready for the agent.

Failures stay local: an exception raised by one environment's ``step`` is
reported and that environment is rebuilt in the child; a child process that
dies (killed, segfault) is restarted by the parent. Either way the affected
environments come back with ``done`` set, so the agent starts a new episode.

The child is a fresh interpreter running `impala_tf.runtime.env_worker`,
connected by a socket pair: it imports only the environment code, not
TensorFlow or the parent's main module (which ``multiprocessing``'s spawn
would re-import), and it is never a fork of a process running TensorFlow's
threads. It exits when the parent's end of the socket closes, so a parent
that dies leaves no orphans. This module must not import TensorFlow.
"""

import dataclasses
import functools
import logging
from multiprocessing import connection as mp_connection
import os
import signal
import socket
import subprocess
import sys
from typing import Any, Callable, List, NamedTuple, Optional, Sequence

import numpy as np
import tree

from impala_tf import envs
from impala_tf.types import StepOutput, StepOutputInfo

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# How long the parent waits for one step of a group before it treats the
# child as hung (a step of 32 Atari games takes milliseconds).
STEP_TIMEOUT_S = 60.0
# The first answer also waits for the child to start and build every
# environment, which on a loaded machine (many workers starting at once)
# takes much longer.
START_TIMEOUT_S = 600.0


class Episode(NamedTuple):
  """A finished scored episode (a whole game on Atari)."""
  level_name: str
  episode_return: float
  episode_length: int  # Agent steps.
  env_index: int  # Which environment played it (`EnvironmentGroup`).


class GroupStep(NamedTuple):
  """What one step of a group returns.

  env_output: `StepOutput` with leaves ``[n, ...]`` (numpy).
  episodes: the scored episodes that ended at this step.
  errors: descriptions of the environment failures handled at this step.
  """
  env_output: StepOutput
  episodes: List[Episode]
  errors: List[str]


@dataclasses.dataclass
class _EpisodeStats:
  learning_return: float = 0.0
  learning_steps: int = 0
  scored_return: float = 0.0
  scored_steps: int = 0


def make_env_fn(env_name: str, level: str, training: bool = True,
                **options) -> Callable:
  """A picklable factory for `envs.make`, to be called in the child;
  ``options`` are `envs.make`'s keyword arguments."""
  return functools.partial(envs.make, env_name, level, training, **options)


class EnvironmentGroup:
  """Several environments in one child process, stepped together.

  Args:
    env_fns: picklable callables, each returning a `gymnasium.Env`.
    level_names: one level name per environment (for episode statistics).
    seed: base seed; environment i is seeded with ``seed + i`` and, after a
      restart, with fresh seeds further on.
    first_index: the ``env_index`` of environment 0 in episodes (its index in
      a fleet of groups); environment i's is ``first_index + i``.
    vector_fn: instead of stepping ``env_fns`` one by one, a picklable
      callable returning one object that steps them all at once, like
      `impala_tf.envs.atari_vector.AtariVectorGame` (``reset(seeds)`` →
      observations; ``step(actions)`` → a `VectorStep`). ``env_fns`` still
      give the group's size.
  """

  def __init__(self, env_fns: Sequence[Callable], level_names: Sequence[str],
               seed: int = 0, first_index: int = 0,
               vector_fn: Optional[Callable] = None):
    if len(env_fns) != len(level_names):
      raise ValueError(f'{len(env_fns)} env_fns but {len(level_names)} '
                       'level_names')
    self._env_fns = list(env_fns)
    self.level_names = list(level_names)
    self._seed = seed
    self._first_index = first_index
    self._vector_fn = vector_fn
    self._generation = 0
    self._process = None
    self._connection = None
    self.num_restarts = 0
    self.num_env_errors = 0  # Environments that raised and were rebuilt.

  @property
  def size(self) -> int:
    return len(self._env_fns)

  @property
  def pid(self) -> Optional[int]:
    return self._process.pid if self._process is not None else None

  def start(self) -> StepOutput:
    """Starts the child and returns the first outputs (``done`` all set)."""
    self._start_process()
    return self._call('reset', None, START_TIMEOUT_S).env_output

  def step(self, actions: np.ndarray) -> GroupStep:
    """Steps every environment with ``actions`` ``[n]``.

    If the child has died it is restarted and its environments come back
    with ``done`` set; the returned ``errors`` say so.
    """
    try:
      result = self._call('step', np.asarray(actions))
      self.num_env_errors += len(result.errors)
      if self._first_index:
        result = result._replace(episodes=[
            e._replace(env_index=self._first_index + e.env_index)
            for e in result.episodes])
      return result
    except (EOFError, BrokenPipeError, ConnectionResetError, TimeoutError,
            OSError) as error:
      message = (f'environment process {self.pid} ({self.level_names[0]}...) '
                 f'failed: {error!r}; restarting it')
      logging.warning(message)
      self.num_restarts += 1
      self._stop_process()
      env_output = self.start()
      return GroupStep(env_output, [], [message])

  def close(self) -> None:
    """Stops the child process; safe to call more than once."""
    if self._connection is not None:
      try:
        self._connection.send(('close', None))
      except (BrokenPipeError, OSError):
        pass
    self._stop_process()

  def _call(self, command: str, payload: Any,
            timeout_s: float = STEP_TIMEOUT_S) -> GroupStep:
    self._connection.send((command, payload))
    if not self._connection.poll(timeout_s):
      raise TimeoutError(f'no answer to {command!r} in {timeout_s} s')
    result = self._connection.recv()
    if isinstance(result, BaseException):  # The child could not build envs.
      raise result
    return result

  def _start_process(self) -> None:
    parent_socket, child_socket = socket.socketpair()
    # The child must import this package wherever the parent found it.
    environment = dict(os.environ)
    environment['PYTHONPATH'] = os.pathsep.join(
        p for p in (_PACKAGE_PARENT, environment.get('PYTHONPATH')) if p)
    with child_socket:
      self._process = subprocess.Popen(
          [sys.executable, '-m', 'impala_tf.runtime.env_worker',
           str(child_socket.fileno())],
          pass_fds=[child_socket.fileno()],
          stdin=subprocess.DEVNULL,
          env=environment)
    self._connection = mp_connection.Connection(parent_socket.detach())
    seeds = [self._seed + self._generation * self.size + i
             for i in range(self.size)]
    self._generation += 1
    self._connection.send((self._env_fns, self._vector_fn, self.level_names,
                           seeds))

  def _stop_process(self) -> None:
    if self._connection is not None:
      self._connection.close()  # The child sees EOF and exits.
    if self._process is not None:
      try:
        self._process.wait(timeout=5)
      except subprocess.TimeoutExpired:
        self._process.kill()
        self._process.wait()
    self._process = None
    self._connection = None


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
  while True:
    try:
      command, payload = connection.recv()
    except (EOFError, KeyboardInterrupt):
      return
    if command == 'close':
      return
    if command == 'reset':
      connection.send(group.reset())
    elif command == 'step':
      connection.send(group.step(payload))


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
