"""Atari with real ROMs: the paper's preprocessing and protocol (paper.md §4.2)."""

import cv2
import gymnasium as gym
import numpy as np
import pytest

from impala_tf import envs
from impala_tf.envs import atari


def test_observations_are_four_stacked_84x84_grayscale_frames():
  env = atari.make_atari('pong')
  observation, _ = env.reset(seed=0)
  assert env.observation_space.shape == (84, 84, 4)
  assert observation.shape == (84, 84, 4) and observation.dtype == np.uint8
  observation, *_ = env.step(0)
  assert observation.shape == (84, 84, 4) and observation.dtype == np.uint8


def test_max_over_last_two_frames_of_four_and_the_stack():
  """Our frames equal a hand computation from the raw emulator."""
  import ale_py  # pylint: disable=g-import-not-at-top
  gym.register_envs(ale_py)
  ours = atari.make_atari('breakout', noop_max=0)
  raw = gym.make('ALE/Breakout-v5', frameskip=1, repeat_action_probability=0.0,
                 full_action_space=False)
  ours.reset(seed=5)
  raw.reset(seed=5)
  ale = raw.unwrapped.ale
  rng = np.random.default_rng(0)
  newest_frames = []
  for _ in range(12):
    action = int(rng.integers(4))
    screens = []
    for _ in range(4):  # Action repeat 4.
      raw.step(action)
      screens.append(ale.getScreenGrayscale())
    pooled = np.maximum(screens[-2], screens[-1])  # Max over the last 2.
    newest_frames.append(cv2.resize(pooled, (84, 84),
                                    interpolation=cv2.INTER_AREA))
    observation, *_ = ours.step(action)
    np.testing.assert_array_equal(observation[..., -1], newest_frames[-1])
  # The stack holds the last four frames, oldest first.
  np.testing.assert_array_equal(np.moveaxis(observation, -1, 0),
                                np.stack(newest_frames[-4:]))
  assert not np.array_equal(newest_frames[-1], newest_frames[-4])


def play_until_life_lost(env, seed):
  env.reset(seed=seed)
  rng = np.random.default_rng(seed)
  lives = env.unwrapped.ale.lives()
  for step in range(5000):
    _, _, terminated, truncated, info = env.step(int(rng.integers(
        env.action_space.n)))
    if env.unwrapped.ale.lives() < lives or terminated or truncated:
      return terminated or truncated, info, step
  raise AssertionError('no life lost in 5000 steps')


def test_a_lost_life_ends_the_training_episode_but_not_the_game():
  env = atari.make_atari('breakout')
  ended, info, _ = play_until_life_lost(env, seed=1)
  assert ended and info['game_over'] is False
  lives = env.unwrapped.ale.lives()
  frame_number = env.unwrapped.ale.getEpisodeFrameNumber()
  env.reset()  # The game goes on: no new game, same lives.
  assert env.unwrapped.ale.lives() == lives == 4
  assert env.unwrapped.ale.getEpisodeFrameNumber() == frame_number


def test_fire_reset_presses_fire_then_right_after_the_no_op_start():
  """FireReset's reset is the plain reset followed by actions 1 (FIRE) and
  2, as the original release's Atari wrappers do it; same seed, same
  frames."""
  fired = atari.make_atari('breakout', fire_reset=True)
  plain = atari.make_atari('breakout')
  assert isinstance(fired, atari.FireReset)
  observation, _ = fired.reset(seed=3)
  expected, _ = plain.reset(seed=3)
  for action in (1, 2):
    expected, *_ = plain.step(action)
  np.testing.assert_array_equal(observation, expected)
  for _ in range(30):
    np.testing.assert_array_equal(fired.step(0)[0], plain.step(0)[0])


def test_fire_reset_presses_fire_after_a_lost_life():
  env = atari.make_atari('breakout', fire_reset=True)
  ended, info, _ = play_until_life_lost(env, seed=1)
  assert ended and not info['game_over']
  frame_number = env.unwrapped.ale.getEpisodeFrameNumber()
  env.reset()  # Same game, two agent steps (FIRE, 2) of 4 frames later.
  assert env.unwrapped.ale.getEpisodeFrameNumber() == frame_number + 8
  assert env.unwrapped.ale.lives() == 4


def test_fire_reset_leaves_games_without_fire_alone():
  assert not atari.has_fire_action(atari.make_atari('ms_pacman'))
  assert not isinstance(atari.make_atari('ms_pacman', fire_reset=True),
                        atari.FireReset)
  assert atari.has_fire_action(atari.make_atari('pong'))


def test_evaluation_plays_whole_games():
  env = atari.make_atari('breakout', training=False)
  ended, _, _ = play_until_life_lost(env, seed=1)
  assert not ended  # A life lost; the episode goes on.
  assert env.unwrapped.ale.lives() == 4


@pytest.mark.parametrize('seed', range(8))
def test_no_op_starts_are_between_1_and_30_frames(seed):
  env = atari.make_atari('pong', training=False)
  env.reset(seed=seed)
  assert 1 <= env.unwrapped.ale.getEpisodeFrameNumber() <= 30


def test_no_op_counts_vary_between_episodes():
  env = atari.make_atari('pong', training=False)
  counts = set()
  env.reset(seed=0)
  for _ in range(6):
    counts.add(env.unwrapped.ale.getEpisodeFrameNumber())
    env.unwrapped.ale.reset_game()
    env.reset()
  assert len(counts) > 1


@pytest.mark.parametrize('game,minimal', [('pong', 6), ('breakout', 4),
                                          ('ms_pacman', 9), ('seaquest', 18)])
def test_action_sets(game, minimal):
  assert atari.make_atari(game).action_space.n == minimal
  assert atari.make_atari(game, full_action_space=True).action_space.n == 18


def test_no_sticky_actions_and_the_108k_frame_cap():
  env = atari.make_atari('pong')
  ale = env.unwrapped.ale
  assert ale.getFloat('repeat_action_probability') == 0.0
  assert ale.getInt('max_num_frames_per_episode') == 108_000


def test_the_57_games_all_exist_in_ale():
  assert len(atari.ATARI_57) == 57
  import ale_py  # pylint: disable=g-import-not-at-top
  gym.register_envs(ale_py)
  registered = set(gym.registry)
  missing = [g for g in atari.ATARI_57 if atari.ale_id(g) not in registered]
  assert not missing


def test_unknown_game_lists_the_valid_ones():
  with pytest.raises(ValueError, match="Unknown Atari game 'pongg'.*zaxxon"):
    atari.make_atari('pongg')
  with pytest.raises(ValueError, match="Unknown atari level 'pongg'"):
    envs.make('atari', 'pongg')
