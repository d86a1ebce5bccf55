"""Videos of evaluation episodes (``evaluate --video=K``).

`RecordEpisodes` wraps one environment in its worker process and writes the
episodes it is given a slot for as MP4 files: every agent step's full-colour
screen (the emulator's, on Atari: 210 × 160 RGB, not the agent's 84 × 84
grey input), named ``<level>_<slot>_return_<R>_steps_<n>.mp4``. A level has
``episodes`` slots, shared by all the environments that play it across
worker processes: an environment takes a free slot when an episode starts
(by creating ``<level>_<slot>.claim`` exclusively) and gives it up with the
file written, so a level gets exactly its first ``episodes`` episodes to
start. imageio's ffmpeg plugin (its own ffmpeg binary) encodes them.
"""

import functools
import os
from typing import Callable, Optional

import gymnasium as gym
import numpy as np

from impala_tf import envs

# An agent step is 4 emulator frames on Atari (60 Hz): 15 steps a second.
FRAMES_PER_SECOND = 15
# Small screens (Catch's 10 × 5) are scaled up to at least this many pixels.
MIN_SIDE = 64
# Sides are padded to a multiple of this, which the H.264 encoder needs.
MACRO_BLOCK = 16


def make_recording_env_fn(env_name: str, level: str, training: bool,
                          directory: str, episodes: int,
                          **options) -> Callable:
  """A picklable factory like `environment_group.make_env_fn` whose
  environment records up to ``episodes`` episodes of ``level`` into
  ``directory`` (shared with the level's other environments)."""
  return functools.partial(_make_recorded, directory, episodes, env_name,
                           level, training, **options)


def _make_recorded(directory, episodes, env_name, level, training,
                   **options) -> gym.Env:
  return RecordEpisodes(envs.make(env_name, level, training, **options),
                        directory, level, episodes)


class RecordEpisodes(gym.Wrapper):
  """Records the episodes it gets a slot for (see the module docstring)."""

  def __init__(self, env: gym.Env, directory: str, level: str, episodes: int):
    super().__init__(env)
    self._directory = directory
    self._level = level
    self._episodes = episodes
    self._slot: Optional[int] = None
    self._frames = []
    self._return = 0.0

  def reset(self, **kwargs):
    observation, info = self.env.reset(**kwargs)
    self._release()  # An episode cut short (a restart) is not written.
    self._slot = self._claim()
    self._frames = [] if self._slot is None else [self._screen(observation)]
    self._return = 0.0
    return observation, info

  def step(self, action):
    observation, reward, terminated, truncated, info = self.env.step(action)
    if self._slot is not None:
      self._frames.append(self._screen(observation))
      self._return += float(reward)
      if terminated or truncated:
        self._write()
    return observation, reward, terminated, truncated, info

  def close(self):
    self._release()
    return super().close()

  def _claim_path(self, slot: int) -> str:
    return os.path.join(self._directory, f'{self._level}_{slot:02d}.claim')

  def _claim(self) -> Optional[int]:
    """The first slot of the level no environment has taken, or None."""
    for slot in range(self._episodes):
      try:
        os.close(os.open(self._claim_path(slot),
                         os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return slot
      except FileExistsError:
        continue
    return None

  def _release(self) -> None:
    """Gives an unfinished episode's slot back (its claim stays taken by a
    written video)."""
    if self._slot is not None:
      os.remove(self._claim_path(self._slot))
      self._slot = None

  def _write(self) -> None:
    # Imported here: only evaluation with videos needs imageio's ffmpeg.
    import imageio  # pylint: disable=g-import-not-at-top
    name = (f'{self._level}_{self._slot:02d}_return_{self._return:g}_steps_'
            f'{len(self._frames) - 1}.mp4')
    path = os.path.join(self._directory, name)
    with imageio.get_writer(path, fps=FRAMES_PER_SECOND, codec='libx264',
                            macro_block_size=1) as writer:
      for frame in self._frames:
        writer.append_data(frame)
    self._frames = []
    self._slot = None  # The claim file stays: the slot is used.

  def _screen(self, observation) -> np.ndarray:
    """The full-colour screen where the emulator has one; else the
    observation as an image (a colour observation as it is, else its last
    channel in grey). ``[H, W, 3]`` uint8, sides padded for the encoder."""
    ale = getattr(self.env.unwrapped, 'ale', None)
    if ale is not None:
      frame = ale.getScreenRGB()
    else:
      frame = np.asarray(observation)
      if frame.dtype != np.uint8:
        frame = (frame.astype(np.float32) * 255).astype(np.uint8)
      if frame.shape[2:] != (3,):  # Not a colour image (Procgen's is).
        frame = frame[..., -1:] if frame.ndim == 3 else frame[..., None]
        frame = np.repeat(frame, 3, axis=-1)
      scale = -(-MIN_SIDE // min(frame.shape[:2]))
      frame = frame.repeat(scale, axis=0).repeat(scale, axis=1)
    pad = [(0, -side % MACRO_BLOCK) for side in frame.shape[:2]] + [(0, 0)]
    return np.pad(frame, pad)
