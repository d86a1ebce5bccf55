"""Run directories as pandas DataFrames, and learning-curve plots.

  python -m impala_tf.analysis --runs=runs/pong --output=pong.png

Reads only the run-directory format (`impala_tf.rundir`), so it works on
runs that are still going and on runs from other machines.
"""

import os
from typing import Optional, Sequence

from absl import app
from absl import flags
import pandas as pd

from impala_tf import rundir


def episodes(logdir: str) -> pd.DataFrame:
  """One row per finished episode: frames, wall_time, level, episode_return,
  episode_length, and run (the directory's name)."""
  frame = pd.DataFrame(rundir.read_metrics(logdir, 'episode'))
  frame['run'] = os.path.basename(os.path.normpath(logdir))
  return frame.drop(columns='kind')


def train_records(logdir: str) -> pd.DataFrame:
  """One row per logged learner interval (losses, fps, lag, ...)."""
  frame = pd.DataFrame(rundir.read_metrics(logdir, 'train'))
  frame['run'] = os.path.basename(os.path.normpath(logdir))
  return frame.drop(columns='kind')


def learning_curve(logdir: str, level: Optional[str] = None,
                   window: int = 100) -> pd.DataFrame:
  """frames, wall_time and the rolling mean return over ``window`` episodes
  (of ``level``, or of all levels)."""
  frame = episodes(logdir)
  if level is not None:
    frame = frame[frame['level'] == level]
  frame = frame.sort_values('frames')
  frame['mean_return'] = frame['episode_return'].rolling(
      window, min_periods=1).mean()
  return frame[['frames', 'wall_time', 'level', 'mean_return']]


def plot_learning_curves(logdirs: Sequence[str], output: str,
                         window: int = 100) -> None:
  """Mean episode return against frames, one line per run and level."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  figure, axis = plt.subplots(figsize=(7, 4))
  for logdir in logdirs:
    name = os.path.basename(os.path.normpath(logdir))
    for level in episodes(logdir)['level'].unique():
      curve = learning_curve(logdir, level, window)
      axis.plot(curve['frames'] / 1e6, curve['mean_return'],
                label=f'{name}: {level}')
  axis.set_xlabel('environment frames (millions)')
  axis.set_ylabel(f'episode return (mean of last {window})')
  axis.grid(alpha=0.3)
  axis.legend()
  figure.tight_layout()
  figure.savefig(output, dpi=100)
  plt.close(figure)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  args = flags.FLAGS
  if not args.runs:
    raise app.UsageError('Give --runs=dir1,dir2,...')
  plot_learning_curves(args.runs, args.output, args.window)
  print(f'wrote {args.output}')


if __name__ == '__main__':
  # Flags live here, not at import: library modules must not claim names.
  flags.DEFINE_list('runs', [], 'Run directories to plot.')
  flags.DEFINE_string('output', 'learning_curves.png', 'PNG to write.')
  flags.DEFINE_integer('window', 100, 'Episodes in the rolling mean.')
  app.run(main)
