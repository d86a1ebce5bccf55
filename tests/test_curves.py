"""Learning curves as data: export, provenance, milestones and figures."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from impala_tf.results import curves
from impala_tf.results import rundir
from impala_tf.runtime import run_writer
from impala_tf.runtime.run_writer import RunWriter

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_run(path, with_start=True):
  run = RunWriter(str(path))
  if with_start:
    run.log('start', dict(frames=0, commit='abc123',
                          command=f'python -m impala_tf.train --logdir={path}'))
  returns = [-21.0, -19.0, -15.0, -5.0, 3.0, 19.0]
  log_episode = lambda i: run.log('episode', dict(
      frames=1000 * (i + 1), level='pong', episode_return=returns[i],
      episode_length=800))
  log_train = lambda frames: run.log('train', dict(
      frames=frames, entropy=1.7, policy_lag=1.5, learning_rate=6e-4,
      gradient_norm=40.0, fps=5000.0, num_updates=frames // 100))
  for i in range(4):
    log_episode(i)
  for frames in (500, 2500, 4000):
    log_train(frames)
  if with_start:  # A second part, resumed at 4000 frames.
    run.log('start', dict(frames=4000, commit='def456',
                          command='python -m impala_tf.train --logdir=x'))
  for i in range(4, 6):
    log_episode(i)
  log_train(6500)
  run.close()
  return str(path)


def test_export_writes_provenance_and_windowed_means(tmp_path):
  logdir = make_run(tmp_path / 'pong_run')
  output = tmp_path / 'curves' / 'pong_run.csv'
  curves.export(logdir, str(output), window=2)
  header = curves.read_header(str(output))
  assert header[0] == ('run', 'pong_run')
  assert [value for key, value in header if key == 'commit'] == [
      'abc123', 'def456']
  commands = [value for key, value in header if key == 'command']
  # An absolute run directory is shown as runs/<name>.
  assert commands[0] == 'python -m impala_tf.train --logdir=runs/pong_run'
  assert [value for key, value in header if key == 'part_from_frames'] == [
      '0', '4000']
  curve = curves.read_curve(str(output))
  assert list(curve.columns) == list(curves.COLUMNS)
  assert curve['frames'].tolist() == [500, 2500, 4000, 6500]
  # Means of the last 2 episodes ended by each line: none; -21, -19;
  # -19, -15 (4000 includes the episode that ended at 4000); 3, 19.
  assert np.isnan(curve['mean_return'][0])
  np.testing.assert_allclose(curve['mean_return'][1:], [-20.0, -10.0, 11.0])
  assert curve['episodes'].tolist() == [0, 2, 4, 6]
  assert curve['num_updates'].tolist() == [5, 25, 40, 65]


def test_export_refuses_a_run_without_provenance(tmp_path):
  logdir = make_run(tmp_path / 'old', with_start=False)
  with pytest.raises(ValueError, match='no command or commit'):
    curves.export(logdir, str(tmp_path / 'old.csv'))


def test_export_of_a_run_without_log_lines_names_it(tmp_path):
  run = RunWriter(str(tmp_path / 'new'))
  run.log('start', dict(frames=0, command='x', commit='y'))
  run.close()
  with pytest.raises(ValueError, match='new has no learner log lines'):
    curves.export(str(tmp_path / 'new'), str(tmp_path / 'new.csv'))


def test_milestones_and_plot(tmp_path):
  output = tmp_path / 'pong_run.csv'
  curves.export(make_run(tmp_path / 'pong_run'), str(output), window=2)
  table = curves.milestones([str(output)], [-21, -15, 0, 18]).iloc[0]
  assert table['curve'] == 'pong_run'
  # Not at 500 frames: no episode had ended, let alone a window of 2.
  assert table['frames_to_-21'] == 2500
  assert table['frames_to_-15'] == 4000
  curve = curves.read_curve(str(output))
  assert curves.first_frames_at(curve, -21, min_episodes=3) == 4000
  assert curves.first_frames_at(curve, 20) is None
  assert table['frames_to_+0'] == 6500
  assert np.isnan(table['frames_to_+18'])
  assert table['last_mean_return'] == 11.0
  figure = tmp_path / 'pong.png'
  curves.plot([str(output)], str(figure), references=['pong_release'])
  assert figure.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
  with pytest.raises(ValueError, match="Unknown reference 'nope'"):
    curves.plot([str(output)], str(figure), references=['nope'])


def test_evaluations_export_newest_per_checkpoint_and_plot(tmp_path):
  """Evaluations after each part (`evaluate`'s "evaluation" records)
  become one CSV row per frames, split and level; a checkpoint evaluated
  twice keeps its newest evaluation, and the CSV plots beside a curve."""
  logdir = make_run(tmp_path / 'run')
  run_writer.append_records(logdir, 'evaluation', [
      dict(frames=4000, checkpoint='ckpt-40', split=split, level='pong',
           mean_return=value, episodes=10)
      for split, value in (('train', -10.0), ('test', -12.0))])
  run_writer.append_records(logdir, 'evaluation', [
      dict(frames=6500, checkpoint='ckpt-65', split='train', level='pong',
           mean_return=1.0, episodes=10),
      dict(frames=4000, checkpoint='ckpt-40', split='test', level='pong',
           mean_return=-11.0, episodes=10)])
  output = tmp_path / 'run_evaluations.csv'
  curves.export_evaluations(logdir, str(output))
  assert [v for k, v in curves.read_header(str(output)) if k == 'commit'] == [
      'abc123', 'def456']
  table = curves.read_curve(str(output))
  assert list(table.columns) == list(curves.EVALUATION_COLUMNS)
  assert list(zip(table['frames'], table['split'], table['mean_return'])) == [
      (4000, 'test', -11.0), (4000, 'train', -10.0), (6500, 'train', 1.0)]
  # Appended at the run's clock where it stopped, not from zero.
  assert (table['wall_time'] == rundir.last_wall_time(logdir)).all()
  curve = tmp_path / 'run.csv'
  curves.export(logdir, str(curve), window=2)
  figure = tmp_path / 'run.png'
  curves.plot([str(curve), str(output)], str(figure))
  assert figure.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
  with pytest.raises(ValueError, match='no evaluations'):
    curves.export_evaluations(make_run(tmp_path / 'other'),
                              str(tmp_path / 'x.csv'))


def test_command_line_reads_like_what_a_user_typed():
  import impala_tf.train as train_module  # pylint: disable=g-import-not-at-top
  argv = [train_module.__file__, '--config=paper_configs/catch.py',
          '--config.levels=(a, b)']
  assert rundir.command_line(argv) == (
      "python -m impala_tf.train --config=paper_configs/catch.py "
      "'--config.levels=(a, b)'")
  assert rundir.command_line(['/somewhere/benchmarks/soak.py', '--x=1']) == (
      'python soak.py --x=1')


def test_source_commit_names_this_checkout(tmp_path):
  """In a git checkout (the repository, as CI clones it) the commit is
  HEAD's, dirty exactly when a tracked file differs; a copy of the package
  outside any checkout says 'unknown'."""
  git = lambda *args: subprocess.run(['git', '-C', REPO, *args],
                                     capture_output=True, text=True)
  head = git('rev-parse', 'HEAD')
  assert head.returncode == 0, 'the tests run from a git checkout'
  dirty = bool(git('status', '--porcelain', '--untracked-files=no').stdout)
  assert rundir.source_commit() == (head.stdout.strip() +
                                    ('-dirty' if dirty else ''))

  shutil.copytree(os.path.join(REPO, 'impala_tf'), tmp_path / 'impala_tf',
                  ignore=shutil.ignore_patterns('__pycache__'))
  outside = subprocess.run(
      [sys.executable, '-c', 'from impala_tf.results import rundir; '
       'print(rundir.source_commit())'], cwd=tmp_path, capture_output=True,
      text=True, env=dict(os.environ, PYTHONPATH=str(tmp_path),
                          GIT_CEILING_DIRECTORIES=str(tmp_path.parent)))
  assert outside.returncode == 0, outside.stderr[-2000:]
  assert outside.stdout.strip() == 'unknown'


def test_summary_weighs_the_curve_by_frames_not_by_log_lines():
  import pandas as pd  # pylint: disable=g-import-not-at-top
  # No episode had ended at 100 frames; then 0 at 200, 0 at 300, 10 at 1200.
  curve = pd.DataFrame(dict(frames=[100, 200, 300, 1200],
                            mean_return=[np.nan, 0.0, 0.0, 10.0],
                            policy_lag=[1.0, 2.0, 3.0, 6.0],
                            episodes=[0, 4, 6, 20]))
  result = curves.summary(curve)
  assert result['final_return'] == 10.0
  # Area from 200 to 1200: 0 + (0 + 10) / 2 · 900 = 4500, over 1000 frames
  # (the mean of the three log lines would be 3.33).
  assert result['mean_return'] == pytest.approx(4.5)
  assert result['policy_lag'] == pytest.approx(3.0)
  assert (result['episodes'], result['frames']) == (20, 1200)
  assert curves.summary(curve.iloc[:2])['mean_return'] == 0.0
  with pytest.raises(ValueError, match='no mean return yet'):
    curves.summary(curve.iloc[:1])


STUDY_SWEEP = ('paper_configs/sweep_vtrace_study.py:'
               'paper_configs/minatar.py:seaquest,2')


def write_curve(path, run, command):
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(f'# run: {run}\n# part_from_frames: 0\n'
                  f'# command: {command}\n# commit: abc\n# window: 50 episodes\n'
                  + ','.join(curves.COLUMNS) + '\n')
  return str(path)


def test_a_sweep_runs_config_comes_back_from_its_curve_header(
    tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)  # Relative paths are the checkout's, not cwd's.
  run = 'clip_rho_threshold=None,clip_c_threshold=0.5,replay_fraction=0.5'
  path = write_curve(
      tmp_path / 'a.csv', run, f'python -m impala_tf.sweep --sweep='
      f'{STUDY_SWEEP} --logdir=runs/x "--runs=*replay_fraction=0.5"')
  config = curves.sweep_run_config(path)
  assert config.clip_rho_threshold is None
  assert config.clip_c_threshold == 0.5
  assert config.replay_fraction == 0.5
  assert (config.seed, config.vtrace_lambda) == (2, 1.0)
  assert config.off_policy_correction == 'vtrace'
  assert config.total_environment_frames == 1_000_000
  gone = write_curve(tmp_path / 'b.csv', 'clip_rho_threshold=3',
                     f'python -m impala_tf.sweep --sweep={STUDY_SWEEP}')
  with pytest.raises(ValueError, match="b.csv: the sweep .* no run "
                     "'clip_rho_threshold=3'"):
    curves.sweep_run_config(gone)
  trained = write_curve(tmp_path / 'c.csv', 'pong',
                        'python -m impala_tf.train --logdir=runs/pong')
  with pytest.raises(ValueError, match='c.csv: not a sweep run'):
    curves.sweep_run_config(trained)


def test_export_tree_keeps_the_layout_and_leaves_unfinished_runs_out(
    tmp_path):
  runs = tmp_path / 'runs'
  for seed in (0, 1):
    make_run(runs / f'seed_{seed}' / 'a=1')
    (runs / f'seed_{seed}' / 'a=1' / rundir.SWEEP_DONE_FILE).write_text('{}')
  make_run(runs / 'seed_1' / 'a=2')  # Still going: not done.
  written = curves.export_tree(str(runs), str(tmp_path / 'out'), window=2)
  assert written == [str(tmp_path / 'out' / f'seed_{k}' / 'a=1.csv')
                     for k in (0, 1)]
  np.testing.assert_allclose(
      curves.read_curve(written[1])['mean_return'][1:], [-20.0, -10.0, 11.0])
  with pytest.raises(ValueError, match='holds no run directory'):
    curves.export_tree(str(tmp_path / 'out'), str(tmp_path / 'again'))
