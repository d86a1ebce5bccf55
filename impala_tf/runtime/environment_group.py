"""Environments stepped in a child process (the original's ``py_process``):
the parent side.

An `EnvironmentGroup` owns one child process holding several environments and
steps all of them on one command, so that a single pipe round trip serves the
whole group. The child (`env_worker`) keeps the episode statistics and resets
an environment as soon as its episode ends.

Failures stay local: an environment whose ``step`` raises is rebuilt in the
child; a child process that dies (killed, segfault) is restarted here.
Either way the affected environments come back with ``done`` set, so the
agent starts a new episode.

The child is a fresh interpreter running `impala_tf.runtime.env_worker`,
connected by a socket pair: it imports only the environment code, not
TensorFlow or the parent's main module (which ``multiprocessing``'s spawn
would re-import), and it is never a fork of a process running TensorFlow's
threads. It exits when the parent's end of the socket closes, so a parent
that dies leaves no orphans. This module must not import TensorFlow.

Where a group's observations are one array (Atari's frames), they travel
through shared memory: after the first answer the parent maps a block of
their shape, the child writes every step's observations into it and sends
the rest alone, and the parent copies them out, straight into the actor's
unroll where it is given a place (``observation_out``). Pickling and
unpickling the frames held the learner process's GIL for a quarter of its
time with environments and network that cost nothing (REPRODUCE.md,
"Scale"); a numpy copy releases it. Nests (DeepMind Lab's frame and
instruction) go by pickle.
"""

import functools
import logging
from multiprocessing import connection as mp_connection
import os
import socket
import subprocess
import sys
import tempfile
from typing import Any, Callable, Optional, Sequence

import numpy as np

from impala_tf import envs
from impala_tf.types import GroupStep, StepOutput

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# How long the parent waits for one step of a group before it treats the
# child as hung (a step of 32 Atari games takes milliseconds).
STEP_TIMEOUT_S = 60.0
# The first answer also waits for the child to start and build every
# environment, which on a loaded machine (many workers starting at once)
# takes much longer.
START_TIMEOUT_S = 600.0


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
    self._shared = None  # The observations' shared block, once mapped.
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
    env_output = self._call('reset', None, START_TIMEOUT_S).env_output
    if (isinstance(env_output.observation, np.ndarray) and
        env_output.observation.dtype != object):
      self._share_observations(env_output.observation)
    return env_output

  def _share_observations(self, example: np.ndarray) -> None:
    """Maps a block shaped like ``example`` in this process and the child's
    (a file in /dev/shm where there is one, removed once both hold it).
    Where the space cannot be reserved (a small /dev/shm, as containers
    often have), the observations go on by pickle."""
    directory = '/dev/shm' if os.path.isdir('/dev/shm') else None
    with tempfile.NamedTemporaryFile(dir=directory,
                                     prefix='impala_tf_obs_') as block:
      try:
        # Reserved now: a block mapped beyond the space there is would
        # fail on first touch (SIGBUS), not here.
        os.posix_fallocate(block.fileno(), 0, example.nbytes)
      except OSError as error:
        logging.warning('no shared memory for the observations of %s (%s); '
                        'they go by pickle', self.level_names[0], error)
        return
      self._shared = np.memmap(block.name, example.dtype, 'r+',
                               shape=example.shape)
      self._call('share', (block.name, example.dtype.str, example.shape),
                 START_TIMEOUT_S)

  def step(self, actions: np.ndarray,
           observation_out: Optional[np.ndarray] = None) -> GroupStep:
    """Steps every environment with ``actions`` ``[n]``.

    ``observation_out``: where the observations (one array ``[n, ...]``)
    are to be written, a row of the actor's unroll, say; the step's
    ``env_output.observation`` is then that array. Without it they are a
    new array (or nest) of their own.

    If the child has died it is restarted and its environments come back
    with ``done`` set; the returned ``errors`` say so.
    """
    try:
      result = self._call('step', np.asarray(actions))
      observation = result.env_output.observation
      if observation is None:  # Written to the shared block.
        observation = self._shared
      result = result._replace(env_output=result.env_output._replace(
          observation=self._copy_out(observation, observation_out)))
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
      return GroupStep(env_output._replace(observation=self._copy_out(
          env_output.observation, observation_out)), [], [message])

  def _copy_out(self, observation, out: Optional[np.ndarray]):
    """``observation`` written to ``out`` (and ``out`` returned) where there
    is one; else one of its own (a copy of the shared block)."""
    if out is not None:
      np.copyto(out, observation)
      return out
    return np.array(observation) if observation is self._shared else (
        observation)

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
    self._shared = None  # A restarted child gets a block of its own.
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
