"""The C++ vector Atari backend gives what the gymnasium path gives."""

import functools

import numpy as np
import pytest

from impala_tf import config as config_lib
from impala_tf.envs import atari
from impala_tf.envs import atari_vector
from impala_tf.runtime.environment_group import EnvironmentGroup
from tests import fake_envs
from tests.conftest import slow


@pytest.mark.parametrize('game,training,steps', [
    # Lives: 5 learning episodes per game. The one case the default run
    # keeps; CI runs the other two as well.
    ('breakout', True, 1000),
    slow('pong', True, 1000),
    slow('breakout', False, 600),  # Evaluation: whole games only.
])
def test_both_backends_give_equal_frames_rewards_and_episode_ends(
    game, training, steps):
  # No-op starts use each backend's own random numbers: switched off here,
  # so that the same seeds and actions must give the same everything.
  num_envs = 3
  vector = atari_vector.AtariVectorGame(game, num_envs, training=training,
                                        noop_max=0, num_threads=1)
  envs = [atari.make_atari(game, training=training, noop_max=0)
          for _ in range(num_envs)]
  try:
    first = vector.reset([0, 1, 2])
    np.testing.assert_array_equal(
        first, np.stack([env.reset(seed=i)[0] for i, env in enumerate(envs)]))
    assert first.shape == (num_envs, 84, 84, 4) and first.dtype == np.uint8
    rng = np.random.default_rng(0)
    lives_lost = games = 0
    for t in range(steps):
      actions = rng.integers(vector.num_actions, size=num_envs)
      step = vector.step(actions)
      for i, env in enumerate(envs):
        observation, reward, terminated, truncated, info = env.step(
            int(actions[i]))
        done = terminated or truncated
        game_over = done and info.get('game_over', True)
        if done:
          observation, _ = env.reset()
        np.testing.assert_array_equal(step.observation[i], observation,
                                      err_msg=f'step {t}, env {i}')
        assert step.reward[i] == reward, (t, i)
        assert (step.done[i], step.game_over[i]) == (done, game_over), (t, i)
        lives_lost += done and not game_over
        games += game_over
    assert games > 0
    assert (lives_lost > 0) == (training and game == 'breakout')
  finally:
    vector.close()


def test_a_vector_group_scores_whole_games_and_survives_a_failure():
  group = EnvironmentGroup(
      [fake_envs.Counter] * 2, ['a', 'b'], seed=0, first_index=4,
      vector_fn=functools.partial(fake_envs.make_counter_vector, 2,
                                  fail_at=5))
  try:
    assert group.start().done.all()
    steps = [group.step(np.array([1, 2])) for _ in range(4)]
    # Counter episodes last 3 steps: scored at the 3rd, indices in the fleet.
    assert [(e.env_index, e.episode_return) for e in steps[2].episodes] == [
        (4, 3.0), (5, 6.0)]
    failed = group.step(np.array([1, 1]))  # The 5th call raises.
    assert failed.env_output.done.all() and len(failed.errors) == 1
    assert group.num_env_errors == 1
    again = group.step(np.array([1, 1]))
    np.testing.assert_array_equal(again.env_output.observation[:, 0], [1, 1])
  finally:
    group.close()


def test_the_soak_benchmark_fails_vector_steps_as_often_as_single_games():
  from benchmarks import faults  # pylint: disable=g-import-not-at-top
  make_counters = functools.partial(fake_envs.make_counter_vector, 4)
  assert faults.FaultyVector(make_counters(), 0.5)._probability == (  # pylint: disable=protected-access
      1 - 0.5 ** 4)
  never = faults.make_faulty_vector(make_counters, 0.0)
  never.reset(range(4))
  assert never.step(np.ones(4, np.int64)).observation.shape[0] == 4
  always = faults.make_faulty_vector(make_counters, 1.0)
  always.reset(range(4))
  with pytest.raises(RuntimeError, match='injected environment failure'):
    always.step(np.ones(4, np.int64))


def test_the_vector_backend_on_atari_through_a_group():
  """A group in its worker process returns exactly what the same vector,
  seeded as the group seeds it (seed + i), returns stepped here."""
  group = EnvironmentGroup(
      [None] * 4, ['pong'] * 4, seed=0,
      vector_fn=functools.partial(atari_vector.make_vector_game, 'pong', 4))
  direct = atari_vector.make_vector_game('pong', 4)
  actions = np.random.default_rng(0).integers(0, 6, (30, 4))
  try:
    first = group.start()
    np.testing.assert_array_equal(first.observation,
                                  direct.reset(np.arange(4)))
    assert first.done.all()  # Every first step starts an episode.
    for t, action in enumerate(actions):
      step = group.step(action)
      expected = direct.step(action)
      assert not step.errors
      np.testing.assert_array_equal(step.env_output.observation,
                                    expected.observation)
      np.testing.assert_array_equal(step.env_output.reward, expected.reward)
      np.testing.assert_array_equal(step.env_output.done, expected.done)
      # No episode of Pong ends in 30 steps: the step counts run on.
      np.testing.assert_array_equal(step.env_output.info.episode_step, t + 1)
  finally:
    group.close()
    direct.close()


@pytest.mark.slow  # A seeded reset reloads the ROM: about 0.3 s a game.
def test_vector_no_op_starts_are_0_to_29_frames():
  vector = atari_vector.AtariVectorGame('pong', 16, num_threads=1)
  counts = []
  try:
    for k in range(8):
      vector.reset(np.arange(16) + 16 * k)
      counts.extend(vector.noop_frames)
  finally:
    vector.close()
  counts = np.array(counts)
  assert counts.min() >= 0 and counts.max() <= 29
  assert len(set(counts.tolist())) > 15  # Spread over the range.


def test_vector_is_the_default_for_training_and_evaluation_keeps_gymnasium():
  from impala_tf.runtime import fleet  # pylint: disable=g-import-not-at-top
  config = config_lib.atari_config()
  assert config.atari_backend == 'vector'
  config.levels = ('pong',)
  config.num_actors, config.envs_per_actor = 1, 2
  config.atari_vector_threads = 3
  [training] = fleet.make_environment_groups(config)
  [evaluation] = fleet.make_environment_groups(config, training=False)
  assert training._vector_fn is not None  # pylint: disable=protected-access
  # The threads setting reaches the factory the worker calls.
  assert training._vector_fn.args[-1] == 3  # pylint: disable=protected-access
  assert evaluation._vector_fn is None  # pylint: disable=protected-access


@pytest.mark.parametrize('fields,message', [
    (dict(fire_reset=True), 'the vector backend has no FireReset'),
    (dict(levels=('pong', 'breakout'), full_action_space=True),
     'a vector steps one game'),
    (dict(atari_backend='cpp'), "'gymnasium' or 'vector'"),
    (dict(atari_vector_threads=-1), 'atari_vector_threads=-1: must be a '
     'non-negative integer'),
])
def test_bad_backend_settings_are_named(fields, message):
  config = config_lib.atari_config()
  config.levels = ('pong',)
  config.atari_backend = 'vector'
  config.update(fields)
  with pytest.raises(ValueError, match=message):
    config_lib.validate_config(config)
