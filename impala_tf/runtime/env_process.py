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
  """

  def __init__(self, env_fns: Sequence[Callable], level_names: Sequence[str],
               seed: int = 0, first_index: int = 0):
    if len(env_fns) != len(level_names):
      raise ValueError(f'{len(env_fns)} env_fns but {len(level_names)} '
                       'level_names')
    self._env_fns = list(env_fns)
    self.level_names = list(level_names)
    self._seed = seed
    self._first_index = first_index
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
    self._connection.send((self._env_fns, self.level_names, seeds))

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
    env_fns, level_names, seeds = connection.recv()
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


class _ChildGroup:
  """The environments as the child process holds them."""

  def __init__(self, env_fns, level_names, seeds):
    self._env_fns = env_fns
    self._level_names = level_names
    self._seeds = list(seeds)
    self._envs = [fn() for fn in env_fns]
    self._stats = [_EpisodeStats() for _ in self._envs]
    self._observations = [None] * len(self._envs)

  def reset(self) -> GroupStep:
    for i in range(len(self._envs)):
      self._observations[i] = self._reset_env(i, seed=self._seeds[i])
    n = len(self._envs)
    return GroupStep(
        self._output(np.zeros(n, np.float32), np.ones(n, bool),
                     np.zeros(n, np.float32), np.zeros(n, np.int32)), [], [])

  def step(self, actions) -> GroupStep:
    n = len(self._envs)
    rewards = np.zeros(n, np.float32)
    dones = np.zeros(n, bool)
    returns = np.zeros(n, np.float32)
    lengths = np.zeros(n, np.int32)
    episodes, errors = [], []
    for i, env in enumerate(self._envs):
      stats = self._stats[i]
      try:
        observation, reward, terminated, truncated, info = env.step(
            int(actions[i]))
      except Exception as error:  # pylint: disable=broad-except
        errors.append(f'{self._level_names[i]} environment {i} raised '
                      f'{error!r}; rebuilt it')
        self._rebuild(i)
        dones[i] = True
        continue
      stats.learning_return += reward
      stats.learning_steps += 1
      stats.scored_return += reward
      stats.scored_steps += 1
      rewards[i] = reward
      returns[i] = stats.learning_return
      lengths[i] = stats.learning_steps
      if terminated or truncated:
        dones[i] = True
        stats.learning_return, stats.learning_steps = 0.0, 0
        if info.get('game_over', True):
          episodes.append(Episode(self._level_names[i],
                                  float(stats.scored_return),
                                  stats.scored_steps, i))
          stats.scored_return, stats.scored_steps = 0.0, 0
        observation = self._reset_env(i)
      self._observations[i] = observation
    return GroupStep(self._output(rewards, dones, returns, lengths), episodes,
                     errors)

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

  def _output(self, rewards, dones, returns, lengths) -> StepOutput:
    observation = tree.map_structure(lambda *xs: np.stack(xs),
                                     *self._observations)
    return StepOutput(
        reward=rewards,
        info=StepOutputInfo(episode_return=returns, episode_step=lengths),
        done=dones,
        observation=observation)
