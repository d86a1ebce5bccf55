"""Regenerate the paper's tables from run directories.

  python -m impala_tf.tables atari57 --runs=runs/pong,runs/breakout,... \
      [--output=tables/atari57]
  python -m impala_tf.tables dmlab30 --runs=runs/dmlab30_deep \
      [--output=tables/dmlab30]
  python -m impala_tf.tables atari5|atari10 --runs=runs/atari5/battle_zone,...
  python -m impala_tf.tables procgen --runs=runs/starpilot,runs/bigfish

Reads each run's ``evaluation.json`` (written by `impala_tf.evaluate`) and
writes ``<output>.md`` and ``<output>.csv``: per game or level our score and
human-normalised score beside the paper's (Table C.1, Table B.1), then the
summary beside Table 4 or Table 3; for ``atari5`` and ``atari10``, the
Atari-57 median predicted from the subset's games (paper.md §4.5) beside
the same prediction and the true median for the paper's IMPALA columns;
for ``procgen``, each game's return on its training levels and on the test
levels, raw and normalised (paper.md §4.6), and their means. Games or
levels without an evaluated run are listed by name, not dropped silently.
"""

from typing import Dict, Sequence, Tuple

import pandas as pd

from impala_tf.envs import atari
from impala_tf.envs import dmlab
from impala_tf.envs import procgen
from impala_tf.results import rundir
from impala_tf.results import scores

TABLES = ('atari57', 'dmlab30', *scores.ATARI_SUBSETS, 'procgen')


def evaluated_scores(run_dirs: Sequence[str]) -> Dict[str, float]:
  """``{level: mean evaluation return}`` over runs; a level twice is an error."""
  results = {}
  for run_dir in run_dirs:
    for level, result in rundir.read_evaluation(run_dir)['levels'].items():
      if level in results:
        raise ValueError(f'level {level!r} is evaluated in more than one of '
                         f'the runs given')
      results[level] = result['mean_return']
  return results


def atari57_table(run_dirs: Sequence[str]) -> Tuple[pd.DataFrame, str]:
  """The per-game table and a Markdown summary (Table 4 side by side)."""
  ours = evaluated_scores(run_dirs)
  unknown = sorted(set(ours) - set(atari.ATARI_57))
  if unknown:
    raise ValueError(f'not Atari-57 games: {unknown}')
  paper = {column: scores.paper_atari_scores(column)
           for column in scores.PAPER_ATARI_COLUMNS}
  rows = []
  for game in atari.ATARI_57:
    score = ours.get(game)
    rows.append({
        'game': game,
        'ours': score,
        'ours_hns_%': None if score is None else scores.atari_hns(game, score),
        **{f'paper_{column}': paper[column][game] for column in paper},
    })
  table = pd.DataFrame(rows)

  summary = scores.atari_summary(ours)
  lines = ['| agent | median HNS % | mean HNS % | games |', '|---|---|---|---|',
           f'| ours | {summary.median:.1f} | {summary.mean:.1f} | '
           f'{summary.num_games} |']
  for name, (median, mean) in scores.PAPER_TABLE_4.items():
    fmt = lambda x: '—' if x is None else f'{x:.1f}'
    lines.append(f'| paper: {name} | {fmt(median)} | {fmt(mean)} | 57 |')
  if summary.missing:
    lines.append('')
    lines.append(f'Missing ({len(summary.missing)} games, not in our median '
                 f'or mean): {", ".join(summary.missing)}.')
  lines.append('')
  lines.append('Paper means come from a reference table we could not identify '
               '(paper.md §4.3); compare medians.')
  return table, '\n'.join(lines)


def dmlab30_table(run_dirs: Sequence[str]) -> Tuple[pd.DataFrame, str]:
  """The per-level table (Table B.1) and a Markdown summary beside Table 3.

  Our HNS uses the original release's references; the paper's columns are
  shown as printed (paper.md §3.3 explains the lasertag difference).
  """
  ours = {dmlab.DMLAB30_TRAIN_TO_TEST.get(level, level): score
          for level, score in evaluated_scores(run_dirs).items()}
  unknown = sorted(set(ours) - set(dmlab.DMLAB30_TEST_LEVELS))
  if unknown:
    raise ValueError(f'not DMLab-30 levels: {unknown}')
  experts = scores.paper_dmlab30_scores('experts')
  impala = scores.paper_dmlab30_scores('impala')
  rows = []
  for level in dmlab.DMLAB30_TEST_LEVELS:
    score = ours.get(level)
    hns = None if score is None else scores.dmlab30_hns(level, score)
    rows.append({
        'level': level,
        'ours': score,
        'ours_capped_hns_%': None if hns is None else min(hns, 100.0),
        'paper_experts': experts[level],
        'paper_impala': impala[level],
    })
  table = pd.DataFrame(rows)

  summary = scores.dmlab30_summary(ours)
  lines = ['| agent | mean capped HNS % (test) | levels |', '|---|---|---|',
           f'| ours | {summary.capped_mean:.1f} (uncapped '
           f'{summary.uncapped_mean:.1f}) | {summary.num_levels} |']
  for name, value in scores.PAPER_TABLE_3.items():
    lines.append(f'| paper: {name} | {value:.1f} | 30 |')
  if summary.missing:
    lines.append('')
    lines.append(f'Missing ({len(summary.missing)} levels, not in our mean): '
                 f'{", ".join(summary.missing)}.')
  return table, '\n'.join(lines)


def atari_subset_table(run_dirs: Sequence[str],
                       subset: str) -> Tuple[pd.DataFrame, str]:
  """The subset's per-game table and a Markdown summary: the Atari-57
  median predicted from our runs (`scores.atari_subset_median`), beside the
  prediction and the true median for each IMPALA column of Table C.1.

  Every game of the subset needs an evaluated run; a run of another game is
  an error, so that a table never mixes sets of runs unnoticed."""
  weights = scores.ATARI_SUBSETS[subset]
  ours = evaluated_scores(run_dirs)
  others = sorted(set(ours) - set(weights))
  if others:
    raise ValueError(f'not {subset} games: {others}')
  missing = sorted(set(weights) - set(ours))
  if missing:
    raise ValueError(f'{subset} needs an evaluated run of {missing}')
  table = pd.DataFrame([{
      'game': game, 'weight': weight, 'ours': ours[game],
      'ours_hns_%': scores.atari_hns(game, ours[game]),
  } for game, weight in weights.items()])
  lines = [f'| agent | Atari-57 median HNS % predicted from {subset} | '
           'true median |', '|---|---|---|',
           f'| ours | {scores.atari_subset_median(ours, subset):.1f} | — |']
  for column in scores.PAPER_ATARI_COLUMNS:
    paper = scores.paper_atari_scores(column)
    lines.append(f'| paper: {column} | '
                 f'{scores.atari_subset_median(paper, subset):.1f} | '
                 f'{scores.atari_summary(paper).median:.1f} |')
  return table, '\n'.join(lines)


def procgen_table(run_dirs: Sequence[str]) -> Tuple[pd.DataFrame, str]:
  """Per game and mode, the returns on the training levels and on the test
  levels (`evaluate`'s ``levels`` and ``test_levels``), raw and normalised
  (`scores.procgen_normalized`), and a Markdown summary: the mean
  normalised return over the games of each mode, train and test, with the
  games of the sixteen that have no run named. A game twice in one mode is
  an error."""
  rows = []
  for run_dir in run_dirs:
    config = rundir.read_config(run_dir)
    if config.env != 'procgen':
      raise ValueError(f'{run_dir} is not a Procgen run (env={config.env!r})')
    evaluation = rundir.read_evaluation(run_dir)
    if 'test_levels' not in evaluation:
      raise ValueError(f'{run_dir}: its evaluation has no test levels; '
                       'evaluate it again (python -m impala_tf.evaluate)')
    mode = config.procgen.distribution_mode
    for game, result in evaluation['levels'].items():
      train = result['mean_return']
      test = evaluation['test_levels'][game]['mean_return']
      rows.append(dict(
          game=game, mode=mode, frames=evaluation['frames'],
          train_levels=config.procgen.num_levels, train=train, test=test,
          train_normalized=scores.procgen_normalized(game, mode, train),
          test_normalized=scores.procgen_normalized(game, mode, test)))
  table = pd.DataFrame(rows, columns=[
      'game', 'mode', 'frames', 'train_levels', 'train', 'test',
      'train_normalized', 'test_normalized'])
  twice = table[table.duplicated(['game', 'mode'])]
  if len(twice):
    raise ValueError(f'{list(twice["game"])} evaluated in more than one of '
                     'the runs given')
  lines = ['| mode | games | mean normalised return, train levels | '
           'test levels |', '|---|---|---|---|']
  missing = []
  for mode, games in table.groupby('mode', sort=True):
    lines.append(f'| {mode} | {len(games)} | '
                 f'{games["train_normalized"].mean():.3f} | '
                 f'{games["test_normalized"].mean():.3f} |')
    missing += [f'{game} ({mode})' for game in procgen.GAMES
                if game not in set(games['game'])]
  if missing:
    lines += ['', f'Not run ({len(missing)}, not in the means): '
              f'{", ".join(missing)}.']
  table = table.sort_values(['mode', 'game'], ignore_index=True)
  return table, '\n'.join(lines)
