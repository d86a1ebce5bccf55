"""n copies of one Atari game stepped together in C++ threads by ale-py's
`AtariVectorEnv`, with exactly the observations, rewards and episode ends of
`atari.make_atari` (``config.atari_backend='vector'``).

ale-py does the paper's preprocessing itself (action repeat 4 with a max
over the last 2 frames, 84 × 84 grayscale, a stack of 4, 1–30 no-op starts,
no sticky actions, the 108,000-frame cap). What this class adds so that its
output equals the gymnasium path's:

* frames channels last, ``[n, 84, 84, 4]``;
* at a game start the stack holds the first frame 4 times (gymnasium's
  `FrameStackObservation` pads with it; ale-py pads with zeros);
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

from typing import NamedTuple, Sequence

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
    from ale_py.vector_env import AtariVectorEnv  # pylint: disable=g-import-not-at-top
    atari.ale_id(game)  # A clear error for an unknown game.
    self._training = training
    self._env = AtariVectorEnv(
        game, num_envs, num_threads=num_threads, noop_max=noop_max,
        repeat_action_probability=0.0, full_action_space=full_action_space,
        max_num_frames_per_episode=atari.MAX_EPISODE_FRAMES,
        frameskip=atari.ACTION_REPEATS, stack_num=4, img_height=84,
        img_width=84, grayscale=True, maxpool=True, reward_clipping=False,
        episodic_life=False, life_loss_info=training, use_fire_reset=False,
        autoreset_mode='SameStep')
    self.num_envs = num_envs
    self.num_actions = self._env.single_action_space.n
    self._lives = np.zeros(num_envs, np.int64)
    self._steps_in_game = np.zeros(num_envs, np.int64)

  def reset(self, seeds: Sequence[int]) -> np.ndarray:
    """Starts every game; returns the first observations."""
    frames, info = self._env.reset(seed=np.asarray(seeds, np.int64))
    self._lives = np.asarray(info['lives'], np.int64)
    self.noop_frames = np.asarray(info['episode_frame_number'])
    self._steps_in_game[:] = 0
    return self._channels_last(frames)

  def step(self, actions: np.ndarray) -> VectorStep:
    frames, rewards, terminated, truncated, info = self._env.step(
        np.asarray(actions, np.int32))
    lives = np.asarray(info['lives'], np.int64)
    # After a lost life the game goes on with fewer lives; after the last
    # one the game has restarted already (SameStep), with its full lives.
    life_lost = terminated & (lives < self._lives)
    game_over = (terminated & ~life_lost) | truncated
    self._lives = lives
    self._steps_in_game = np.where(game_over, 0, self._steps_in_game + 1)
    return VectorStep(
        observation=self._channels_last(frames),
        reward=np.asarray(rewards, np.float32),
        done=game_over | life_lost,
        game_over=game_over)

  def _channels_last(self, frames) -> np.ndarray:
    """``[n, 4, 84, 84]`` → ``[n, 84, 84, 4]``, with the zeros that pad the
    stack of a game less than 3 steps old replaced by its first frame (as
    gymnasium's stack is padded)."""
    observation = np.moveaxis(frames, 1, -1).copy()
    for i in np.flatnonzero(self._steps_in_game < 3):
      first = 3 - self._steps_in_game[i]  # The channel of the first frame.
      observation[i, :, :, :first] = observation[i, :, :, first:first + 1]
    return observation

  def close(self) -> None:
    self._env.close()


def make_vector_game(game: str, num_envs: int, training: bool = True,
                     full_action_space: bool = False,
                     num_threads: int = 0) -> AtariVectorGame:
  """A picklable factory (with `functools.partial`) for worker processes."""
  return AtariVectorGame(game, num_envs, training=training,
                         full_action_space=full_action_space,
                         num_threads=num_threads)
