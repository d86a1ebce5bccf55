"""Evaluation videos: the first K episodes of a level as MP4 files that
decode to the episode's frames."""

import os
import re

import imageio
import numpy as np
import pytest

from impala_tf import envs
from impala_tf import evaluate
from impala_tf.envs import video
from impala_tf.runtime import training
from tests.test_export import catch_config


def test_evaluation_writes_the_first_episodes_of_a_level_as_video(tmp_path):
  """Catch's episodes are 9 steps (the ball falls from row 0 to row 9): each
  video decodes to 10 frames of the scaled-up screen, its return is one
  of the evaluation's, and exactly K are written however many
  environments play the level."""
  logdir = str(tmp_path)
  config = catch_config(use_lstm=False)
  config.envs_per_actor = 4  # Four environments compete for 3 slots.
  training.train(config, logdir)
  results = evaluate.evaluate(logdir, episodes_per_level=8,
                              videos_per_level=3)
  names = sorted(os.listdir(os.path.join(logdir, 'videos')))
  assert len(names) == 3, names  # No claim files left either.
  returns = []
  for slot, name in enumerate(names):
    match = re.fullmatch(r'catch_(\d\d)_return_(-?[\d.]+)_steps_(\d+)\.mp4',
                         name)
    assert match and int(match[1]) == slot and int(match[3]) == 9, name
    returns.append(float(match[2]))
    with imageio.get_reader(os.path.join(logdir, 'videos', name)) as reader:
      frames = list(reader.iter_data())
    assert len(frames) == 10
    # 10 × 5 scaled by 13 (to 64 pixels at least), padded to 16s.
    assert frames[0].shape == (144, 80, 3)
    assert frames[0].max() > 200 and np.median(frames[0]) < 20
  assert set(returns) <= {-1.0, 1.0}
  evaluated = list(results['levels']['catch']['returns'])
  for value in returns:  # The recorded episodes are evaluated ones.
    evaluated.remove(value)


def test_a_bad_video_count_is_named(tmp_path):
  with pytest.raises(ValueError, match='--video=9'):
    evaluate.evaluate(str(tmp_path), episodes_per_level=4, videos_per_level=9)


def test_screens_of_the_emulator_are_full_colour():
  from impala_tf import envs  # pylint: disable=g-import-not-at-top
  env = video.RecordEpisodes(envs.make('atari', 'pong', False), '/nonexistent',
                             'pong', episodes=0)
  observation, _ = env.reset(seed=0)
  frame = env._screen(observation)  # pylint: disable=protected-access
  env.close()
  assert observation.shape == (84, 84, 4)
  assert frame.shape == (224, 160, 3) and frame.dtype == np.uint8
  assert len({tuple(c) for c in frame.reshape(-1, 3)}) > 3  # Colours.


def test_procgen_episodes_are_filmed_in_their_own_colours(tmp_path):
  """A Procgen game's observation is a colour picture: it is filmed as it
  is, frame by frame, and the file's return is the episode's."""
  env = video.RecordEpisodes(envs.make('procgen', 'coinrun', False),
                             str(tmp_path), 'coinrun', episodes=1)
  observations = [env.reset(seed=0)[0]]
  total, done = 0.0, False
  rng = np.random.default_rng(0)
  while not done:
    observation, reward, done, _, _ = env.step(int(rng.integers(15)))
    observations.append(observation)
    total += reward
  env.close()
  names = [n for n in os.listdir(tmp_path) if n.endswith('.mp4')]
  assert len(names) == 1 and f'_return_{total:g}_' in names[0], names
  with imageio.get_reader(os.path.join(tmp_path, names[0])) as reader:
    frames = list(reader.iter_data())
  assert len(frames) == len(observations)
  assert frames[0].shape == (64, 64, 3)
  # H.264 is lossy: near the observation's colours, far from its grey.
  first = observations[0].astype(np.float32)
  assert np.abs(frames[0] - first).mean() < 12
  grey = np.repeat(first[..., -1:], 3, axis=-1)
  assert np.abs(frames[0] - grey).mean() > 2 * np.abs(frames[0] - first).mean()
