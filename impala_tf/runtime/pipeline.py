"""From actors to learner: a bounded trajectory queue feeding tf.data.

Actors `put` one `Trajectory` per unroll of their group of environments
(leaves ``[T+1, n, ...]``: n trajectories side by side, one Python object
for all of them); when the queue holds its capacity of trajectories, `put`
blocks, which slows the actors down to the learner's pace (backpressure) and
loses nothing. The dataset takes B of those trajectories (columns), from as
many groups' unrolls as that needs, into one time-major batch
``[T+1, B, ...]``, and prefetches the next batch while the learner computes.
"""

import collections
import threading
from typing import Iterator, List, Optional

import numpy as np
import tensorflow as tf
import tree

from impala_tf.runtime import zero_copy
from impala_tf.types import (AgentOutput, StepOutput, StepOutputInfo,
                             Trajectory)

# How often a blocked put or get looks whether the queue was closed.
_POLL_S = 0.1


class QueueClosedError(RuntimeError):
  """Raised by `put` once the queue is closed."""


def num_trajectories(block: Trajectory) -> int:
  """How many environments' unrolls ``block`` holds side by side (its B)."""
  return len(block.level_name)


def columns(block: Trajectory, start: int, stop: int) -> Trajectory:
  """Trajectories ``start:stop`` of ``block`` (views, no copy)."""
  batch_major = lambda x: x[start:stop]
  time_major = lambda x: x[:, start:stop]
  return Trajectory(
      level_name=block.level_name[start:stop],
      agent_state=tree.map_structure(batch_major, block.agent_state),
      env_outputs=tree.map_structure(time_major, block.env_outputs),
      agent_outputs=tree.map_structure(time_major, block.agent_outputs),
      policy_version=block.policy_version[:, start:stop])


def concatenate(blocks: List[Trajectory]) -> Trajectory:
  """Blocks side by side: ``[T+1, B1 + B2 + ..., ...]`` (numpy).

  Numeric leaves go into aligned memory (`zero_copy`), which tf.data's
  generator input takes as it is; it copies any other array while it holds
  the GIL (2 ms for a batch of 32 Atari unrolls).
  """
  along = lambda axis: lambda *xs: zero_copy.aligned_concatenate(xs, axis)
  return Trajectory(
      level_name=np.concatenate([b.level_name for b in blocks]),
      agent_state=tree.map_structure(along(0),
                                     *[b.agent_state for b in blocks]),
      env_outputs=tree.map_structure(along(1),
                                     *[b.env_outputs for b in blocks]),
      agent_outputs=tree.map_structure(along(1),
                                       *[b.agent_outputs for b in blocks]),
      policy_version=zero_copy.aligned_concatenate(
          [b.policy_version for b in blocks], 1))


class TrajectoryQueue:
  """A bounded FIFO of trajectory blocks between actors and the learner.

  Args:
    capacity: the most trajectories (columns of blocks) it holds; a block
      wider than that still goes into an empty queue, alone.
  """

  def __init__(self, capacity: int):
    if capacity < 1:
      raise ValueError(f'queue capacity must be positive, got {capacity}')
    self.capacity = capacity
    self._blocks = collections.deque()
    self._held = 0  # Trajectories in the blocks held.
    self._changed = threading.Condition()
    self._closed = False

  def put(self, block: Trajectory) -> None:
    """Blocks while the block does not fit; raises QueueClosedError once
    the queue is closed."""
    width = num_trajectories(block)
    with self._changed:
      while (not self._closed and self._held and
             self._held + width > self.capacity):
        self._changed.wait(_POLL_S)
      if self._closed:
        raise QueueClosedError('the trajectory queue is closed')
      self._blocks.append(block)
      self._held += width
      self._changed.notify_all()

  def get(self) -> Optional[Trajectory]:
    """Blocks until a block is there; None once the queue is closed and
    drained."""
    with self._changed:
      while not self._blocks and not self._closed:
        self._changed.wait(_POLL_S)
      if not self._blocks:
        return None
      block = self._blocks.popleft()
      self._held -= num_trajectories(block)
      self._changed.notify_all()
      return block

  def size(self) -> int:
    """Trajectories held."""
    with self._changed:
      return self._held

  def close(self) -> None:
    with self._changed:
      self._closed = True
      self._changed.notify_all()

  def __iter__(self) -> Iterator[Trajectory]:
    while True:
      block = self.get()
      if block is None:
        return
      yield block


class ReplayBuffer:
  """The paper's replay (paper.md §2, Table D.3): a FIFO of trajectories
  (blocks of one, ``[T+1, 1, ...]``), sampled uniformly with replacement.

  Args:
    capacity: the most trajectories it holds (10,000 in the paper); the
      oldest goes first.
    seed: seeds the sampling.
  """

  def __init__(self, capacity: int, seed: int = 0):
    if capacity < 1:
      raise ValueError(f'replay capacity must be positive, got {capacity}')
    self._items = collections.deque(maxlen=capacity)
    self._rng = np.random.default_rng(seed)
    self._lock = threading.Lock()  # Each replica's dataset has a thread.

  def __len__(self) -> int:
    return len(self._items)

  def add(self, trajectory: Trajectory) -> None:
    with self._lock:
      self._items.append(trajectory)

  def sample(self, n: int) -> List[Trajectory]:
    with self._lock:
      indices = self._rng.integers(0, len(self._items), n)
      return [self._items[i] for i in indices]


class _Columns:
  """Takes trajectories from the queue's blocks, k at a time, splitting a
  block between two batches where it must."""

  def __init__(self, trajectory_queue: TrajectoryQueue):
    self._queue = trajectory_queue
    self._block, self._start = None, 0  # What is left of the current block.

  def take(self, k: int) -> Optional[List[Trajectory]]:
    """Blocks of k trajectories in all, in queue order; None once the
    queue is closed and drained."""
    parts = []
    while k:
      if self._block is None:
        self._block, self._start = self._queue.get(), 0
        if self._block is None:
          return None
      stop = min(self._start + k, num_trajectories(self._block))
      parts.append(columns(self._block, self._start, stop))
      k -= stop - self._start
      self._start = stop
      if stop == num_trajectories(self._block):
        self._block = None
    return parts


def make_dataset(trajectory_queue: TrajectoryQueue,
                 batch_spec: Trajectory,
                 replay: Optional[ReplayBuffer] = None,
                 replay_fraction: float = 0.0) -> tf.data.Dataset:
  """Batches of B trajectories from the queue, time-major, prefetched.

  The batch is put together in numpy before it enters TensorFlow, so each
  batch crosses into tf.data as one tensor per field.

  Args:
    trajectory_queue: where actors put trajectories.
    batch_spec: `tf.TensorSpec` nest of one time-major batch, as
      `trajectory_spec(..., batch_size=B)` makes it.
    replay: if given, every fresh trajectory is added to it (one column of
      its block, a view) and
      ``round(replay_fraction · B)`` of each batch are drawn from it (once it
      holds that many; until then batches are all fresh).
    replay_fraction: the share of each batch drawn from ``replay``.

  Returns:
    A dataset of `Trajectory` batches; it ends when the queue is closed.
  """
  batch_size = batch_spec.level_name.shape[0]
  num_replayed = (round(replay_fraction * batch_size)
                  if replay is not None else 0)
  fresh = _Columns(trajectory_queue)

  def batches():
    while True:
      replayed = []
      if num_replayed and len(replay) >= num_replayed:
        replayed = replay.sample(num_replayed)
      parts = fresh.take(batch_size - len(replayed))
      if parts is None:
        return
      if replay is not None:
        for part in parts:
          for i in range(num_trajectories(part)):
            replay.add(columns(part, i, i + 1))
      yield concatenate(parts + replayed)

  dataset = tf.data.Dataset.from_generator(batches,
                                           output_signature=batch_spec)
  return dataset.prefetch(1)


def trajectory_spec(observation_spec, state_spec, num_actions: int,
                    unroll_length: int,
                    batch_size: Optional[int] = None) -> Trajectory:
  """The `tf.TensorSpec` nest of one trajectory or of a time-major batch.

  Args:
    observation_spec: nest of `tf.TensorSpec` of one observation (no batch or
      time axis), e.g. ``tf.TensorSpec([84, 84, 4], tf.uint8)``.
    state_spec: nest of `tf.TensorSpec` of one agent's core state (no batch
      axis), e.g. ``agent.state_spec()``.
    num_actions: size of the action set.
    unroll_length: T.
    batch_size: B for a batch (leaves ``[T+1, B, ...]``, state and level
      ``[B, ...]``); None for one trajectory (``[T+1, ...]``).
  """
  batch = [] if batch_size is None else [batch_size]

  def time_major(shape=(), dtype=tf.float32):
    return tf.TensorSpec([unroll_length + 1, *batch, *shape], dtype)

  return Trajectory(
      level_name=tf.TensorSpec(batch, tf.string),
      agent_state=tree.map_structure(
          lambda s: tf.TensorSpec([*batch, *s.shape], s.dtype), state_spec),
      env_outputs=StepOutput(
          reward=time_major(),
          info=StepOutputInfo(
              episode_return=time_major(),
              episode_step=time_major(dtype=tf.int32)),
          done=time_major(dtype=tf.bool),
          observation=tree.map_structure(
              lambda s: time_major(s.shape, s.dtype), observation_spec)),
      agent_outputs=AgentOutput(
          action=time_major(dtype=tf.int32),
          policy_logits=time_major([num_actions]),
          baseline=time_major()),
      policy_version=time_major(dtype=tf.int64))
