"""benchmarks/free_atari.py: the cost-free stand-in that bounds the system
(`benchmarks/throughput.py --free_environments`) must behave like the vector
backend in a worker process, or the bound it measures would not be one."""

import functools

import numpy as np
import pytest

from benchmarks import free_atari
from impala_tf.runtime.environment_group import EnvironmentGroup


def test_free_games_step_in_a_worker_like_the_vector_backend():
  vector_fn = functools.partial(free_atari.FreeAtariGame, 2, 6)
  group = EnvironmentGroup([None, None], ['pong', 'pong'], seed=0,
                           vector_fn=vector_fn)
  try:
    first = group.start()
    assert first.observation.shape == (2, 84, 84, 4)
    assert first.observation.dtype == np.uint8
    assert first.done.tolist() == [True, True]
    episodes = []
    done_steps = {0: [], 1: []}
    for t in range(1, 2 * free_atari.EPISODE_STEPS + 1):
      step = group.step(np.array([t % 6, (t + 1) % 6]))
      episodes += step.episodes
      for i in np.flatnonzero(step.env_output.done):
        done_steps[int(i)].append(t)
    # Game 1 starts half an episode in, so the games end at staggered steps.
    length = free_atari.EPISODE_STEPS
    half = length // 2
    assert done_steps == {0: [length, 2 * length],
                          1: [half, half + length]}
    assert [(e.env_index, e.episode_length) for e in episodes] == [
        (1, half), (0, length), (1, length), (0, length)]
    np.testing.assert_array_equal(step.env_output.observation,
                                  first.observation)
  finally:
    group.close()


def test_free_games_refuse_actions_outside_the_action_set():
  game = free_atari.FreeAtariGame(2, 6)
  with pytest.raises(ValueError, match='below 6'):
    game.step(np.array([0, 6]))
