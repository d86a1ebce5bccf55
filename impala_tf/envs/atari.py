"""Atari through gymnasium + ale-py with the paper's protocol (paper.md §4.2, §6.3).

84×84 grayscale frames, action repeat 4 with a max over the last 2 frames, a
stack of the last 4 frames (``[84, 84, 4]`` uint8, channels last), 1–30 random
no-ops at every game start, no sticky actions, the 108,000-frame (30-minute)
cap of the standard reference scores, and minimal action sets unless the full
18 actions are asked for (the multi-task agent). Rewards are returned raw; the
learner clips them (Table G.1).

In training, losing a life ends the *learning* episode (Table G.1) but not the
game: the emulator is not reset, as in DeepMind's preprocessing. The wrapper
reports ``info['game_over']`` so that scored episode returns are whole games.
"""

import ale_py
import gymnasium as gym
import numpy as np

# The Atari-57 suite, in the snake_case names of the reference tables (paper.md §9).
ATARI_57 = (
    'alien', 'amidar', 'assault', 'asterix', 'asteroids', 'atlantis',
    'bank_heist', 'battle_zone', 'beam_rider', 'berzerk', 'bowling', 'boxing',
    'breakout', 'centipede', 'chopper_command', 'crazy_climber', 'defender',
    'demon_attack', 'double_dunk', 'enduro', 'fishing_derby', 'freeway',
    'frostbite', 'gopher', 'gravitar', 'hero', 'ice_hockey', 'jamesbond',
    'kangaroo', 'krull', 'kung_fu_master', 'montezuma_revenge', 'ms_pacman',
    'name_this_game', 'phoenix', 'pitfall', 'pong', 'private_eye', 'qbert',
    'riverraid', 'road_runner', 'robotank', 'seaquest', 'skiing', 'solaris',
    'space_invaders', 'star_gunner', 'surround', 'tennis', 'time_pilot',
    'tutankham', 'up_n_down', 'venture', 'video_pinball', 'wizard_of_wor',
    'yars_revenge', 'zaxxon')

ACTION_REPEATS = 4  # Table G.1.
MAX_EPISODE_FRAMES = 108_000  # 30 minutes at 60 Hz; paper.md §4.2, §9.


def ale_id(game: str) -> str:
  """'space_invaders' → 'ALE/SpaceInvaders-v5'."""
  if game not in ATARI_57:
    raise ValueError(
        f'Unknown Atari game {game!r}; valid games: {", ".join(ATARI_57)}')
  return 'ALE/' + ''.join(part.capitalize() for part in game.split('_')) + '-v5'


class EpisodicLife(gym.Wrapper):
  """Ends the learning episode at a life loss without resetting the game."""

  def __init__(self, env: gym.Env):
    super().__init__(env)
    self._lives = 0
    self._game_over = True
    self._last_observation = None

  def reset(self, **kwargs):
    if self._game_over:
      observation, info = self.env.reset(**kwargs)
    else:  # A life was lost: the game goes on from where it was.
      observation, info = self._last_observation, {}
    self._lives = self.env.unwrapped.ale.lives()
    self._game_over = False
    return observation, info

  def step(self, action):
    observation, reward, terminated, truncated, info = self.env.step(action)
    self._game_over = terminated or truncated
    lives = self.env.unwrapped.ale.lives()
    life_lost = 0 < lives < self._lives
    self._lives = lives
    self._last_observation = observation
    info['game_over'] = self._game_over
    return observation, reward, terminated or life_lost, truncated, info


class FireReset(gym.Wrapper):
  """Presses FIRE, then the next action (2), at every reset: a game start,
  and in training a lost life. The DQN-era wrappers' ``FireResetEnv``, which
  the original release's Atari port applies; games that wait for FIRE to
  serve or launch (Breakout) then never sit idle. The steps it takes are
  not the agent's: their rewards are dropped, as the original's are.
  """

  def reset(self, **kwargs):
    self.env.reset(**kwargs)
    observation = None
    for action in (1, 2):
      observation, _, terminated, truncated, _ = self.env.step(action)
      if terminated or truncated:
        observation, _ = self.env.reset()
    return observation, {}


def has_fire_action(env: gym.Env) -> bool:
  """Whether the game's second action is FIRE (FireReset applies)."""
  meanings = env.unwrapped.get_action_meanings()
  return len(meanings) >= 3 and meanings[1] == 'FIRE'


def make_atari(game: str,
               training: bool = True,
               full_action_space: bool = False,
               noop_max: int = 30,
               fire_reset: bool = False) -> gym.Env:
  """One Atari game with the paper's preprocessing.

  Args:
    game: snake_case name from `ATARI_57`.
    training: end learning episodes at a life loss (evaluation plays whole
      games).
    full_action_space: all 18 actions (multi-task agent) instead of the
      game's minimal set (experts); App. G.
    noop_max: up to this many random no-ops at each game start (1–30 in
      the paper's evaluation, §5.3.2).
    fire_reset: wrap in `FireReset` on games with a FIRE action (the
      original release's Atari port; not in the paper).

  Returns:
    A `gym.Env` with uint8 observations ``[84, 84, 4]``.
  """
  gym.register_envs(ale_py)
  env = gym.make(
      ale_id(game),
      frameskip=1,  # AtariPreprocessing repeats and max-pools.
      repeat_action_probability=0.0,  # No sticky actions (paper.md §4.2).
      full_action_space=full_action_space,
      max_num_frames_per_episode=MAX_EPISODE_FRAMES)
  env = gym.wrappers.AtariPreprocessing(
      env, noop_max=noop_max, frame_skip=ACTION_REPEATS, screen_size=84,
      terminal_on_life_loss=False, grayscale_obs=True, scale_obs=False)
  env = gym.wrappers.FrameStackObservation(env, 4)
  env = gym.wrappers.TransformObservation(
      env, lambda frames: np.moveaxis(frames, 0, -1),
      gym.spaces.Box(0, 255, (84, 84, 4), np.uint8))
  if training:
    env = EpisodicLife(env)
  if fire_reset and has_fire_action(env):
    env = FireReset(env)
  return env
