"""Learning curves as data: run directory → CSV → figures and milestones.

Every learning result that REPRODUCE.md reports is published as a compact CSV
under ``reproduce/curves/``, so that a reader can re-plot it or hold it
against their own run without rerunning ours. The figures and the milestone
tables of REPRODUCE.md are drawn from those CSVs by this module:

  python -m impala_tf.curves export --logdir=runs/pong \\
      --output=reproduce/curves/pong.csv
  python -m impala_tf.curves plot --curves=reproduce/curves/pong.csv \\
      --reference=pong_release --output=reproduce/pong.png
  python -m impala_tf.curves milestones --curves=reproduce/curves/pong.csv \\
      --thresholds=-15,0,18
  python -m impala_tf.curves export_tree --logdir=runs/vtrace_study \\
      --output=reproduce/curves/vtrace_study
  python -m impala_tf.curves export_evaluations --logdir=runs/starpilot \\
      --output=reproduce/curves/procgen_starpilot_evaluations.csv

``export_tree`` exports every finished sweep run below a directory, keeping
its layout (``<game>/seed_<k>/<run>`` → ``<game>/seed_<k>/<run>.csv``). A
sweep run's CSV is enough to analyse it without its run directory: its
config comes back from the sweep command in its header (`sweep_run_config`),
and `summary` gives the values a study table reports.

A curve CSV starts with comment lines (``# key: value``): for each part of
the run (each start or resume) the command and the commit it ran at, then
the episode window; then a header row and one row per learner log line:

  frames         environment frames when the line was logged
  mean_return    mean return of the last ``window`` scored episodes that had
                 ended by then (whole games on Atari); empty before the first
  episodes       scored episodes ended by then
  entropy, policy_lag, learning_rate, gradient_norm, fps, num_updates,
  wall_time      the learner's log line (wall_time in s across resumes)

``export_evaluations`` writes a run's evaluations instead (`impala_tf.evaluate`
after each part of a run: on Procgen the one curve of the test levels),
with the same header and one row per evaluated level and split:

  frames, checkpoint, split ("train": the levels trained on; "test": all
  levels, Procgen), level, mean_return, episodes, wall_time
"""

import contextlib
import functools
import os
import shlex
from typing import Dict, List, Optional, Sequence, Tuple

import ml_collections
import numpy as np
import pandas as pd

from impala_tf import sweep_plan
from impala_tf.results import rundir

# Where a command's relative paths (paper_configs/...) are: the checkout root.

COLUMNS = ('frames', 'mean_return', 'episodes', 'entropy', 'policy_lag',
           'learning_rate', 'gradient_norm', 'fps', 'num_updates', 'wall_time')
EVALUATION_COLUMNS = ('frames', 'checkpoint', 'split', 'level', 'mean_return',
                      'episodes', 'wall_time')

# Published points of other implementations, drawn as markers on a figure.
# The original release (its `gym` branch: Table G.1, the deep torso, 48
# actors) on Pong, read off the "tfimpala" curve that TorchBeast's README
# plots beside its own: a mean return of +18 at about 10 M frames and about
# +20 at about 20 M (REPRODUCE.md, "Pong against the original release"). Approximate:
# read from a figure, not from data.
REFERENCES: Dict[str, Tuple[str, Sequence[Tuple[float, float]]]] = {
    'pong_release': ('original release, deep, Table G.1 (approx.)',
                     ((10e6, 18.0), (20e6, 20.0))),
}


def curve_from_run(logdir: str, window: int = 50,
                   level: Optional[str] = None) -> pd.DataFrame:
  """The curve of one run directory: one row per "train" record (`COLUMNS`).

  Args:
    logdir: a run directory (`impala_tf.results.rundir`).
    window: episodes in the running mean.
    level: only this level's episodes; all of them if None.
  """
  return _curve(rundir.read_metrics(logdir), logdir, window, level)


def curves_by_level(logdir: str, window: int = 50) -> Dict[str, pd.DataFrame]:
  """`curve_from_run` for each level of the run that finished an episode,
  reading its metrics once: level → curve."""
  records = rundir.read_metrics(logdir)
  levels = sorted({r['level'] for r in records if r['kind'] == 'episode'})
  return {level: _curve(records, logdir, window, level) for level in levels}


def _curve(records, logdir: str, window: int,
           level: Optional[str]) -> pd.DataFrame:
  """The curve (`curve_from_run`) of a run's ``records``."""
  train = [r for r in records if r['kind'] == 'train']
  if not train:
    raise ValueError(f'{logdir} has no learner log lines ("train" records in '
                     f'{rundir.METRICS_FILE}) yet')
  episodes = sorted(
      (r['frames'], r['episode_return']) for r in records
      if r['kind'] == 'episode' and (level is None or r['level'] == level))
  episode_frames = np.array([f for f, _ in episodes], np.int64)
  returns = np.array([g for _, g in episodes], np.float64)
  rows = []
  for record in sorted(train, key=lambda r: r['frames']):
    ended = int(np.searchsorted(episode_frames, record['frames'], 'right'))
    recent = returns[max(0, ended - window):ended]
    row = {column: record.get(column) for column in COLUMNS}
    row['mean_return'] = float(recent.mean()) if len(recent) else np.nan
    row['episodes'] = ended
    rows.append(row)
  return pd.DataFrame(rows, columns=list(COLUMNS))


def run_parts(logdir: str) -> List[Dict[str, object]]:
  """The "start" records of a run: frames, command and commit of each part.

  An absolute ``--logdir`` in a command is shown as ``runs/<name>``: where a
  run lived on its machine says nothing to a reader and names that machine.
  """
  return [dict(frames=r['frames'], command=_portable(r['command']),
               commit=r['commit'])
          for r in rundir.read_metrics(logdir, 'start')]


def _portable(command: str) -> str:
  words = shlex.split(command)
  for i, word in enumerate(words):
    flag, _, value = word.partition('=')
    if flag == '--logdir' and os.path.isabs(value):
      words[i] = f'--logdir=runs/{os.path.basename(os.path.normpath(value))}'
  return shlex.join(words)


def export(logdir: str, output: str, window: int = 50,
           level: Optional[str] = None) -> pd.DataFrame:
  """Writes ``logdir``'s curve as a CSV with its provenance; returns it.

  A run without "start" records (written before runs recorded them) is an
  error: a published curve must say what produced it.
  """
  parts = _parts_for_publishing(logdir)
  curve = curve_from_run(logdir, window, level)
  _write_csv(output, logdir, parts, curve,
             f'# window: {window} episodes'
             f'{"" if level is None else f" of {level}"}\n')
  return curve


def evaluation_curve(logdir: str) -> pd.DataFrame:
  """The run's evaluations (its "evaluation" records), one row per level
  and split (`EVALUATION_COLUMNS`), by frames; a checkpoint evaluated again
  keeps its newest evaluation."""
  rows = [{column: r.get(column) for column in EVALUATION_COLUMNS}
          for r in rundir.read_metrics(logdir, 'evaluation')]
  if not rows:
    raise ValueError(f'{logdir} has no evaluations ("evaluation" records in '
                     f'{rundir.METRICS_FILE}); run python -m '
                     'impala_tf.evaluate on it')
  table = pd.DataFrame(rows, columns=list(EVALUATION_COLUMNS))
  table = table.drop_duplicates(['frames', 'split', 'level'], keep='last')
  return table.sort_values(['frames', 'split', 'level'], ignore_index=True)


def export_evaluations(logdir: str, output: str) -> pd.DataFrame:
  """Writes ``logdir``'s `evaluation_curve` as a CSV with its provenance
  (the header of `export`); returns it."""
  parts = _parts_for_publishing(logdir)
  curve = evaluation_curve(logdir)
  _write_csv(output, logdir, parts, curve, '')
  return curve


def _parts_for_publishing(logdir: str) -> List[Dict[str, object]]:
  parts = run_parts(logdir)
  if not parts:
    raise ValueError(f'{logdir} records no command or commit ("start" '
                     'records); it predates them, so its curve cannot be '
                     'published with its provenance')
  return parts


def _write_csv(output: str, logdir: str, parts, table: pd.DataFrame,
               extra_header: str) -> None:
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  with open(output, 'w') as f:
    f.write(f'# run: {os.path.basename(os.path.normpath(logdir))}\n')
    for part in parts:
      f.write(f'# part_from_frames: {part["frames"]}\n')
      f.write(f'# command: {part["command"]}\n')
      f.write(f'# commit: {part["commit"]}\n')
    f.write(extra_header)
    table.to_csv(f, index=False, float_format='%.6g')


def read_curve(path: str) -> pd.DataFrame:
  """A curve CSV as written by `export` (comment lines skipped)."""
  return pd.read_csv(path, comment='#')


def read_header(path: str) -> List[Tuple[str, str]]:
  """The ``# key: value`` lines of a curve CSV, in order."""
  header = []
  with open(path) as f:
    for line in f:
      if not line.startswith('#'):
        break
      key, _, value = line[1:].strip().partition(':')
      header.append((key.strip(), value.strip()))
  return header


def summary(curve: pd.DataFrame) -> Dict[str, float]:
  """What a study table reports of one run's curve (`read_curve` or
  `curve_from_run`):

    final_return  the last line's mean return: the mean of the last
                  ``window`` episodes at the end of the run
    mean_return   the curve's mean height over the run: the area under it
                  (trapezoids over frames) ÷ the frames it spans, so that
                  how often the learner logged does not weigh in
    policy_lag    the mean of the learner's logged policy lags (updates)
    episodes, frames  at the last line

  A curve without a single mean return (no episode ended) is a ValueError.
  """
  scored = curve.dropna(subset=['mean_return'])
  if scored.empty:
    raise ValueError('the curve has no mean return yet (no episode ended)')
  frames = scored['frames'].to_numpy(np.float64)
  returns = scored['mean_return'].to_numpy(np.float64)
  if len(frames) > 1:
    area = np.sum((returns[1:] + returns[:-1]) / 2 * np.diff(frames))
    mean_return = area / (frames[-1] - frames[0])
  else:
    mean_return = returns[0]
  return dict(final_return=float(returns[-1]), mean_return=float(mean_return),
              policy_lag=float(curve['policy_lag'].mean()),
              episodes=int(curve['episodes'].iloc[-1]),
              frames=int(curve['frames'].iloc[-1]))


def sweep_run_config(path: str) -> ml_collections.ConfigDict:
  """The config of the sweep run a curve CSV holds, rebuilt from its header:
  the run's name and the ``python -m impala_tf.sweep --sweep=...`` command
  of its first part, loaded from this checkout (relative paths from its
  root, as the command ran). A CSV of anything but a sweep run, or of a run
  the sweep no longer has, is a ValueError naming the file."""
  header = read_header(path)
  fields = dict(header)
  commands = [value for key, value in header if key == 'command']
  words = shlex.split(commands[0]) if commands else []
  sweeps = [w.partition('=')[2] for w in words if w.startswith('--sweep=')]
  if 'impala_tf.sweep' not in words or not sweeps:
    raise ValueError(f'{path}: not a sweep run (its command is '
                     f'{commands[0] if commands else None!r}), so its config '
                     'cannot be rebuilt')
  sweep = _load_sweep(sweeps[0])
  if fields.get('run') not in sweep.runs:
    raise ValueError(f'{path}: the sweep {sweeps[0]!r} has no run '
                     f'{fields.get("run")!r}')
  return sweep_plan.run_config(sweep, fields['run'])


@functools.lru_cache(maxsize=None)
def _load_sweep(argument: str) -> sweep_plan.Sweep:
  with contextlib.chdir(rundir.SOURCE_ROOT):
    return sweep_plan.load_sweep(argument)


def export_tree(logdir: str, output: str, window: int = 50) -> List[str]:
  """Exports every run below ``logdir`` that its sweep marked done
  (`rundir.is_sweep_run_done`) to ``output``, keeping the layout:
  ``logdir/a/b/run``
  → ``output/a/b/run.csv``. Returns the CSVs written, sorted. A run that is
  not done yet is left out (its curve would be cut short). A ``logdir`` that
  holds no run at all is a ValueError."""
  runs = rundir.runs_below(logdir)
  if not runs:
    raise ValueError(f'{logdir} holds no run directory')
  written = []
  for run in runs:
    if rundir.is_sweep_run_done(run):
      path = os.path.join(output, os.path.relpath(run, logdir) + '.csv')
      export(run, path, window)
      written.append(path)
  return sorted(written)


def first_frames_at(curve: pd.DataFrame, threshold: float,
                    min_episodes: int = 0) -> Optional[float]:
  """The first logged frame count at which mean_return ≥ threshold, counting
  only lines with at least ``min_episodes`` episodes behind their mean (the
  first few games alone say little); None if the curve never gets there."""
  reached = curve[(curve['mean_return'] >= threshold) &
                  (curve['episodes'] >= min_episodes)]
  return float(reached['frames'].iloc[0]) if len(reached) else None


def window_of(path: str) -> int:
  """The episode window a curve CSV's means were taken over."""
  return int(dict(read_header(path))['window'].split()[0])


def milestones(paths: Sequence[str],
               thresholds: Sequence[float]) -> pd.DataFrame:
  """One row per curve: its name, last frames, last mean return, and the
  frames at which it first reached each threshold with a full window of
  episodes behind the mean (NaN: not reached)."""
  rows = []
  for path in paths:
    curve = read_curve(path)
    row = dict(curve=os.path.splitext(os.path.basename(path))[0],
               frames=float(curve['frames'].iloc[-1]),
               last_mean_return=float(curve['mean_return'].iloc[-1]))
    for threshold in thresholds:
      reached = first_frames_at(curve, threshold, window_of(path))
      row[f'frames_to_{threshold:+g}'] = np.nan if reached is None else reached
    rows.append(row)
  return pd.DataFrame(rows)


def plot(paths: Sequence[str], output: str,
         references: Sequence[str] = ()) -> None:
  """Mean return against frames for each curve CSV, with the published
  points of ``references`` (keys of `REFERENCES`) as markers. An
  evaluations CSV (`export_evaluations`) draws one line with markers per
  split and level."""
  # Here, not at import: a notebook that imports this module keeps its own
  # backend; files are drawn without a display.
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  plt.switch_backend('Agg')
  figure, axis = plt.subplots(figsize=(8, 4.5))
  window = None
  for path in paths:
    curve = read_curve(path)
    header = dict(read_header(path))
    window = header.get('window', window)
    name = os.path.splitext(os.path.basename(path))[0]
    if 'split' not in curve.columns:
      axis.plot(curve['frames'] / 1e6, curve['mean_return'], label=name)
      continue
    # The run's name tells two runs' evaluations of one level apart.
    run = f"{header['run']}: " if 'run' in header else ''
    for (split, level), points in curve.groupby(['split', 'level']):
      axis.plot(points['frames'] / 1e6, points['mean_return'],
                'o--' if split == 'test' else 'o-',
                label=f'{run}{level}, evaluated on {split} levels')
  for name in references:
    if name not in REFERENCES:
      raise ValueError(f'Unknown reference {name!r}; choose from '
                       f'{sorted(REFERENCES)}')
    label, points = REFERENCES[name]
    frames, returns = zip(*points)
    axis.plot(np.array(frames) / 1e6, returns, 'k*', markersize=12,
              label=label)
  axis.set_xlabel('environment frames (millions)')
  axis.set_ylabel(f'mean episode return ({window or "running mean"})')
  axis.grid(alpha=0.3)
  axis.legend(fontsize=8)
  figure.tight_layout()
  figure.savefig(output, dpi=100)
  plt.close(figure)
