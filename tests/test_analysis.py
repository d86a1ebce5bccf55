"""Run directories into pandas, and the learning-curve plot."""

import numpy as np

from impala_tf import analysis
from impala_tf import rundir


def make_run(path):
  run = rundir.RunDirectory(str(path))
  for i, value in enumerate([1.0, 3.0, 5.0, 7.0]):
    run.log('episode', dict(frames=100 * i, level='pong',
                            episode_return=value, episode_length=10))
  run.log('episode', dict(frames=450, level='breakout', episode_return=2.0,
                          episode_length=5))
  run.log('train', dict(frames=400, fps=1000.0, total_loss=0.5))
  run.close()
  return str(path)


def test_episodes_and_learning_curve(tmp_path):
  logdir = make_run(tmp_path / 'myrun')
  frame = analysis.episodes(logdir)
  assert len(frame) == 5 and set(frame['run']) == {'myrun'}
  curve = analysis.learning_curve(logdir, 'pong', window=2)
  np.testing.assert_allclose(curve['mean_return'], [1.0, 2.0, 4.0, 6.0])
  records = analysis.train_records(logdir)
  assert records['fps'].tolist() == [1000.0]


def test_plot_writes_a_png(tmp_path):
  logdir = make_run(tmp_path / 'myrun')
  output = tmp_path / 'curves.png'
  analysis.plot_learning_curves([logdir], str(output), window=2)
  assert output.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
