"""Run directories as pandas DataFrames, and learning-curve plots.

Reads the run-directory format (`impala_tf.results.rundir`), so it works on runs
that are still going and on runs from other machines, and the published
curve CSVs of sweep runs (`results.curves`), so that a study can be
analysed again from the repository alone.
"""

import os
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from impala_tf.results import curves as curves_lib
from impala_tf.results import rundir


# The fields of every episode record, for a run that has none yet.
EPISODE_COLUMNS = ['kind', 'frames', 'wall_time', 'level', 'episode_return',
                   'episode_length']


def episodes(logdir: str) -> pd.DataFrame:
  """One row per finished episode: frames, wall_time, level, episode_return,
  episode_length, and run (the directory's name)."""
  frame = _records(logdir, 'episode', EPISODE_COLUMNS)
  frame['run'] = os.path.basename(os.path.normpath(logdir))
  return frame.drop(columns='kind')


def train_records(logdir: str) -> pd.DataFrame:
  """One row per logged learner interval (losses, fps, lag, ...)."""
  frame = _records(logdir, 'train', ['kind', 'wall_time', 'frames'])
  frame['run'] = os.path.basename(os.path.normpath(logdir))
  return frame.drop(columns='kind')


def evaluations(logdirs: Sequence[str]) -> pd.DataFrame:
  """One row per evaluation episode (`impala_tf.evaluate`): run, logdir,
  checkpoint, level, episode (its index in the level) and episode_return.
  A run without evaluation.json is an error that names it."""
  rows = []
  for logdir in logdirs:
    evaluation = rundir.read_evaluation(logdir)
    for level, result in evaluation['levels'].items():
      for index, episode_return in enumerate(result['returns']):
        rows.append(dict(run=os.path.basename(os.path.normpath(logdir)),
                         logdir=logdir, checkpoint=evaluation['checkpoint'],
                         level=level, episode=index,
                         episode_return=episode_return))
  return pd.DataFrame(rows, columns=['run', 'logdir', 'checkpoint', 'level',
                                     'episode', 'episode_return'])


def _records(logdir: str, kind: str, columns: Sequence[str]) -> pd.DataFrame:
  """The records of one kind; with ``columns`` when there are none yet."""
  records = rundir.read_metrics(logdir, kind)
  return pd.DataFrame(records) if records else pd.DataFrame(columns=columns)


def configs(logdirs: Sequence[str]) -> pd.DataFrame:
  """One row per run: its name and every config field (a tidy table to
  join results with)."""
  rows = []
  for logdir in logdirs:
    config = rundir.read_config(logdir).to_dict()
    rows.append(dict(run=os.path.basename(os.path.normpath(logdir)),
                     **{k: v for k, v in config.items()
                        if not isinstance(v, dict)}))
  return pd.DataFrame(rows)


def final_returns(logdirs: Sequence[str], window: int = 50) -> pd.DataFrame:
  """Per run and level, the `curves.summary` of its learning curve
  (`curves.curve_from_run` with ``window`` episodes): ``final_return`` (the
  mean of the last ``window`` episodes at the last log line),
  ``mean_return`` (the area under the curve ÷ the frames it spans),
  ``policy_lag``, ``episodes`` and ``frames``; with its directory
  (``logdir``) and its config fields. A run or level with no curve yet (no
  log line, or no episode ended) has no row. Runs of the same name (one
  sweep repeated over seeds) stay separate rows; average them with
  `seed_summary` or a groupby."""
  rows = []
  for logdir in logdirs:
    config = configs([logdir]).iloc[0].to_dict()
    try:
      curves = curves_lib.curves_by_level(logdir, window)
    except ValueError:  # No log line yet.
      continue
    for level, curve in curves.items():
      try:
        summary = curves_lib.summary(curve)
      except ValueError:  # None of its episodes ended by a log line yet.
        continue
      rows.append(dict(config, level=level, logdir=logdir, **summary))
  return pd.DataFrame(rows)


def curve_summaries(paths: Sequence[str]) -> pd.DataFrame:
  """One row per curve CSV of a sweep run: its config fields (rebuilt by
  `curves.sweep_run_config`), its `curves.summary` (final_return,
  mean_return, policy_lag, episodes, frames), its name (``run``) and the
  CSV (``curve``). Rows of one sweep repeated over seeds stay separate;
  average them with `seed_summary`."""
  rows = []
  for path in paths:
    config = curves_lib.sweep_run_config(path).to_dict()
    rows.append(dict({k: v for k, v in config.items()
                      if not isinstance(v, dict)},
                     **curves_lib.summary(curves_lib.read_curve(path)),
                     run=dict(curves_lib.read_header(path))['run'],
                     curve=path))
  return pd.DataFrame(rows)


def seed_summary(frame: pd.DataFrame, by: Sequence[str],
                 values: Sequence[str] = ('final_return', 'mean_return',
                                          'policy_lag')) -> pd.DataFrame:
  """Per group of ``by`` (a setting, its runs the seeds): for each of
  ``values`` the mean and the standard error of the mean over the runs
  (standard deviation / √n, NaN for one run), and ``seeds``, the number of
  runs. Columns: (value, 'mean'), (value, 'sem') and ('seeds', '')."""
  groups = frame.groupby(list(by))
  summary = groups[list(values)].agg(['mean', 'sem'])
  summary[('seeds', '')] = groups.size()
  return summary


def top_k_mean(frame: pd.DataFrame, by: Sequence[str], k: int = 3,
               value: str = 'final_return') -> pd.Series:
  """Mean of the ``k`` largest ``value`` in each group of ``by``: Table 2's
  score is the mean final return of the 3 best of 24 settings (paper.md §2)."""
  return frame.groupby(list(by))[value].apply(
      lambda values: values.nlargest(k).mean())


def average_learning_curve(logdirs: Sequence[str], level: Optional[str] = None,
                           window: int = 50,
                           points: int = 100) -> pd.DataFrame:
  """The mean over runs (seeds, or a method's best settings) of their
  learning curves (`curves.curve_from_run`), each interpolated at ``points``
  frame counts (`average_curves`): columns frames, mean_return, and
  std_return across the runs."""
  return average_curves(
      [curves_lib.curve_from_run(logdir, window, level) for logdir in logdirs],
      points)


def average_curves(curves: Sequence[pd.DataFrame],
                   points: int = 100) -> pd.DataFrame:
  """The mean over curves (frames and mean_return columns:
  `curves.curve_from_run`, or curve CSVs read by `curves.read_curve`), each
  interpolated at
  ``points`` frame counts from the latest first point to the earliest last
  one, points without a mean return left out: columns frames, mean_return,
  and std_return across the curves."""
  curves = [c.dropna(subset=['mean_return']) for c in curves]
  frames = np.linspace(max(c['frames'].iloc[0] for c in curves),
                       min(c['frames'].iloc[-1] for c in curves), points)
  returns = np.stack([np.interp(frames, c['frames'], c['mean_return'])
                      for c in curves])
  return pd.DataFrame(dict(frames=frames, mean_return=returns.mean(axis=0),
                           std_return=returns.std(axis=0)))


def truncation_label(value: float) -> str:
  """A truncation level as the figures write it: '∞' for no truncation."""
  return '∞' if np.isinf(value) else f'{value:g}'


def draw_rho_c_grid(axis, grid: pd.DataFrame, title: str) -> None:
  """A ρ̄ × c̄ heatmap on a matplotlib ``axis``: ``grid`` has ρ̄ as index and
  c̄ as columns (np.inf for no truncation); every cell is written in it."""
  image = axis.imshow(grid.to_numpy(), cmap='viridis', origin='lower')
  axis.set_xticks(range(len(grid.columns)),
                  [truncation_label(c) for c in grid.columns])
  axis.set_yticks(range(len(grid.index)),
                  [truncation_label(r) for r in grid.index])
  axis.set_xlabel('c̄')
  axis.set_ylabel('ρ̄')
  axis.set_title(title)
  for (i, j), cell in np.ndenumerate(grid.to_numpy()):
    if not np.isnan(cell):  # Dark text on the bright half of the colours.
      bright = image.norm(cell) > 0.5
      axis.text(j, i, f'{cell:.2f}', ha='center', va='center',
                color='k' if bright else 'w')
  axis.figure.colorbar(image, ax=axis)


def plot_learning_curves(logdirs: Sequence[str], output: str,
                         window: int = 50) -> None:
  """Each run's learning curve (`curves.curve_from_run`) per level: the mean
  return of the last ``window`` episodes against frames."""
  # Here, not at import: a notebook that imports this module keeps its own
  # backend; files are drawn without a display.
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  plt.switch_backend('Agg')
  figure, axis = plt.subplots(figsize=(7, 4))
  for logdir in logdirs:
    name = os.path.basename(os.path.normpath(logdir))
    for level, curve in curves_lib.curves_by_level(logdir, window).items():
      axis.plot(curve['frames'] / 1e6, curve['mean_return'],
                label=f'{name}: {level}')
  axis.set_xlabel('environment frames (millions)')
  axis.set_ylabel(f'episode return (mean of last {window})')
  axis.grid(alpha=0.3)
  axis.legend()
  figure.tight_layout()
  figure.savefig(output, dpi=100)
  plt.close(figure)
