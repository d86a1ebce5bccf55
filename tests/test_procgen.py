"""Procgen on the real package (procgen2, installed with --no-deps): the
games' spaces, seeded levels, the train and test level distributions,
episodes through a worker process, the config's checks, evaluation on both
distributions, the normalised table, and numpy left at our pin."""

import importlib.metadata
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from impala_tf import config as config_lib
from impala_tf import envs
from impala_tf.envs import procgen
from impala_tf.results import curves
from impala_tf.results import scores
from impala_tf.results import tables
from impala_tf.runtime import fleet
from impala_tf.runtime.environment_group import EnvironmentGroup

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EASY = procgen.Settings()  # 200 easy levels from level 0.


def pinned_version(requirements: str, package: str) -> str:
  with open(os.path.join(REPO, requirements)) as f:
    for line in f:
      match = re.match(rf'{re.escape(package)}==(\S+)', line)
      if match:
        return match[1]
  raise AssertionError(f'{package} is not pinned in {requirements}')


def test_numpy_stays_at_our_pin_with_procgen_installed():
  # procgen2 and gym3 ask for numpy < 2; the README installs them without
  # their dependencies so that numpy stays where requirements.txt puts it.
  assert importlib.metadata.version('numpy') == pinned_version(
      'requirements.txt', 'numpy')
  assert importlib.metadata.version('procgen2') == pinned_version(
      'requirements-no-deps.txt', 'procgen2')
  import procgen as procgen_package  # pylint: disable=g-import-not-at-top
  assert procgen_package.__version__.strip() == '0.10.7'


@pytest.mark.parametrize('game', procgen.GAMES)
def test_every_game_has_64x64_rgb_frames_and_15_actions(game):
  env = envs.make('procgen', game, procgen=EASY._asdict())
  try:
    assert env.observation_space == procgen.gym.spaces.Box(
        0, 255, (64, 64, 3), np.uint8)
    assert env.action_space.n == 15
    observation, _ = env.reset(seed=3)
    assert observation.shape == (64, 64, 3) and observation.dtype == np.uint8
    assert observation.std() > 0  # A picture, not a blank.
    observation, reward, terminated, truncated, _ = env.step(4)
    assert observation.shape == (64, 64, 3)
    assert isinstance(reward, float) and not truncated
  finally:
    env.close()


def play(vector, steps, seed=0):
  """Observations, rewards, dones and level seeds of ``steps`` random
  steps (the actions drawn from ``seed``)."""
  rng = np.random.default_rng(seed)
  frames, rewards, dones, levels = [], [], [], [vector.level_seeds()]
  for _ in range(steps):
    step = vector.step(rng.integers(0, 15, vector.num_envs))
    frames.append(step.observation)
    rewards.append(step.reward)
    dones.append(step.done)
    levels.append(vector.level_seeds())
  return (np.stack(frames), np.stack(rewards), np.stack(dones),
          np.stack(levels))


def test_the_same_seed_gives_the_same_levels_and_frames():
  runs = []
  for seed in (7, 7, 8):
    vector = procgen.ProcgenVector('coinrun', 4, EASY)
    try:
      first = vector.reset([seed])
      runs.append((first,) + play(vector, 300))
    finally:
      vector.close()
  for same, other in zip(runs[0], runs[1]):
    np.testing.assert_array_equal(same, other)
  # Another seed: other levels.
  assert not np.array_equal(runs[0][-1], runs[2][-1])


def test_training_levels_stay_in_range_and_test_levels_fall_outside():
  """Over many episodes, training plays only level seeds start_level ..
  start_level + num_levels − 1; the test distribution (num_levels=0) plays
  levels drawn from all 2^31 seeds, none of them among those."""
  seen = {}
  for name, settings in (('train', EASY._replace(start_level=1000)),
                         ('test', EASY._replace(num_levels=0))):
    vector = procgen.ProcgenVector('bigfish', 8, settings)
    try:
      vector.reset([0])
      _, _, dones, levels = play(vector, 1500)
    finally:
      vector.close()
    assert dones.sum() >= 30, dones.sum()  # Many levels were started.
    seen[name] = set(levels.ravel().tolist())
  assert min(seen['train']) >= 1000 and max(seen['train']) < 1200
  assert len(seen['train']) > 20
  assert len(seen['test']) > 30
  assert not seen['test'] & set(range(0, 1200))


def test_episodes_and_returns_through_a_worker_process():
  """A training group of Procgen games in a worker process (the vector a
  fleet builds) gives the frames, rewards and episode ends of the same
  vector stepped here, and its episodes' returns are the sums of their
  rewards."""
  config = config_lib.load_config_file(
      os.path.join(REPO, 'paper_configs', 'procgen.py'), 'starpilot')
  levels = ['starpilot'] * 3
  vector_fn = fleet.make_vector_fn(config, levels, training=True)
  group = EnvironmentGroup([None] * 3, levels, seed=11, vector_fn=vector_fn)
  here = vector_fn()
  rng = np.random.default_rng(1)
  try:
    first = group.start()
    np.testing.assert_array_equal(first.observation, here.reset([11]))
    running = np.zeros(3)
    episodes = []
    for _ in range(400):
      actions = rng.integers(0, 15, 3)
      step = group.step(actions)
      expected = here.step(actions)
      output = step.env_output
      np.testing.assert_array_equal(output.observation, expected.observation)
      np.testing.assert_array_equal(output.reward, expected.reward)
      np.testing.assert_array_equal(output.done, expected.done)
      running += expected.reward
      for episode in step.episodes:
        assert episode.level_name == 'starpilot'
        assert episode.episode_return == running[episode.env_index]
        episodes.append(episode)
      running[expected.done] = 0
  finally:
    group.close()
    here.close()
  assert len(episodes) >= 3


@pytest.mark.parametrize('override, named', [
    (('levels', ('starpilots',)), "'starpilots'"),
    (('procgen.distribution_mode', 'medium'), "'medium'"),
    (('procgen.num_levels', -1), 'num_levels=-1'),
    (('num_action_repeats', 4), 'num_action_repeats=4'),
])
def test_bad_procgen_settings_are_named_before_anything_starts(override,
                                                               named):
  config = config_lib.load_config_file(
      os.path.join(REPO, 'paper_configs', 'procgen.py'), 'bigfish')
  field, value = override
  if '.' in field:
    config.procgen[field.split('.')[1]] = value
  else:
    config[field] = value
  with pytest.raises(ValueError, match=re.escape(named)):
    config_lib.validate_config(config)


def test_the_command_line_refuses_an_unknown_mode_in_one_line(tmp_path):
  command = subprocess.run(
      [sys.executable, '-m', 'impala_tf.train',
       '--config=paper_configs/procgen.py:starpilot,medium',
       f'--logdir={tmp_path / "run"}'],
      cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
  assert command.returncode == 2
  last = command.stderr.strip().splitlines()[-1]
  assert last.startswith('error:') and "'medium'" in last, last
  assert not os.path.exists(tmp_path / 'run')


def test_normalised_returns_match_the_papers_formula():
  # (R − R_min) / (R_max − R_min), written out for two games and modes.
  assert scores.procgen_normalized('starpilot', 'easy', 2.5) == 0.0
  assert scores.procgen_normalized('starpilot', 'easy', 64.0) == 1.0
  assert scores.procgen_normalized('bigfish', 'easy', 20.5) == pytest.approx(
      (20.5 - 1.0) / 39.0)
  assert scores.procgen_normalized('bigfish', 'hard', 20.0) == 0.5
  assert sorted(scores.PROCGEN_RANGES['easy']) == sorted(procgen.GAMES)
  assert sorted(scores.PROCGEN_RANGES['hard']) == sorted(procgen.GAMES)
  with pytest.raises(ValueError, match="'extreme'"):
    scores.procgen_normalized('bigfish', 'extreme', 1.0)


def write_run(run_dir, game, mode, train, test, frames=1000):
  """A Procgen run directory as evaluate leaves it, by hand."""
  os.makedirs(run_dir)
  config = config_lib.load_config_file(
      os.path.join(REPO, 'paper_configs', 'procgen.py'), f'{game},{mode}')
  with open(os.path.join(run_dir, 'config.json'), 'w') as f:
    f.write(config.to_json())
  result = lambda r: {game: dict(returns=[r], mean_return=r, episodes=1)}
  with open(os.path.join(run_dir, 'evaluation.json'), 'w') as f:
    json.dump(dict(checkpoint='ckpt-1', frames=frames, levels=result(train),
                   test_levels=result(test)), f)


def test_the_procgen_table_normalises_train_and_test_per_mode(tmp_path):
  write_run(tmp_path / 'a', 'starpilot', 'easy', train=33.25, test=2.5)
  write_run(tmp_path / 'b', 'bigfish', 'easy', train=40.0, test=20.5)
  write_run(tmp_path / 'c', 'bigfish', 'hard', train=10.0, test=0.0)
  table, summary = tables.procgen_table(
      [str(tmp_path / name) for name in 'abc'])
  rows = table.set_index(['mode', 'game'])
  assert rows.loc[('easy', 'starpilot'), 'train_normalized'] == 0.5
  assert rows.loc[('easy', 'starpilot'), 'test_normalized'] == 0.0
  assert rows.loc[('hard', 'bigfish'), 'train_normalized'] == 0.25
  assert rows.loc[('easy', 'bigfish'), 'train_levels'] == 200
  assert rows.loc[('hard', 'bigfish'), 'train_levels'] == 500
  easy_test = (0.0 + (20.5 - 1.0) / 39.0) / 2
  assert f'| easy | 2 | 0.750 | {easy_test:.3f} |' in summary
  assert '| hard | 1 | 0.250 | 0.000 |' in summary
  with pytest.raises(ValueError, match='more than one'):
    tables.procgen_table([str(tmp_path / 'b'), str(tmp_path / 'b')])


def test_a_procgen_run_is_evaluated_on_train_and_test_levels(tmp_path):
  """A few updates of the deep agent on starpilot, then `evaluate`: both
  distributions played, each level's mean in evaluation.json and in the
  run's "evaluation" records, and the evaluations as a curve."""
  from impala_tf import evaluate  # pylint: disable=g-import-not-at-top
  from impala_tf.runtime import training  # pylint: disable=g-import-not-at-top
  config = config_lib.load_config_file(
      os.path.join(REPO, 'paper_configs', 'procgen.py'), 'starpilot')
  config.num_actors, config.envs_per_actor = 1, 4
  config.batch_size, config.unroll_length = 2, 10
  config.stop_at_frames = 200
  logdir = str(tmp_path / 'run')
  training.train(config, logdir)
  results = evaluate.evaluate(logdir, episodes_per_level=4)
  assert results['frames'] >= 200
  for split in ('levels', 'test_levels'):
    assert results[split]['starpilot']['episodes'] == 4
    returns = results[split]['starpilot']['returns']
    assert results[split]['starpilot']['mean_return'] == np.mean(returns)
  curve = curves.evaluation_curve(logdir)
  assert curve['split'].tolist() == ['test', 'train']
  assert curve['mean_return'].tolist() == [
      results['test_levels']['starpilot']['mean_return'],
      results['levels']['starpilot']['mean_return']]
  assert (curve['frames'] == results['frames']).all()
  table, _ = tables.procgen_table([logdir])
  assert table['test'].iloc[0] == results['test_levels']['starpilot'][
      'mean_return']
