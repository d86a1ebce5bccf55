"""The Atari-57 table from run directories."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from impala_tf.results import rundir
from impala_tf.results import scores
from impala_tf.results import tables

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fake_evaluated_run(path, levels):
  """A run directory as impala_tf.evaluate leaves it."""
  os.makedirs(path)
  with open(os.path.join(path, rundir.EVALUATION_FILE), 'w') as f:
    json.dump({'checkpoint': 'ckpt-1', 'levels': {
        level: {'returns': [score], 'mean_return': score, 'episodes': 1}
        for level, score in levels.items()}}, f)
  return str(path)


def test_atari57_table_puts_ours_beside_the_paper(tmp_path):
  runs = [fake_evaluated_run(tmp_path / 'a', {'pong': 14.6}),
          fake_evaluated_run(tmp_path / 'b', {'breakout': 30.5})]
  table, summary = tables.atari57_table(runs)
  assert len(table) == 57
  pong = table.set_index('game').loc['pong']
  assert pong['ours'] == 14.6
  assert pong['ours_hns_%'] == pytest.approx(100.0)
  assert pong['paper_impala_shallow'] == 20.40
  assert pong['paper_impala_deep'] == 20.98
  assert pd.isna(table.set_index('game').loc['zaxxon', 'ours'])
  assert '| ours | 100.0 | 100.0 | 2 |' in summary
  assert 'Missing (55 games' in summary and 'zaxxon' in summary
  assert '| paper: IMPALA, shallow, experts | 93.2 | 466.4 | 57 |' in summary


def test_a_game_evaluated_twice_or_unknown_is_an_error(tmp_path):
  runs = [fake_evaluated_run(tmp_path / 'a', {'pong': 1.0}),
          fake_evaluated_run(tmp_path / 'b', {'pong': 2.0})]
  with pytest.raises(ValueError, match="'pong' is evaluated in more than one"):
    tables.atari57_table(runs)
  with pytest.raises(ValueError, match='catch'):
    tables.atari57_table([fake_evaluated_run(tmp_path / 'c', {'catch': 1.0})])
  with pytest.raises(FileNotFoundError, match='impala_tf.evaluate'):
    tables.atari57_table([str(tmp_path)])


def test_command_writes_markdown_and_csv(tmp_path):
  run = fake_evaluated_run(tmp_path / 'run', {'pong': 0.0})
  output = tmp_path / 'out' / 'atari57'
  result = subprocess.run(
      [sys.executable, '-m', 'impala_tf.tables', 'atari57', f'--runs={run}',
       f'--output={output}'], cwd=REPO, capture_output=True, text=True,
      timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  assert '| pong ' in result.stdout
  csv = pd.read_csv(str(output) + '.csv')
  assert list(csv.columns[:3]) == ['game', 'ours', 'ours_hns_%']
  assert (output.parent / 'atari57.md').read_text().startswith('| game')


def test_dmlab30_table_beside_table_b1_and_table_3(tmp_path):
  run = fake_evaluated_run(tmp_path / 'a', {
      'rooms_collect_good_objects_train': 10.0,  # Counts for the _test level.
      'rooms_watermaze': 1000.0,
  })
  table, summary = tables.dmlab30_table([run])
  assert len(table) == 30
  rows = table.set_index('level')
  assert rows.loc['rooms_collect_good_objects_test', 'ours_capped_hns_%'] == (
      pytest.approx(100.0))
  assert rows.loc['rooms_watermaze', 'ours_capped_hns_%'] == 100.0  # Capped.
  assert rows.loc['rooms_watermaze', 'paper_impala'] == 31.1
  assert '| ours | 100.0' in summary and 'Missing (28 levels' in summary
  assert '| paper: IMPALA, deep, PBT | 49.4 | 30 |' in summary


def test_atari5_table_predicts_the_median_beside_the_papers(tmp_path):
  paper = scores.paper_atari_scores('impala_deep')
  runs = [fake_evaluated_run(tmp_path / game, {game: paper[game]})
          for game in scores.ATARI_SUBSETS['atari5']]
  table, summary = tables.atari_subset_table(runs, 'atari5')
  assert list(table['game']) == list(scores.ATARI_SUBSETS['atari5'])
  estimate = scores.atari_subset_median(paper, 'atari5')
  # Our runs score what the paper's deep experts scored: same estimate.
  assert f'| ours | {estimate:.1f} | — |' in summary
  assert f'| paper: impala_deep | {estimate:.1f} | 191.8 |' in summary
  with pytest.raises(ValueError, match="needs an evaluated run of .*'qbert'"):
    tables.atari_subset_table(runs[:-1], 'atari5')
  with pytest.raises(ValueError, match="not atari5 games: \\['pong'\\]"):
    tables.atari_subset_table(
        runs + [fake_evaluated_run(tmp_path / 'pong', {'pong': 1.0})],
        'atari5')
