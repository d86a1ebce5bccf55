"""Every notebook in notebooks/ runs headless against run directories in the
format the runtime writes (`impala_tf.results.rundir`), or against curve CSVs in
the format `impala_tf.curves` exports, built here with known results so
that the notebooks' numbers can be checked."""

import json
import os

import nbclient
import nbformat
import pandas as pd
import pytest

from impala_tf import choices
from impala_tf import config as config_lib
from impala_tf import sweep_plan
from impala_tf.results import curves
from impala_tf.results import rundir
from impala_tf.runtime.run_writer import RunWriter

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.path.join(REPO, 'notebooks')


def make_run(path, returns, level='catch', evaluation=None, policy_lag=None,
             **overrides):
  """A run directory with these episode returns, one per 1,000 frames,
  each followed by a learner record (with this policy lag if one is
  given), so that its learning curve has a point at every episode."""
  run = RunWriter(str(path))
  config = config_lib.base_config()
  config.update(overrides)
  run.write_config(config)
  for i, value in enumerate(returns):
    frames = (i + 1) * 1000
    run.log('episode', dict(frames=frames, level=level,
                            episode_return=float(value), episode_length=9))
    run.log('train', dict(frames=frames, **(
        {} if policy_lag is None else dict(policy_lag=policy_lag))))
  run.close()
  if evaluation is not None:
    with open(os.path.join(str(path), rundir.EVALUATION_FILE), 'w') as f:
      json.dump(dict(checkpoint='ckpt-1', levels={
          name: dict(returns=[score], mean_return=score, episodes=1)
          for name, score in evaluation.items()}), f)


def execute(name, tmp_path, monkeypatch, **environment):
  for key, value in environment.items():
    monkeypatch.setenv(key, str(value))
  monkeypatch.setenv('PYTHONPATH', os.pathsep.join(
      p for p in (REPO, os.environ.get('PYTHONPATH')) if p))
  monkeypatch.setenv('MPLBACKEND', 'Agg')
  notebook = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
  # Stored without outputs, so that diffs show code only.
  assert all(not cell.get('outputs') for cell in notebook.cells
             if cell.cell_type == 'code'), f'{name} is stored with outputs'
  nbclient.NotebookClient(notebook, timeout=300, kernel_name='python3',
                          resources={'metadata': {'path': str(tmp_path)}}
                          ).execute()
  return '\n'.join(
      output.get('text', '') + json.dumps(output.get('data', {}))
      for cell in notebook.cells if cell.cell_type == 'code'
      for output in cell.outputs)


def test_every_notebook_is_tested():
  tested = {'learning_curves.ipynb', 'rho_c_sweep.ipynb', 'table2.ipynb',
            'paper_tables.ipynb', 'vtrace_study.ipynb'}
  assert set(n for n in os.listdir(NOTEBOOKS) if n.endswith('.ipynb')) == (
      tested)


def table_rows(text, first_column):
  """The rows of the DataFrames displayed in ``text`` (their text/plain
  form, JSON-escaped by `execute`) whose first column after the index is
  one of ``first_column``: name → its other cells."""
  rows = {}
  for line in text.replace('\\n', '\n').splitlines():
    cells = line.split('"')[0].split()
    if len(cells) > 2 and cells[1] in first_column:
      rows[cells[1]] = cells[2:]
  return rows


def test_learning_curves(tmp_path, monkeypatch):
  # 60 episodes: the final return is the mean of the last 50 (10 to 59).
  make_run(tmp_path / 'runs' / 'a', list(range(60)))
  make_run(tmp_path / 'runs' / 'b', [-1, -3])
  text = execute('learning_curves.ipynb', tmp_path, monkeypatch,
                 IMPALA_RUNS=tmp_path / 'runs')
  rows = table_rows(text, ('a', 'b'))
  # level, final_return, episodes, frames
  assert rows['a'] == ['catch', '34.5', '60', '60000']
  assert rows['b'] == ['catch', '-2.0', '2', '2000']


def test_rho_c_sweep_finds_the_best_cell(tmp_path, monkeypatch):
  sweep = tmp_path / 'sweep'
  # Mean over the two seeds: (1, 1) is best at 0.9 only on average.
  cells = [(0.5, 0.5, 0.2, 0.2), (1.0, 1.0, 0.8, 1.0), (1.0, 0.5, 0.95, 0.45),
           (None, None, 0.1, 0.1), (None, 1.0, 0.3, 0.3)]
  for rho, c, *values in cells:
    for seed, value in enumerate(values):
      for lambda_ in (1.0, 0.9):
        make_run(sweep / f'seed_{seed}' / f'{rho}_{c}_{lambda_}', [value] * 3,
                 clip_rho_threshold=rho, clip_c_threshold=c,
                 vtrace_lambda=lambda_, seed=seed)
  figure = tmp_path / 'heatmaps.png'
  text = execute('rho_c_sweep.ipynb', tmp_path, monkeypatch,
                 IMPALA_RUNS=sweep, IMPALA_FIGURE=figure)
  assert 'best final return: ρ̄ = 1, c̄ = 1' in text
  assert ': 0.900 (mean of 2 seeds)' in text
  assert figure.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_table2_beside_the_paper(tmp_path, monkeypatch):
  level = tmp_path / 'table2' / 'rooms_watermaze'
  for m, method in enumerate(choices.CORRECTIONS):
    for replay in (0.0, 0.5):
      for setting in range(4):
        # Settings 1-3 are the top 3: mean 10·m + 2.
        make_run(level / f'{method}_{replay}_{setting}',
                 [10 * m + setting], level='rooms_watermaze',
                 off_policy_correction=method, replay_fraction=replay)
  figure = tmp_path / 'curves.png'
  text = execute('table2.ipynb', tmp_path, monkeypatch,
                 IMPALA_RUNS=tmp_path / 'table2', IMPALA_FIGURE=figure)
  assert '46.8' in text and '54.7' in text  # The paper's column is there.
  assert '32.0' in text  # no_correction (m = 3): 30 + 2.
  assert 'mean return over the run' in text
  assert figure.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def write_sweep_curve(path, run, sweep_argument, value, policy_lag):
  """A curve CSV of the sweep run ``run`` (as `curves.export` writes it)
  whose mean return is ``value`` throughout."""
  path.parent.mkdir(parents=True, exist_ok=True)
  rows = [dict(frames=frames, mean_return=value, episodes=frames // 100,
               policy_lag=policy_lag) for frames in (1000, 2000, 3000)]
  header = (f'# run: {run}\n# part_from_frames: 0\n# command: python -m '
            f'impala_tf.sweep --sweep={sweep_argument} --logdir=runs/x\n'
            '# commit: abc\n# window: 50 episodes\n')
  with open(path, 'w') as f:
    f.write(header)
    pd.DataFrame(rows, columns=list(curves.COLUMNS)).to_csv(f, index=False)


def test_vtrace_study_tables_and_verdicts(tmp_path, monkeypatch):
  """The study's real run names (both sweep files), with known values."""
  study = tmp_path / 'study' / 'breakout'
  # Mean return per setting over 3 seeds (seed k adds 0.01·k, or 0.02·k
  # for 1-step IS without replay: a lead within the noise).
  corrections_values = {False: dict(vtrace=3.0, one_step_is=3.0,
                                    epsilon_correction=2.0, no_correction=1.9),
                        True: dict(vtrace=5.0, one_step_is=4.0,
                                   epsilon_correction=2.0, no_correction=0.5)}
  rho_values = {0.5: 2.0, 1.0: 5.0, 10.0: 4.5, None: 4.0}
  for seed in range(3):
    argument = f'paper_configs/minatar.py:breakout,{seed}'
    for sweep_file in ('sweep_vtrace_study.py', 'sweep_vtrace_lambda.py'):
      sweep_argument = f'paper_configs/{sweep_file}:{argument}'
      study_sweep = sweep_plan.load_sweep(os.path.join(REPO, 'paper_configs',
                                                  sweep_file),
                                     os.path.join(REPO, argument))
      for run in study_sweep.runs:
        config = sweep_plan.run_config(study_sweep, run)
        replay = config.replay_fraction > 0
        rho, c = config.clip_rho_threshold, config.clip_c_threshold
        method = config.off_policy_correction
        if config.vtrace_lambda != 1.0:
          # λ = 0.9 at ρ̄ = 1, seed k adding 0.03·k: 0.3 above its λ = 1
          # twin at c̄ = 0.5, level with it at c̄ = 1. Mixed into the λ = 1
          # runs, they would change the verdicts above.
          if (c, replay) == (1.0, True) and seed > 0:
            continue  # One seed only: no standard error to judge by.
          twin = (rho_values[1.0] - (0 if replay else 1) if c == 0.5
                  else corrections_values[replay]['vtrace'])
          value = twin + (0.3 if c == 0.5 else 0.0) + 0.03 * seed
        elif method != 'vtrace' or (rho, c) == (1.0, 1.0):
          spread = 0.02 if (method, replay) == ('one_step_is', False) else 0.01
          value = corrections_values[replay][method] + spread * seed
        else:  # Without replay every cell is 1 lower than with it.
          value = rho_values[rho] - (0 if replay else 1) + 0.01 * seed
        write_sweep_curve(study / f'seed_{seed}' / f'{run}.csv', run,
                          sweep_argument, value, 300.0 if replay else 1.0)
  figure = tmp_path / 'study.png'
  text = execute('vtrace_study.ipynb', tmp_path, monkeypatch,
                 IMPALA_CURVES=tmp_path / 'study', IMPALA_FIGURE=figure)
  assert ('breakout, 50 % replay: best correction vtrace (5.01); against '
          'one_step_is: +1.00') in text
  assert ('breakout, no replay: best correction one_step_is (3.02); against '
          'vtrace: +0.01 (0.8 s.e.): not separated') in text
  # Without replay (1, 0.5) is 4.01 against the 'vtrace' run's 3.01 at (1, 1).
  assert 'ρ̄ = 1: c̄ = 1 against c̄ = 0.5: -1.00' in text
  assert 'best ρ̄ (mean over c̄ and seeds): 1;' in text
  # With replay at c̄ = 0.5: ρ̄ = 1 has 5.01, ρ̄ = 0.5 2.01, ρ̄ = ∞ 4.01.
  assert 'c̄ = 0.5: ρ̄ = 1 against ρ̄ = 0.5: +3.00' in text
  assert 'c̄ = 0.5: ρ̄ = 1 against ρ̄ = ∞: +1.00' in text
  # λ: +0.3 + 0.02 (the seeds' spreads differ) at c̄ = 0.5, +0.02 at c̄ = 1.
  assert 'ρ̄ = 1, c̄ = 0.5: λ = 0.9 against λ = 1: +0.32' in text
  assert 'ρ̄ = 1, c̄ = 1: λ = 0.9 against λ = 1: +0.02 (1.1 s.e.): not separated' in text
  assert ('ρ̄ = 1, c̄ = 1: λ = 0.9 against λ = 1: -0.01 (one seed on a side, '
          'no standard error): cannot tell') in text
  in_table = lambda cell: json.dumps(cell)[1:-1]  # Tables come JSON-escaped.
  assert in_table('300.00 ± 0.00') in text and in_table('5.01 ± 0.01') in text
  assert figure.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_vtrace_study_gives_the_published_verdicts_from_the_published_curves(
    tmp_path, monkeypatch):
  """REPRODUCE.md's V-trace study numbers are what the notebook makes of
  the committed CSVs (reproduce/curves/vtrace_study)."""
  text = execute('vtrace_study.ipynb', tmp_path, monkeypatch,
                 IMPALA_CURVES=os.path.join(REPO, 'reproduce', 'curves',
                                            'vtrace_study'))
  for line in (
      'breakout, 50 % replay: best correction vtrace (3.57); against '
      'one_step_is: +0.30 (1.8 s.e.): not separated',
      'seaquest, 50 % replay: best correction vtrace (0.83); against '
      'one_step_is: +0.01 (0.2 s.e.): not separated',
      'c̄ = 0.5: ρ̄ = 1 against ρ̄ = 0.5: +0.24 (4.8 s.e.): separated',
      'c̄ = 0.5: ρ̄ = 1 against ρ̄ = 0.5: +0.31 (1.4 s.e.): not separated',
      'ρ̄ = 1: c̄ = 1 against c̄ = 0.5: -0.36 (8.2 s.e.): separated',
      'ρ̄ = ∞: c̄ = ∞ against c̄ = 0.5: -0.12 (2.6 s.e.): separated',
      'ρ̄ = 1, c̄ = 1: λ = 0.9 against λ = 1: +0.19 (2.3 s.e.): separated',
      'ρ̄ = 1, c̄ = 1: λ = 0.9 against λ = 1: +0.07 (2.2 s.e.): separated',
      'ρ̄ = 1, c̄ = 0.5: λ = 0.9 against λ = 1: -0.08 (2.1 s.e.): separated'):
    assert line in text
  in_table = lambda cell: json.dumps(cell)[1:-1]
  for cell in ('3.57 ± 0.14', '1.36 ± 0.01', '0.83 ± 0.04', '0.66 ± 0.04',
               '2.43 ± 0.07'):
    assert in_table(cell) in text


def test_paper_tables(tmp_path, monkeypatch):
  make_run(tmp_path / 'atari' / 'pong', [0], level='pong',
           evaluation={'pong': 20.0})
  make_run(tmp_path / 'atari' / 'breakout', [0], level='breakout',
           evaluation={'breakout': 400.0})
  make_run(tmp_path / 'dmlab' / 'dmlab30', [0], level='rooms_watermaze',
           evaluation={'rooms_watermaze': 30.0})
  text = execute('paper_tables.ipynb', tmp_path, monkeypatch,
                 IMPALA_ATARI_RUNS=tmp_path / 'atari',
                 IMPALA_DMLAB_RUNS=tmp_path / 'dmlab')
  # Human-normalised scores by hand, from the standard references (random,
  # human): Pong (-20.7, 14.6), Breakout (1.7, 30.5); rooms_watermaze in
  # the original release's dmlab30.py (4.065, 54).
  pong = 100 * (20.0 + 20.7) / (14.6 + 20.7)
  breakout = 100 * (400.0 - 1.7) / (30.5 - 1.7)
  watermaze = 100 * (30.0 - 4.065) / (54 - 4.065)
  atari = (f'| ours | {(pong + breakout) / 2:.1f} | '
           f'{(pong + breakout) / 2:.1f} | 2 |')
  assert atari in text
  assert f'| ours | {watermaze:.1f} (uncapped {watermaze:.1f}) | 1 |' in text
  rows = table_rows(text, ('breakout', 'pong', 'rooms_watermaze'))
  assert float(rows['pong'][1]) == pytest.approx(pong)
  assert float(rows['breakout'][1]) == pytest.approx(breakout)
  assert float(rows['rooms_watermaze'][1]) == pytest.approx(watermaze,
                                                            abs=0.05)
