"""Trajectory queue backpressure, the tf.data pipeline, and the actor loop."""

import threading
import time

import numpy as np
import pytest
import tensorflow as tf
import tree

from impala_tf.runtime import pipeline
from impala_tf.runtime.actor import Actor
from impala_tf.runtime.environment_group import EnvironmentGroup
from impala_tf.types import AgentOutput, Trajectory
from tests import fake_envs
from tests.conftest import wait_for


def tagged_block(tag, width=1):
  """A block of ``width`` trajectories whose level names are ``tag``."""
  return Trajectory(np.array([tag] * width), (), (), (),
                    np.zeros((2, width), np.int64))


def tag(block):
  return block.level_name[0]


def test_full_queue_blocks_producers_and_loses_nothing():
  trajectory_queue = pipeline.TrajectoryQueue(capacity=2)
  produced = []

  def produce(start):
    for i in range(start, start + 10):
      trajectory_queue.put(tagged_block(i))
      produced.append(i)

  producers = [threading.Thread(target=produce, args=(s,)) for s in (0, 100)]
  for producer in producers:
    producer.start()
  wait_for(lambda: trajectory_queue.size() == 2 and len(produced) == 2, 10,
           'the queue to fill')
  # Only the capacity got in; the producers wait (they are not failed).
  assert trajectory_queue.size() == 2
  assert len(produced) == 2 and all(p.is_alive() for p in producers)
  received = [tag(trajectory_queue.get()) for _ in range(20)]
  for producer in producers:
    producer.join(timeout=10)
  assert sorted(received) == list(range(10)) + list(range(100, 110))
  # FIFO per producer.
  assert [r for r in received if r < 100] == list(range(10))


def test_the_capacity_counts_trajectories_not_blocks():
  trajectory_queue = pipeline.TrajectoryQueue(capacity=5)
  trajectory_queue.put(tagged_block('a', width=3))
  second = threading.Thread(
      target=lambda: trajectory_queue.put(tagged_block('b', width=3)))
  second.start()
  time.sleep(5 * pipeline._POLL_S)  # pylint: disable=protected-access
  assert second.is_alive() and trajectory_queue.size() == 3  # 6 > 5.
  assert tag(trajectory_queue.get()) == 'a'
  second.join(timeout=5)
  assert trajectory_queue.size() == 3
  # A block wider than the capacity still goes into an empty queue.
  assert tag(trajectory_queue.get()) == 'b'
  trajectory_queue.put(tagged_block('c', width=9))
  assert trajectory_queue.size() == 9


def test_closing_the_queue_releases_blocked_producers_and_the_consumer():
  trajectory_queue = pipeline.TrajectoryQueue(capacity=1)
  trajectory_queue.put(tagged_block('a'))
  outcomes = []

  def produce():
    try:
      trajectory_queue.put(tagged_block('b'))
      outcomes.append('put')
    except pipeline.QueueClosedError:
      outcomes.append('closed')

  producer = threading.Thread(target=produce)
  producer.start()
  # Blocked on the full queue: several polls later it has neither put its
  # trajectory nor given up.
  time.sleep(5 * pipeline._POLL_S)  # pylint: disable=protected-access
  assert producer.is_alive() and outcomes == []
  assert trajectory_queue.size() == 1
  trajectory_queue.close()
  producer.join(timeout=5)
  assert not producer.is_alive() and outcomes == ['closed']
  assert [tag(b) for b in trajectory_queue] == ['a']  # Drains, then ends.

  # A consumer blocked on an empty queue gets None at the close.
  empty = pipeline.TrajectoryQueue(capacity=1)
  taken = []
  consumer = threading.Thread(target=lambda: taken.append(empty.get()))
  consumer.start()
  time.sleep(5 * pipeline._POLL_S)  # pylint: disable=protected-access
  assert consumer.is_alive() and taken == []
  empty.close()
  consumer.join(timeout=5)
  assert not consumer.is_alive() and taken == [None]
  with pytest.raises(ValueError, match='capacity'):
    pipeline.TrajectoryQueue(0)


def trajectory_block(unroll_length, seed, width=1, num_actions=3):
  """A block of ``width`` random trajectories named ``level{seed}``,
  ``level{seed + 1}``, ...; and the spec of one batch of them."""
  rng = np.random.default_rng(seed)
  spec = pipeline.trajectory_spec(tf.TensorSpec([2, 2], tf.uint8),
                                  (tf.TensorSpec([4], tf.float32),),
                                  num_actions, unroll_length, batch_size=width)
  block = tree.map_structure(
      lambda s: rng.integers(0, 5, s.shape).astype(s.dtype.as_numpy_dtype)
      if s.dtype != tf.string else None, spec)
  return block._replace(level_name=np.array(
      [f'level{seed + i}' for i in range(width)])), spec


def test_dataset_batches_time_major_across_blocks():
  """Blocks of 4 trajectories make batches of 3: a batch takes what it
  needs from one block and the next, in order, and copies every value."""
  trajectory_queue = pipeline.TrajectoryQueue(capacity=8)
  blocks = []
  for seed in (0, 4):
    block, _ = trajectory_block(unroll_length=4, seed=seed, width=4)
    blocks.append(block)
    trajectory_queue.put(block)
  trajectory_queue.close()
  _, batch_spec = trajectory_block(unroll_length=4, seed=0, width=3)
  batches = list(pipeline.make_dataset(trajectory_queue, batch_spec))
  assert len(batches) == 2  # 8 trajectories: two batches, 2 left over.
  batch = batches[0]
  assert batch.env_outputs.observation.shape == (5, 3, 2, 2)
  assert batch.agent_outputs.policy_logits.shape == (5, 3, 3)
  assert batch.policy_version.shape == (5, 3)
  assert batch.agent_state[0].shape == (3, 4)  # The state stays batch-major.
  assert batch.level_name.numpy().tolist() == [b'level0', b'level1', b'level2']
  assert batches[1].level_name.numpy().tolist() == [b'level3', b'level4',
                                                   b'level5']
  whole = pipeline.concatenate(blocks)
  for i, got in enumerate(batches):
    expected = pipeline.columns(whole, 3 * i, 3 * i + 3)
    tree.map_structure(np.testing.assert_array_equal,
                       tree.map_structure(np.asarray, got[1:]), expected[1:])


def scripted_policy(prev_action, env_output, state):
  """Deterministic: action = observation + 1 (mod 4); state counts steps."""
  n = len(prev_action)
  action = ((env_output.observation[:, 0].astype(np.int32) + 1) % 4)
  output = AgentOutput(action=action,
                       policy_logits=np.zeros((n, 4), np.float32),
                       baseline=env_output.observation[:, 0].astype(np.float32))
  return output, (state[0] + 1,), np.full(n, 7, np.int64)


def run_actor(policy, num_envs, unroll_length, num_trajectories):
  """Runs an Actor over Counter environments until it has emitted
  ``num_trajectories``; returns (actor, trajectories)."""
  group = EnvironmentGroup([fake_envs.Counter] * num_envs,
                           ['a', 'b', 'c'][:num_envs])
  trajectories = []

  def split(block):  # One environment's trajectory: leaves [T+1, ...].
    assert pipeline.num_trajectories(block) == num_envs
    for i in range(num_envs):
      trajectories.append(Trajectory(
          block.level_name[i], tree.map_structure(lambda x: x[i],
                                                  block.agent_state),
          *tree.map_structure(lambda x: x[:, i], block[2:])))

  actor = Actor(group, policy, lambda n: (np.zeros((n, 1)),), 4,
                unroll_length=unroll_length, on_trajectory=split)
  stop = threading.Event()
  thread = threading.Thread(target=actor.run, args=(stop,))
  try:
    thread.start()
    wait_for(lambda: len(trajectories) >= num_trajectories, 30,
             f'{num_trajectories} trajectories')
  finally:
    stop.set()
    thread.join(timeout=10)
    group.close()
  return actor, trajectories


def test_actor_unrolls_overlap_by_one_step_and_carry_state():
  _, trajectories = run_actor(scripted_policy, num_envs=2, unroll_length=5,
                              num_trajectories=4)
  first, second = trajectories[0], trajectories[2]  # Environment 'a'.
  assert first.level_name == 'a' and trajectories[1].level_name == 'b'
  assert first.env_outputs.reward.shape == (6,)
  # The second unroll starts with the last step of the first.
  tree.map_structure(lambda x, y: np.testing.assert_array_equal(x[-1], y[0]),
                     first.env_outputs, second.env_outputs)
  tree.map_structure(lambda x, y: np.testing.assert_array_equal(x[-1], y[0]),
                     first.agent_outputs, second.agent_outputs)
  # agent_outputs[t] chose the action that produced env_outputs[t]: the
  # Counter rewards the action taken.
  np.testing.assert_array_equal(first.env_outputs.reward[1:],
                                first.agent_outputs.action[1:])
  # The state recorded is the one from before the unroll's first step.
  assert first.agent_state[0].tolist() == [0.0]
  assert second.agent_state[0].tolist() == [5.0]
  np.testing.assert_array_equal(first.policy_version[1:], 7)
  # Counter episodes last 3 steps: done at steps 3 (and at the start).
  assert first.env_outputs.done.tolist() == [True, False, False, True, False,
                                             False]


def test_actor_survives_exceptions_in_its_policy():
  calls = {'n': 0}

  def sometimes_failing_policy(*args):
    calls['n'] += 1
    if calls['n'] in (3, 4, 9):
      raise RuntimeError('inference failed')
    return scripted_policy(*args)

  actor, trajectories = run_actor(sometimes_failing_policy, num_envs=1,
                                  unroll_length=3, num_trajectories=5)
  assert actor.num_errors == 3
  # Calls 1-2 made steps that call 3's failure dropped; call 4 failed at an
  # unroll's start (nothing lost); call 8's step went with call 9's failure.
  assert actor.num_dropped_steps == 3
  assert len(trajectories) >= 5
  # Each trajectory stays consistent in itself: the steps of a dropped unroll
  # are lost, but no trajectory mixes outputs of different steps.
  for trajectory in trajectories:
    np.testing.assert_array_equal(trajectory.env_outputs.reward[1:],
                                  trajectory.agent_outputs.action[1:])
    np.testing.assert_array_equal(
        trajectory.agent_outputs.action[1:],
        (trajectory.env_outputs.observation[:-1, 0] + 1) % 4)


def test_replay_buffer_keeps_its_capacity_and_evicts_the_oldest():
  replay = pipeline.ReplayBuffer(capacity=3, seed=0)
  for i in range(5):
    replay.add(i)
  assert len(replay) == 3
  samples = replay.sample(3000)
  assert set(samples) == {2, 3, 4}  # 0 and 1 went first.
  counts = np.bincount(samples)[2:]
  assert (abs(counts / 3000 - 1 / 3) < 0.04).all()  # Uniform.


def test_dataset_mixes_the_requested_fraction_of_replay():
  trajectory_queue = pipeline.TrajectoryQueue(capacity=64)
  for seed in range(40):
    block, _ = trajectory_block(unroll_length=2, seed=seed)
    trajectory_queue.put(block)
  trajectory_queue.close()
  _, batch_spec = trajectory_block(unroll_length=2, seed=0, width=4)
  replay = pipeline.ReplayBuffer(capacity=10, seed=1)
  batches = list(pipeline.make_dataset(trajectory_queue, batch_spec, replay,
                                   replay_fraction=0.5))
  names = [[int(n[5:]) for n in b.level_name.numpy().astype(str)]
           for b in batches]
  assert names[0] == [0, 1, 2, 3]  # Nothing to replay yet: all fresh.
  fresh_seen = 4
  for batch in names[1:]:
    fresh, replayed = batch[:2], batch[2:]
    assert fresh == [fresh_seen, fresh_seen + 1]  # Half fresh, in order ...
    # ... half from the buffer: the last 10 fresh ones before this batch.
    assert all(max(0, fresh_seen - 10) <= r < fresh_seen for r in replayed)
    fresh_seen += 2
  assert fresh_seen == 40  # Every fresh trajectory was used once.
  assert len(replay) == 10
