"""Every command answers bad input with one line, ``error: ...``, status 2,
and no traceback."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import slow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_command(*args, timeout=120):
  return subprocess.run([sys.executable, '-m', *args], cwd=REPO,
                        capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result, expected):
  assert result.returncode == 2, result.stderr[-2000:]
  assert 'Traceback' not in result.stderr, result.stderr[-2000:]
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith('error: ') and expected in last, last


@pytest.fixture
def run_without_checkpoint(tmp_path):
  """A directory with a run's config and metrics, but no checkpoint and no
  evaluation.json; its metrics end in a line cut off mid-write."""
  logdir = tmp_path / 'run'
  logdir.mkdir()
  (logdir / 'config.json').write_text(json.dumps(dict(env='catch',
                                                      levels=['catch'])))
  record = dict(kind='episode', wall_time=1.0, frames=100, level='catch',
                episode_return=1.0, episode_length=9)
  (logdir / 'metrics.jsonl').write_text(json.dumps(record) + '\n' +
                                        '{"kind": "epis')
  return str(logdir)


@pytest.mark.parametrize('args,expected', [
    slow(['impala_tf.train', '--config=paper_configs/no_such_file.py',
          '--logdir=/nonexistent/run'], 'no_such_file.py'),
    (['impala_tf.train', '--config=paper_configs/catch.py',
      '--logdir=/nonexistent/run', '--config.unroll_length=0'],
     'config.unroll_length=0'),
    slow(['impala_tf.train', '--config=paper_configs/catch.py',
          '--logdir=/nonexistent/run', '--config.no_such_field=3'],
         'no_such_field'),
    slow(['impala_tf.train', '--config=paper_configs/gym_cartpole.py',
          "--config.levels=('Pendulum-v1',)", '--logdir=/nonexistent/run'],
         'Box action space'),
    (['impala_tf.evaluate', '--logdir=/nonexistent/run'], 'is not a directory'),
    (['impala_tf.sweep', '--sweep=paper_configs/no_such_sweep.py',
      '--logdir=/nonexistent/sweep'], 'no_such_sweep.py'),
    (['impala_tf.pbt', '--config=paper_configs/catch.py',
      '--logdir=/nonexistent/population'], 'no pbt section'),
    (['impala_tf.tables', 'atari57', '--runs=/nonexistent/run'],
     'evaluation.json is missing'),
    (['impala_tf.analysis', '--runs=/nonexistent/run',
      '--output=/nonexistent/plot.png'], 'is not a directory'),
    (['impala_tf.curves', 'export', '--logdir=/nonexistent/run',
      '--output=/nonexistent/curve.csv'], 'is not a directory'),
])
def test_bad_input_gets_one_line(args, expected):
  assert_one_line_error(run_command(*args), expected)


def test_evaluate_a_run_without_checkpoints(run_without_checkpoint):
  result = run_command('impala_tf.evaluate',
                       f'--logdir={run_without_checkpoint}')
  assert_one_line_error(result, 'no checkpoint in')


def test_a_run_without_evaluation_has_no_table(run_without_checkpoint):
  result = run_command('impala_tf.tables', 'atari57',
                       f'--runs={run_without_checkpoint}')
  assert_one_line_error(result, 'run python -m impala_tf.evaluate')


def test_a_cut_off_metrics_line_is_skipped_with_a_warning(
    run_without_checkpoint, caplog):
  from impala_tf.results import rundir  # pylint: disable=g-import-not-at-top
  records = rundir.read_metrics(run_without_checkpoint)
  assert [r['kind'] for r in records] == ['episode']
  assert 'line 2 is not a JSON record' in caplog.text
  assert rundir.last_wall_time(run_without_checkpoint) == 1.0
