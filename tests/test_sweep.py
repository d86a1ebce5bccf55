"""Sweeps: grids, the paper's sweep files, and a 2×2 sweep of tiny runs
that is interrupted and resumed."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from impala_tf import config as config_lib
from impala_tf import sweep
from impala_tf import sweep_plan
from impala_tf.results import rundir
from impala_tf.results import scores

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_grid_and_names():
  assert sweep_plan.grid(a=[1, 2], b=[None]) == [{'a': 1, 'b': None},
                                            {'a': 2, 'b': None}]
  assert sweep_plan.run_name({'a': 0.5, 'b': None}) == 'a=0.5,b=None'


def test_rho_c_sweep_keeps_c_below_rho():
  s = sweep_plan.load_sweep(os.path.join(REPO, 'paper_configs', 'sweep_rho_c.py'))
  assert len(s.runs) == 26
  inf = lambda x: float('inf') if x is None else x
  for values in s.runs.values():
    assert inf(values['clip_c_threshold']) <= inf(values['clip_rho_threshold'])
    assert values['clip_pg_rho_threshold'] == values['clip_rho_threshold']
  config = sweep_plan.run_config(s, 'clip_rho_threshold=None,clip_c_threshold=None,'
                            'vtrace_lambda=0.9')
  assert config.clip_rho_threshold is None and config.vtrace_lambda == 0.9
  config_lib.validate_config(config)


def test_vtrace_study_runs_every_setting_once_with_and_without_replay():
  s = sweep_plan.load_sweep(
      os.path.join(REPO, 'paper_configs', 'sweep_vtrace_study.py'),
      os.path.join(REPO, 'paper_configs', 'minatar.py') + ':seaquest,2')
  assert (s.base.levels, s.base.seed) == (('seaquest',), 2)
  configs = sweep_plan.run_configs(s).values()
  inf = lambda x: float('inf') if x is None else x
  settings = [(c.replay_fraction, c.off_policy_correction,
               inf(c.clip_rho_threshold), inf(c.clip_c_threshold))
              for c in configs]
  assert len(settings) == len(set(settings)) == 2 * (4 + 9)
  for replay in (0.0, 0.5):
    # The four corrections at ρ̄ = c̄ = 1 ...
    assert {m for r, m, rho, c in settings if r == replay and
            (rho, c) == (1, 1)} == {'vtrace', 'one_step_is',
                                   'epsilon_correction', 'no_correction'}
    # ... and V-trace's 10 cells with c̄ <= ρ̄, ρ̄ = c̄ = 1 among them.
    cells = {(rho, c) for r, m, rho, c in settings
             if r == replay and m == 'vtrace'}
    values = (0.5, 1.0, 10.0, float('inf'))
    assert cells == {(rho, c) for rho in values for c in values if c <= rho}
  for config in configs:
    assert config.clip_pg_rho_threshold == config.clip_rho_threshold
    assert config.total_environment_frames == 1_000_000


def test_vtrace_lambda_runs_sit_beside_the_study_cells_they_extend():
  study = sweep_plan.load_sweep(
      os.path.join(REPO, 'paper_configs', 'sweep_vtrace_study.py'),
      os.path.join(REPO, 'paper_configs', 'minatar.py') + ':seaquest,1')
  s = sweep_plan.load_sweep(
      os.path.join(REPO, 'paper_configs', 'sweep_vtrace_lambda.py'),
      os.path.join(REPO, 'paper_configs', 'minatar.py') + ':seaquest,1')
  # Into the same run directories, so no name may clash with the study's.
  assert not set(s.runs) & set(study.runs)
  configs = sweep_plan.run_configs(s).values()
  settings = {(c.replay_fraction, c.clip_c_threshold) for c in configs}
  assert settings == {(r, c) for r in (0.0, 0.5) for c in (0.5, 1.0)}
  for config in configs:
    assert (config.vtrace_lambda, config.clip_rho_threshold,
            config.clip_pg_rho_threshold) == (0.9, 1.0, 1.0)
    assert config.off_policy_correction == 'vtrace'
    # Everything else as in the study: game, seed, frames, annealing.
    twin = sweep_plan.run_config(study, sweep_plan.run_name(dict(
        clip_rho_threshold=1.0, clip_c_threshold=0.5,
        replay_fraction=config.replay_fraction)))
    for field in ('levels', 'seed', 'total_environment_frames',
                  'learning_rate', 'batch_size', 'replay_capacity'):
      assert config[field] == twin[field], field


def test_table2_sweep_shares_its_settings_across_methods():
  s = sweep_plan.load_sweep(os.path.join(REPO, 'paper_configs', 'sweep_table2.py'),
                       os.path.join(REPO, 'paper_configs', 'catch.py'))
  assert len(s.runs) == 4 * 2 * 24
  by_setting = {}
  for name, values in s.runs.items():
    setting = name.rsplit('=', 1)[1]
    hyper = (values['learning_rate'], values['entropy_cost'],
             values['rmsprop_epsilon'])
    by_setting.setdefault(setting, set()).add(hyper)
    assert 5e-6 <= values['learning_rate'] <= 5e-3
    assert 5e-5 <= values['entropy_cost'] <= 1e-2
  # Each setting is one point, shared by the 8 method × replay cells.
  assert all(len(points) == 1 for points in by_setting.values())
  assert len({p for points in by_setting.values() for p in points}) == 24


def test_an_unknown_field_is_named_before_anything_runs(tmp_path):
  s = sweep_plan.Sweep(config_lib.base_config(), {'bad': {'learning_rat': 1.0}})
  with pytest.raises(ValueError, match="'learning_rat'"):
    sweep.run_sweep(s, str(tmp_path))
  s = sweep_plan.Sweep(config_lib.base_config(),
                       {'bad': {'learning_rate': -1.0}})
  with pytest.raises(ValueError, match="'bad'.*learning_rate=-1"):
    sweep.run_sweep(s, str(tmp_path))
  assert not os.listdir(tmp_path)


TINY_SWEEP = '''
import os
from impala_tf import config as config_lib
from impala_tf import sweep_plan

def get_sweep():
  config = config_lib.load_config_file(os.path.join({repo!r}, 'paper_configs',
                                                    'catch.py'))
  config.total_environment_frames = 3_000
  config.num_actors = 1
  config.envs_per_actor = 4
  config.batch_size = 4
  config.log_interval_s = 1.0
  return sweep_plan.Sweep(config, {{
      sweep_plan.run_name(v): v for v in sweep_plan.grid(
          clip_rho_threshold=[1.0, None], clip_c_threshold=[0.5, 1.0])}})
'''


@pytest.mark.slow
def test_a_two_by_two_sweep_resumes_without_redoing_finished_runs(tmp_path):
  sweep_file = tmp_path / 'tiny_sweep.py'
  sweep_file.write_text(TINY_SWEEP.format(repo=REPO))
  logdir = tmp_path / 'runs'
  command = [sys.executable, '-m', 'impala_tf.sweep',
             f'--sweep={sweep_file}', f'--logdir={logdir}']
  environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
      p for p in (REPO, os.environ.get('PYTHONPATH')) if p))
  first = subprocess.Popen(command, env=environment)
  # Interrupt once the first run is done.
  deadline = time.monotonic() + 300
  while time.monotonic() < deadline and not (
      logdir.exists() and any(rundir.is_sweep_run_done(logdir / d)
                              for d in os.listdir(logdir))):
    time.sleep(0.5)
  first.send_signal(signal.SIGINT)
  first.wait(timeout=120)
  done_before = {d: os.path.getmtime(logdir / d / rundir.SWEEP_DONE_FILE)
                 for d in os.listdir(logdir) if rundir.is_sweep_run_done(logdir / d)}
  assert 1 <= len(done_before) < 4

  subprocess.run(command, env=environment, check=True, timeout=600)
  names = sorted(os.listdir(logdir))
  assert len(names) == 4
  assert all(rundir.is_sweep_run_done(logdir / name) for name in names)
  for name, mtime in done_before.items():  # Not run again.
    assert os.path.getmtime(logdir / name / rundir.SWEEP_DONE_FILE) == mtime
  for name in names:
    with open(logdir / name / rundir.SWEEP_DONE_FILE) as f:
      assert json.load(f)['num_frames'] >= 3_000


def test_runs_picks_runs_by_pattern_and_names_a_pattern_that_matches_none():
  study = sweep_plan.load_sweep(os.path.join(REPO, 'paper_configs',
                                        'sweep_vtrace_study.py'),
                           os.path.join(REPO, 'paper_configs', 'minatar.py')
                           + ':seaquest,2')
  with_replay = sweep_plan.select_runs(study, ['*replay_fraction=0.5'])
  assert list(with_replay.runs) == [name for name in study.runs
                                    if name.endswith('replay_fraction=0.5')]
  assert len(with_replay.runs) == len(study.runs) // 2
  assert with_replay.base is study.base
  # Exact names hold commas; several patterns take the union.
  two = sweep_plan.select_runs(study, [
      'off_policy_correction=vtrace,replay_fraction=0',
      'clip_rho_threshold=10,clip_c_threshold=0.5,*=0.5'])
  assert sorted(two.runs) == sorted([
      'off_policy_correction=vtrace,replay_fraction=0',
      'clip_rho_threshold=10,clip_c_threshold=0.5,replay_fraction=0.5'])
  assert sweep_plan.select_runs(study, []) is study
  with pytest.raises(ValueError, match=r"'\*replay_fraction=0\.25'"):
    sweep_plan.select_runs(study, ['*replay_fraction=0.25'])


@pytest.mark.parametrize('subset,expert', [
    ('atari5', 'atari_expert_shallow.py'), ('atari10', 'atari_expert_deep.py')])
def test_atari_subset_sweeps_run_the_expert_on_each_game(subset, expert):
  """One run per game of the subset, named after it, each the expert config
  of that game (what `atari_expert_*.py:<game>` gives), valid."""
  base = os.path.join(REPO, 'paper_configs', expert)
  s = sweep_plan.load_sweep(
      os.path.join(REPO, 'paper_configs', f'sweep_{subset}.py'), base)
  configs = sweep_plan.run_configs(s)
  assert sorted(configs) == sorted(scores.ATARI_SUBSETS[subset])
  for game, config in configs.items():
    assert config.to_dict() == config_lib.load_config_file(
        base, game).to_dict()
    config_lib.validate_config(config)
