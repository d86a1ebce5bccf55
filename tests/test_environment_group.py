"""Environment worker processes: stepping, statistics, failures, shutdown."""

import os
import signal
import time

import numpy as np
import pytest

from impala_tf.runtime.environment_group import EnvironmentGroup
from tests import fake_envs
from tests.conftest import process_alive


def steps_of_a_counter_group(actions, into=None):
  """The observations ``[n, 1]`` a group of 3 Counters returns for each of
  ``actions``, each kept as returned; with ``into`` (``[len(actions), n,
  1]``), written to its rows, each step's observation checked to be its
  row."""
  group = EnvironmentGroup([fake_envs.Counter] * 3, ['a', 'b', 'c'], seed=0)
  try:
    group.start()
    observations = []
    for t, a in enumerate(actions):
      out = into[t] if into is not None else None
      observations.append(group.step(np.array(a), out).env_output.observation)
      assert out is None or observations[-1] is out
    return observations
  finally:
    group.close()


def test_observations_through_shared_memory_are_copies_and_match_pickle(
    monkeypatch):
  actions = [[1, 1, 1]] * 5
  shared = steps_of_a_counter_group(actions)
  # Each step's observations stay as they were when the next step wrote
  # the shared block again (episodes of 3: 1, 2, then 0 after the reset).
  assert [o[:, 0].tolist() for o in shared] == [
      [1, 1, 1], [2, 2, 2], [0, 0, 0], [1, 1, 1], [2, 2, 2]]

  def no_space(*args):
    raise OSError(28, 'No space left on device')

  # Written to the rows of an actor's unroll instead: the same ones.
  rows = np.full((5, 3, 1), 99, shared[0].dtype)
  steps_of_a_counter_group(actions, into=rows)
  np.testing.assert_array_equal(rows, np.stack(shared))

  # No room in /dev/shm: the observations go by pickle, the same ones, to
  # a new array or to the rows.
  monkeypatch.setattr(os, 'posix_fallocate', no_space)
  pickled = steps_of_a_counter_group(actions)
  for a, b in zip(shared, pickled):
    np.testing.assert_array_equal(a, b)
  rows[:] = 99
  steps_of_a_counter_group(actions, into=rows)
  np.testing.assert_array_equal(rows, np.stack(shared))


def test_group_steps_all_environments_and_resets_at_episode_end():
  group = EnvironmentGroup([fake_envs.Counter] * 3, ['a', 'b', 'c'], seed=0)
  try:
    first = group.start()
    assert first.done.tolist() == [True] * 3
    assert first.observation.shape == (3, 1)
    step = group.step(np.array([1, 2, 3]))
    np.testing.assert_array_equal(step.env_output.reward, [1, 2, 3])
    np.testing.assert_array_equal(step.env_output.observation[:, 0], [1, 1, 1])
    assert not step.env_output.done.any()
    group.step(np.array([1, 1, 1]))
    last = group.step(np.array([0, 1, 2]))
    # Episode end: done, the finished episode's totals, and the next
    # episode's first observation.
    assert last.env_output.done.all()
    np.testing.assert_array_equal(last.env_output.info.episode_return,
                                  [2, 4, 6])
    np.testing.assert_array_equal(last.env_output.info.episode_step, [3, 3, 3])
    np.testing.assert_array_equal(last.env_output.observation[:, 0], [0, 0, 0])
    assert [(e.level_name, e.episode_return, e.episode_length)
            for e in last.episodes] == [('a', 2.0, 3), ('b', 4.0, 3),
                                         ('c', 6.0, 3)]
  finally:
    group.close()


def test_episodes_carry_the_environment_index_in_the_fleet():
  # The second group of a fleet of 3-environment groups: indices 3, 4, 5.
  group = EnvironmentGroup([fake_envs.Counter] * 3, ['a', 'b', 'c'], seed=0,
                           first_index=3)
  try:
    group.start()
    episodes = []
    for _ in range(3):
      episodes += group.step(np.array([1, 1, 1])).episodes
    assert sorted((e.env_index, e.level_name) for e in episodes) == [
        (3, 'a'), (4, 'b'), (5, 'c')]
  finally:
    group.close()


def test_an_environment_that_raises_is_rebuilt():
  group = EnvironmentGroup([fake_envs.Counter, fake_envs.Flaky], ['ok', 'flaky'])
  try:
    group.start()
    group.step(np.array([1, 1]))
    step = group.step(np.array([1, 1]))  # Flaky raises at its 2nd step.
    assert len(step.errors) == 1 and 'flaky environment failed' in step.errors[0]
    assert step.env_output.done.tolist() == [False, True]
    step = group.step(np.array([1, 1]))  # And steps on afterwards.
    assert step.errors == []
    assert step.env_output.observation[1, 0] == 1
    assert group.num_env_errors == 1 and group.num_restarts == 0
  finally:
    group.close()


def test_a_killed_process_is_restarted():
  group = EnvironmentGroup([fake_envs.Counter] * 2, ['a', 'b'])
  try:
    group.start()
    observation = group.step(np.array([0, 0])).env_output.observation
    assert observation[:, 0].tolist() == [1, 1]
    old_pid = group.pid
    os.kill(old_pid, signal.SIGKILL)
    time.sleep(0.2)
    # The restarted child's first observations go where they are asked to.
    row = np.full_like(observation, 99)
    step = group.step(np.array([0, 0]), row)
    assert step.env_output.observation is row
    assert row[:, 0].tolist() == [0, 0]
    assert group.num_restarts == 1
    assert group.pid != old_pid
    assert step.env_output.done.all()
    assert 'restarting' in step.errors[0]
    step = group.step(np.array([3, 3]))
    np.testing.assert_array_equal(step.env_output.reward, [3, 3])
  finally:
    group.close()


def test_close_leaves_no_process_behind():
  group = EnvironmentGroup([fake_envs.Counter], ['a'])
  group.start()
  pid = group.pid
  group.close()
  group.close()  # Twice is fine.
  assert not process_alive(pid)


def test_a_child_exits_when_its_parent_end_closes():
  group = EnvironmentGroup([fake_envs.Counter], ['a'])
  group.start()
  pid = group.pid
  process = group._process  # pylint: disable=protected-access
  group._connection.close()  # pylint: disable=protected-access
  process.wait(timeout=10)
  assert not process_alive(pid)


def test_an_environment_that_cannot_be_built_raises_in_the_parent():
  group = EnvironmentGroup([fake_envs.Unbuildable], ['a'])
  try:
    with pytest.raises(ImportError, match='unbuildable: missing dependency'):
      group.start()
  finally:
    group.close()
