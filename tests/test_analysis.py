"""Run directories into pandas, and the learning-curve plot."""

import json
import os

import numpy as np
import pytest

from impala_tf.results import analysis
from impala_tf.results import rundir
from impala_tf.runtime.run_writer import RunWriter


def make_run(path):
  run = RunWriter(str(path))
  for i, value in enumerate([1.0, 3.0, 5.0, 7.0]):
    run.log('episode', dict(frames=100 * i, level='pong',
                            episode_return=value, episode_length=10))
  run.log('episode', dict(frames=450, level='breakout', episode_return=2.0,
                          episode_length=5))
  run.log('train', dict(frames=400, fps=1000.0, total_loss=0.5))
  run.close()
  return str(path)


def log_returns(run, level, returns):
  """One episode every 100 frames, each followed by a learner record."""
  for step, value in enumerate(returns):
    run.log('episode', dict(frames=step * 100, level=level,
                            episode_return=float(value), episode_length=9))
    run.log('train', dict(frames=step * 100))


def test_episodes_and_learner_records(tmp_path):
  logdir = make_run(tmp_path / 'myrun')
  frame = analysis.episodes(logdir)
  assert len(frame) == 5 and set(frame['run']) == {'myrun'}
  assert frame[frame['level'] == 'pong']['episode_return'].tolist() == [
      1.0, 3.0, 5.0, 7.0]
  records = analysis.train_records(logdir)
  assert records['fps'].tolist() == [1000.0]


def test_plot_writes_a_png(tmp_path):
  logdir = make_run(tmp_path / 'myrun')
  output = tmp_path / 'curves.png'
  analysis.plot_learning_curves([logdir], str(output), window=2)
  assert output.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_final_returns_and_top_k(tmp_path):
  from impala_tf import config as config_lib  # pylint: disable=g-import-not-at-top
  for index, (method, returns) in enumerate([
      ('vtrace', [0, 1, 2, 10]), ('vtrace', [0, 0, 4, 6]),
      ('vtrace', [1, 1, 1, 1]), ('vtrace', [0, 0, 0, 2]),
      ('no_correction', [5, 5, 3, 3])]):
    run = RunWriter(str(tmp_path / f'run{index}'))
    config = config_lib.base_config()
    config.off_policy_correction = method
    run.write_config(config)
    log_returns(run, 'catch', returns)
    run.close()
  logdirs = rundir.runs_below(str(tmp_path))
  assert len(logdirs) == 5
  final = analysis.final_returns(logdirs, window=2)
  by_run = final.set_index('run')['final_return']
  assert by_run['run0'] == 6.0 and by_run['run1'] == 5.0
  assert by_run['run3'] == 1.0
  assert set(final['off_policy_correction']) == {'vtrace', 'no_correction'}
  top = analysis.top_k_mean(final, ['off_policy_correction'], k=3)
  assert top['vtrace'] == pytest.approx((6.0 + 5.0 + 1.0) / 3)
  assert top['no_correction'] == 3.0


def test_a_sweep_repeated_over_seeds_keeps_every_run(tmp_path):
  from impala_tf import config as config_lib  # pylint: disable=g-import-not-at-top
  for seed, returns in [(0, [0.0, 1.0]), (1, [2.0, 5.0])]:
    run = RunWriter(str(tmp_path / f'seed_{seed}' / 'vtrace'))
    config = config_lib.base_config()
    config.seed = seed
    run.write_config(config)
    log_returns(run, 'catch', returns)
    run.close()
  # A multi-worker run's worker directory is part of its run, not a run.
  worker = RunWriter(str(tmp_path / 'seed_1' / 'vtrace' / 'worker_1'))
  worker.log('episode', dict(frames=0, level='catch', episode_return=9.0,
                             episode_length=9))
  worker.close()
  logdirs = rundir.runs_below(str(tmp_path))
  assert [os.path.relpath(d, tmp_path) for d in logdirs] == [
      os.path.join('seed_0', 'vtrace'), os.path.join('seed_1', 'vtrace')]
  final = analysis.final_returns(logdirs, window=1)
  assert len(final) == 2
  assert final.set_index('seed')['final_return'].to_dict() == {0: 1.0, 1: 5.0}
  assert final.set_index('seed')['mean_return'].to_dict() == {0: 0.5, 1: 3.5}
  assert final.groupby('run')['final_return'].mean()['vtrace'] == 3.0


def test_average_learning_curve_over_runs(tmp_path):
  for name, values in [('a', [0.0, 2.0, 4.0]), ('b', [2.0, 2.0, 2.0, 2.0])]:
    run = RunWriter(str(tmp_path / name))
    log_returns(run, 'catch', values)
    run.close()
  curve = analysis.average_learning_curve(
      rundir.runs_below(str(tmp_path)), 'catch', window=1, points=5)
  # Frames 0..200 (the shorter run's end); run a rises 0 → 4, b stays at 2.
  np.testing.assert_allclose(curve['frames'], [0, 50, 100, 150, 200])
  np.testing.assert_allclose(curve['mean_return'], [1, 1.5, 2, 2.5, 3])
  np.testing.assert_allclose(curve['std_return'], [1, 0.5, 0, 0.5, 1])


def test_a_run_that_has_just_started_has_no_results_yet(tmp_path):
  from impala_tf import config as config_lib  # pylint: disable=g-import-not-at-top
  done = make_run(tmp_path / 'done')
  started = RunWriter(str(tmp_path / 'started'))
  for run in (RunWriter(done), started):
    run.write_config(config_lib.base_config())
    run.close()
  assert analysis.episodes(str(tmp_path / 'started')).empty
  assert analysis.train_records(str(tmp_path / 'started')).empty
  final = analysis.final_returns([done, str(tmp_path / 'started')], window=2)
  assert set(final['run']) == {'done'}


def test_evaluations_are_one_row_per_episode(tmp_path):
  logdir = make_run(tmp_path / 'myrun')
  with pytest.raises(FileNotFoundError, match='impala_tf.evaluate'):
    analysis.evaluations([logdir])
  with open(os.path.join(logdir, rundir.EVALUATION_FILE), 'w') as f:
    json.dump({'checkpoint': 'ckpt-7', 'levels': {
        'pong': {'returns': [20.0, 18.0], 'mean_return': 19.0, 'episodes': 2},
        'breakout': {'returns': [3.0], 'mean_return': 3.0, 'episodes': 1}}},
              f)
  frame = analysis.evaluations([logdir])
  assert len(frame) == 3 and set(frame['checkpoint']) == {'ckpt-7'}
  means = frame.groupby('level')['episode_return'].mean()
  assert means['pong'] == 19.0 and means['breakout'] == 3.0
  assert frame[frame.level == 'pong']['episode'].tolist() == [0, 1]


def test_a_resumed_run_reads_as_the_run_that_went_on(tmp_path):
  """What a part logged past the checkpoint the next part resumed from was
  done again: those records are read once, from the part that went on; a
  part cut before its first checkpoint leaves nothing."""
  run = RunWriter(str(tmp_path))
  log = lambda frames, value: run.log('episode', dict(
      frames=frames, level='catch', episode_return=value, episode_length=9))
  run.log('start', dict(frames=0, command='first', commit='a'))
  log(100, -1.0)
  log(200, -1.0)  # Cut before any checkpoint.
  run.log('start', dict(frames=0, command='again', commit='a'))
  for frames in (100, 200, 300, 400):
    log(frames, frames / 400)
    run.log('train', dict(frames=frames, fps=1.0))
  run.log('start', dict(frames=300, command='resumed', commit='b'))
  log(400, 5.0)
  run.log('train', dict(frames=400, fps=2.0))
  run.close()
  returns = analysis.episodes(str(tmp_path))['episode_return'].tolist()
  assert returns == [0.25, 0.5, 0.75, 5.0]
  assert analysis.train_records(str(tmp_path))['fps'].tolist() == [
      1.0, 1.0, 1.0, 2.0]
  assert [r['command'] for r in rundir.read_metrics(str(tmp_path), 'start')
          ] == ['first', 'again', 'resumed']


def test_average_curves_of_curve_csvs_skip_points_without_a_return():
  import pandas as pd  # pylint: disable=g-import-not-at-top
  a = pd.DataFrame(dict(frames=[0, 100, 200, 300],
                        mean_return=[np.nan, 0.0, 2.0, 4.0]))
  b = pd.DataFrame(dict(frames=[100, 200, 250], mean_return=[2.0, 2.0, 2.0]))
  curve = analysis.average_curves([a, b], points=3)
  # From 100 (a's first return) to 250 (b's end); a rises 0 → 3 there.
  np.testing.assert_allclose(curve['frames'], [100, 175, 250])
  np.testing.assert_allclose(curve['mean_return'], [1, 1.75, 2.5])
  np.testing.assert_allclose(curve['std_return'], [1, 0.25, 0.5])
