"""n copies of one Atari game stepped together in C++ threads by ale-py's
`AtariVectorEnv`, with exactly the observations, rewards and episode ends of
`atari.make_atari` (``config.atari_backend='vector'``).

ale-py does the paper's preprocessing of each frame itself (action repeat 4
with a max over the last 2 frames, 84 × 84 grayscale, no-op starts, no
sticky actions, the 108,000-frame cap). What this class adds so that its
output equals the gymnasium path's:

* the stack of 4 frames, channels last, ``[n, 84, 84, 4]``, kept here
  rather than by ale-py (whose stack is channels first and pads a new game
  with zeros): at a game start it holds the first frame 4 times, as
  gymnasium's `FrameStackObservation` pads;
* in training a lost life ends the learning episode while the game goes on
  (ale-py's ``life_loss_info``, not ``episodic_life``, which resets the
  game), and ``game_over`` marks the ends of whole games.

Where a game ends, the observation returned is the next game's first (the
convention of `EnvironmentGroup`).

One difference remains: ale-py draws a game's no-op frames uniformly from
0–29, gymnasium's `AtariPreprocessing` from 1–30 (the paper's protocol,
§5.3.2), each with its own random numbers. So the backend serves training
only; evaluation always plays through the gymnasium path
(`fleet.make_environment_groups`). With ``noop_max=0`` the two paths give
equal frames step by step (tests/test_atari_vector.py).
"""

import sys
from typing import NamedTuple, Sequence

from ale_py.vector_env import AtariVectorEnv
import numpy as np

from impala_tf.envs import atari


class VectorStep(NamedTuple):
  observation: np.ndarray  # uint8 [n, 84, 84, 4].
  reward: np.ndarray  # float32 [n], raw.
  done: np.ndarray  # bool [n]: the learning episode ended.
  game_over: np.ndarray  # bool [n]: a whole (scored) game ended.


class AtariVectorGame:
  """``num_envs`` games of ``game``, stepped together.

  Args:
    game: snake_case name from `atari.ATARI_57`.
    num_envs: how many.
    training: a lost life ends the learning episode.
    full_action_space: all 18 actions instead of the game's minimal set.
    noop_max: up to this many no-ops at each game start.
    num_threads: C++ threads stepping the games (0: one per core).
  """

  def __init__(self, game: str, num_envs: int, training: bool = True,
               full_action_space: bool = False, noop_max: int = 30,
               num_threads: int = 0):
    atari.ale_id(game)  # A clear error for an unknown game.
    self._training = training
    self._env = AtariVectorEnv(
        game, num_envs, num_threads=num_threads, noop_max=noop_max,
        repeat_action_probability=0.0, full_action_space=full_action_space,
        max_num_frames_per_episode=atari.MAX_EPISODE_FRAMES,
        frameskip=atari.ACTION_REPEATS, stack_num=1, img_height=84,
        img_width=84, grayscale=True, maxpool=True, reward_clipping=False,
        episodic_life=False, life_loss_info=training, use_fire_reset=False,
        autoreset_mode='SameStep')
    self.num_envs = num_envs
    self.num_actions = self._env.single_action_space.n
    self._lives = np.zeros(num_envs, np.int64)
    # The stack, one uint32 per pixel whose 4 bytes are the 4 frames (byte k
    # is channel k, oldest first): pushing a frame is a shift and an or over
    # [n, 84, 84], where transposing ale-py's [n, 4, 84, 84] stack to
    # channels last cost 17 times as much.
    if sys.byteorder != 'little':
      raise NotImplementedError('the vector Atari backend packs frames for '
                                'little-endian machines only')
    self._stack = np.zeros((num_envs, 84, 84), np.uint32)
    self._newest = np.zeros((num_envs, 84, 84), np.uint32)

  def reset(self, seeds: Sequence[int]) -> np.ndarray:
    """Starts every game; returns the first observations."""
    frames, info = self._env.reset(seed=np.asarray(seeds, np.int64))
    self._lives = np.asarray(info['lives'], np.int64)
    self.noop_frames = np.asarray(info['episode_frame_number'])
    self._push(frames, new_game=np.ones(self.num_envs, bool))
    return self._observation()

  def step(self, actions: np.ndarray) -> VectorStep:
    frames, rewards, terminated, truncated, info = self._env.step(
        np.asarray(actions, np.int32))
    lives = np.asarray(info['lives'], np.int64)
    # After a lost life the game goes on with fewer lives; after the last
    # one the game has restarted already (SameStep), with its full lives.
    life_lost = terminated & (lives < self._lives)
    game_over = (terminated & ~life_lost) | truncated
    self._lives = lives
    self._push(frames, new_game=game_over)
    return VectorStep(
        observation=self._observation(),
        reward=np.asarray(rewards, np.float32),
        done=game_over | life_lost,
        game_over=game_over)

  def _push(self, frames: np.ndarray, new_game: np.ndarray) -> None:
    """Adds ``frames`` ``[n, 1, 84, 84]`` to the stacks; the stack of a
    ``new_game`` becomes its first frame 4 times."""
    np.copyto(self._newest, frames[:, 0])  # Widened to uint32.
    np.right_shift(self._stack, 8, out=self._stack)  # Drops the oldest.
    np.left_shift(self._newest, 24, out=self._newest)  # Into channel 3.
    np.bitwise_or(self._stack, self._newest, out=self._stack)
    for i in np.flatnonzero(new_game):
      self._stack[i] = frames[i, 0].astype(np.uint32) * np.uint32(0x01010101)

  def _observation(self) -> np.ndarray:
    """The stacks as frames, ``[n, 84, 84, 4]`` uint8 (a copy)."""
    return self._stack.view(np.uint8).reshape(self.num_envs, 84, 84, 4).copy()

  def close(self) -> None:
    self._env.close()


def make_vector_game(game: str, num_envs: int, training: bool = True,
                     full_action_space: bool = False,
                     num_threads: int = 0) -> AtariVectorGame:
  """A picklable factory (with `functools.partial`) for worker processes."""
  return AtariVectorGame(game, num_envs, training=training,
                         full_action_space=full_action_space,
                         num_threads=num_threads)
