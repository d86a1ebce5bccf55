"""From actors to learner: a bounded trajectory queue feeding tf.data.

Actors `put` single trajectories (leaves ``[T+1, ...]``); when the queue is
full, `put` blocks, which slows the actors down to the learner's pace
(backpressure) and loses nothing. The dataset stacks B trajectories into a
time-major batch ``[T+1, B, ...]`` and prefetches the next batch while the
learner computes.
"""

import collections
import queue
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


class TrajectoryQueue:
  """A bounded FIFO of trajectories between actor threads and the learner."""

  def __init__(self, capacity: int):
    if capacity < 1:
      raise ValueError(f'queue capacity must be positive, got {capacity}')
    self.capacity = capacity
    self._queue = queue.Queue(maxsize=capacity)
    self._closed = threading.Event()

  def put(self, trajectory: Trajectory) -> None:
    """Blocks while the queue is full; raises QueueClosedError once closed."""
    while not self._closed.is_set():
      try:
        self._queue.put(trajectory, timeout=_POLL_S)
        return
      except queue.Full:
        continue
    raise QueueClosedError('the trajectory queue is closed')

  def get(self) -> Optional[Trajectory]:
    """Blocks until a trajectory is there; None once the queue is closed."""
    while True:
      try:
        return self._queue.get(timeout=_POLL_S)
      except queue.Empty:
        if self._closed.is_set():
          return None

  def size(self) -> int:
    return self._queue.qsize()

  def close(self) -> None:
    self._closed.set()

  def __iter__(self) -> Iterator[Trajectory]:
    while True:
      trajectory = self.get()
      if trajectory is None:
        return
      yield trajectory


def stack_time_major(trajectories: List[Trajectory]) -> Trajectory:
  """B trajectories ``[T+1, ...]`` → one batch, ``[T+1, B, ...]`` (numpy).

  ``level_name`` and ``agent_state`` have no time axis: ``[B, ...]``.

  Numeric leaves are stacked into aligned memory (`zero_copy`), which
  tf.data's generator input takes as it is; it copies any other array
  while it holds the GIL (2 ms for a batch of 32 Atari unrolls).
  """
  along = lambda axis: lambda *xs: zero_copy.aligned_stack(xs, axis)
  return Trajectory(
      level_name=np.stack([t.level_name for t in trajectories]),
      agent_state=tree.map_structure(along(0),
                                     *[t.agent_state for t in trajectories]),
      env_outputs=tree.map_structure(along(1),
                                     *[t.env_outputs for t in trajectories]),
      agent_outputs=tree.map_structure(
          along(1), *[t.agent_outputs for t in trajectories]),
      policy_version=np.stack([t.policy_version for t in trajectories],
                              axis=1))


class ReplayBuffer:
  """The paper's replay (paper.md §2, Table D.3): a FIFO of trajectories,
  sampled uniformly with replacement.

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


def make_dataset(trajectory_queue: TrajectoryQueue,
                 batch_spec: Trajectory,
                 replay: Optional[ReplayBuffer] = None,
                 replay_fraction: float = 0.0) -> tf.data.Dataset:
  """Batches of B trajectories from the queue, time-major, prefetched.

  The batch is stacked in numpy before it enters TensorFlow, so each batch
  crosses into tf.data as one tensor per field rather than B of them.

  Args:
    trajectory_queue: where actors put trajectories.
    batch_spec: `tf.TensorSpec` nest of one time-major batch, as
      `trajectory_spec(..., batch_size=B)` makes it.
    replay: if given, every fresh trajectory is added to it and
      ``round(replay_fraction · B)`` of each batch are drawn from it (once it
      holds that many; until then batches are all fresh).
    replay_fraction: the share of each batch drawn from ``replay``.

  Returns:
    A dataset of `Trajectory` batches; it ends when the queue is closed.
  """
  batch_size = batch_spec.level_name.shape[0]
  num_replayed = (round(replay_fraction * batch_size)
                  if replay is not None else 0)

  def batches():
    while True:
      replayed = []
      if num_replayed and len(replay) >= num_replayed:
        replayed = replay.sample(num_replayed)
      trajectories = []
      while len(trajectories) < batch_size - len(replayed):
        trajectory = trajectory_queue.get()
        if trajectory is None:
          return
        trajectories.append(trajectory)
      if replay is not None:
        for trajectory in trajectories:
          replay.add(trajectory)
      yield stack_time_major(trajectories + replayed)

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
