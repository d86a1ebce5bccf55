"""The whole single-machine runtime, as a user runs it."""

import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from impala_tf import config as config_lib
from impala_tf import envs
from impala_tf import evaluate
from impala_tf.results import rundir
from impala_tf.runtime import agents
from impala_tf.runtime import training
from tests.conftest import process_alive, slow, wait_for

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_config(name, *args):
  return config_lib.load_config_file(
      os.path.join(REPO, 'paper_configs', f'{name}.py'), *args)


def episode_returns(logdir):
  return [r['episode_return'] for r in rundir.read_metrics(logdir, 'episode')]


def train_records(logdir):
  if not os.path.exists(os.path.join(logdir, rundir.METRICS_FILE)):
    return []
  return rundir.read_metrics(logdir, 'train')


def stop_after(logdir, condition, timeout_s=240):
  """An event that is set once the run's train records satisfy
  ``condition(records)`` (or after ``timeout_s``, so a test never hangs)."""
  stop = threading.Event()

  def watch():
    try:
      wait_for(lambda: (records := train_records(logdir)) and
               condition(records), timeout_s, 'the run to get far enough')
    finally:
      stop.set()

  threading.Thread(target=watch, daemon=True).start()
  return stop


def worker_pids(parent_pid):
  """Environment worker processes whose parent is ``parent_pid``."""
  pids = []
  for entry in os.listdir('/proc'):
    if not entry.isdigit():
      continue
    try:
      with open(f'/proc/{entry}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
      with open(f'/proc/{entry}/cmdline', 'rb') as f:
        cmdline = f.read()
    except OSError:
      continue
    if (int(fields[1]) == parent_pid and fields[0] != 'Z' and
        b'impala_tf.runtime.env_worker' in cmdline):
      pids.append(int(entry))
  return pids


@pytest.mark.slow
def test_catch_learns_end_to_end_and_evaluates(tmp_path):
  config = load_config('catch')
  logdir = str(tmp_path)
  start = time.monotonic()
  stats = training.train(config, logdir)
  print(f'Catch: {stats["num_frames"]} frames in '
        f'{time.monotonic() - start:.0f} s')
  returns = episode_returns(logdir)
  assert stats['num_frames'] >= config.total_environment_frames
  assert np.mean(returns[:200]) < 0.0  # A random policy loses.
  assert np.mean(returns[-200:]) >= 0.9  # Near the optimum of +1.
  records = rundir.read_metrics(logdir, 'train')
  for key in ('fps', 'learner_idle_fraction', 'queue_fill', 'policy_lag',
              'inference_batch_size', 'learning_rate', 'entropy',
              'episode_return/catch', 'total_loss'):
    assert key in records[-1], key
  assert records[-1]['inference_batch_size'] > 1  # Calls were batched.
  assert rundir.read_config(logdir).levels == ('catch',)
  assert any(name.startswith('events.') for name in os.listdir(logdir))
  assert worker_pids(os.getpid()) == []  # No orphans.

  results = evaluate.evaluate(logdir, episodes_per_level=50)
  # 16 environments play 4 episodes each: at least 50, equally shared.
  assert results['levels']['catch']['episodes'] == 64
  assert results['levels']['catch']['mean_return'] >= 0.9
  assert os.path.exists(os.path.join(logdir, rundir.EVALUATION_FILE))


@pytest.mark.slow
def test_stop_at_frames_stops_early_and_keeps_the_schedule(tmp_path):
  """A fixed budget for a controlled run: training stops once the frames
  reach stop_at_frames, while the learning rate still anneals over
  total_environment_frames; the run records its command and commit, and
  resuming with a larger budget goes on from there."""
  config = load_config('catch')
  config.log_interval_s = 0.5
  frames_per_update = config.unroll_length * config.batch_size
  config.stop_at_frames = 20 * frames_per_update
  logdir = str(tmp_path)
  stats = training.train(config, logdir)
  assert stats['num_frames'] == config.stop_at_frames
  expected_lr = config.learning_rate * (
      1 - (config.stop_at_frames - frames_per_update) /
      config.total_environment_frames)
  assert stats['learning_rate'] == pytest.approx(expected_lr, rel=1e-5)
  config.stop_at_frames = 30 * frames_per_update
  stats = training.train(config, logdir)
  assert stats['num_frames'] == config.stop_at_frames
  starts = rundir.read_metrics(logdir, 'start')
  assert [s['frames'] for s in starts] == [0, 20 * frames_per_update]
  assert all(s['commit'] for s in starts)
  assert worker_pids(os.getpid()) == []


@pytest.mark.slow
@pytest.mark.parametrize('use_lstm', [True, False])
def test_memory_task_needs_the_lstm(tmp_path, use_lstm):
  config = load_config('memory')
  config.use_lstm = use_lstm
  training.train(config, str(tmp_path))
  final = np.mean(episode_returns(str(tmp_path))[-300:])
  if use_lstm:
    assert final >= 0.9
  else:  # Without memory, the best expected return is 0.
    assert final <= 0.3


@pytest.mark.slow
def test_training_survives_a_killed_worker_and_a_failing_actor(tmp_path,
                                                                monkeypatch):
  config = load_config('catch')
  config.total_environment_frames = int(1e8)
  config.log_interval_s = 1.0
  config.num_actors = 3
  config.envs_per_actor = 4
  calls = {'n': 0}
  make_inference = agents.make_inference

  def failing_inference(agent, version):
    policy = make_inference(agent, version)

    def policy_that_fails_once(*args):
      calls['n'] += 1
      if calls['n'] == 300:
        raise RuntimeError('injected failure inside the actor')
      return policy(*args)
    return policy_that_fails_once

  monkeypatch.setattr(agents, 'make_inference', failing_inference)
  stop = threading.Event()
  frames_at_kill = {}

  def kill_a_worker_then_stop():
    try:
      wait_for(lambda: (records := train_records(str(tmp_path))) and
               records[-1]['frames'] > 20_000 and calls['n'] > 300, 120,
               'training past the injected actor failure')
      frames_at_kill['frames'] = train_records(str(tmp_path))[-1]['frames']
      os.kill(worker_pids(os.getpid())[0], signal.SIGKILL)
      wait_for(lambda: (records := train_records(str(tmp_path))) and
               records[-1]['environment_restarts'] >= 1 and
               records[-1]['frames'] > frames_at_kill['frames'] + 10_000,
               120, 'training to go on after the kill')
    finally:
      stop.set()  # Whatever happens, the run ends.

  saboteur = threading.Thread(target=kill_a_worker_then_stop)
  saboteur.start()
  stats = training.train(config, str(tmp_path), stop=stop)
  saboteur.join()
  last = rundir.read_metrics(str(tmp_path), 'train')[-1]
  assert last['environment_restarts'] >= 1
  assert last['actor_errors'] >= 1
  # Training went on after both faults.
  assert stats['num_frames'] > frames_at_kill['frames'] + 5_000
  assert worker_pids(os.getpid()) == []


@pytest.mark.slow
def test_resume_continues_frames_schedule_and_state_exactly(tmp_path, caplog):
  config = load_config('catch')
  config.total_environment_frames = 400_000
  config.log_interval_s = 0.5
  logdir = str(tmp_path)
  frames_per_update = config.unroll_length * config.batch_size

  stop = stop_after(logdir, lambda records: records[-1]['num_updates'] >= 20)
  first = training.train(config, logdir, stop=stop)
  assert 0 < first['num_frames'] < config.total_environment_frames

  # The checkpoint written at the stop holds exactly the final state.
  latest = tf.train.latest_checkpoint(os.path.join(logdir, 'checkpoints'))
  reader = tf.train.load_checkpoint(latest)
  saved = {name: reader.get_tensor(name)
           for name in reader.get_variable_to_shape_map()}
  frames_key = 'num_frames/.ATTRIBUTES/VARIABLE_VALUE'
  updates_key = 'num_updates/.ATTRIBUTES/VARIABLE_VALUE'
  assert saved[frames_key] == first['num_frames']
  assert saved[updates_key] == first['num_updates']

  # A fresh learner restored from it has every variable (parameters and
  # RMSProp slots) bit for bit.
  spec = agents.environment_spec(config)
  observation_spec, num_actions = spec
  agent = agents.make_agent(config, spec)
  from impala_tf.agent.hyperparameters import LearnerHyperparameters  # pylint: disable=g-import-not-at-top
  from impala_tf.agent.learner import Learner  # pylint: disable=g-import-not-at-top
  from impala_tf.runtime.pipeline import trajectory_spec  # pylint: disable=g-import-not-at-top
  learner = Learner(agent, LearnerHyperparameters.from_config(config),
                    trajectory_spec(
      observation_spec, agent.state_spec(), num_actions, config.unroll_length,
      config.batch_size))
  learner.checkpoint.restore(latest).assert_existing_objects_matched()
  slots = learner.optimizer.mean_square
  assert len(slots) == len(agent.trainable_variables) > 0
  restored = 0
  for name, value in saved.items():
    if 'optimizer/mean_square' in name:
      index = int(name.split('/')[2])
      np.testing.assert_array_equal(slots[index].numpy(), value)
      restored += 1
  assert restored == len(slots)
  assert not np.all(slots[0].numpy() == 1.0)  # Slots did move from 1.

  # A learning rate asked for on resume is not used (the checkpoint's
  # continues); the run says so and config.json records the rate in use.
  changed = config.copy_and_resolve_references()
  changed.learning_rate = config.learning_rate / 2
  stop = stop_after(logdir, lambda records: records[-1]['num_updates'] >=
                   first['num_updates'] + 10)
  with caplog.at_level('WARNING'):
    second = training.train(changed, logdir, stop=stop)
  assert f'config.learning_rate={changed.learning_rate!r} is ignored' in (
      caplog.text)
  np.testing.assert_allclose(
      rundir.read_config(logdir).learning_rate, config.learning_rate,
      rtol=1e-6)
  records = rundir.read_metrics(logdir, 'train')
  resumed = [r for r in records if r['num_updates'] > first['num_updates']]
  assert resumed, 'the second run logged nothing'
  record = resumed[0]
  # Frames and updates continue from the stop ...
  assert record['frames'] == record['num_updates'] * frames_per_update
  assert second['num_frames'] > first['num_frames']
  # ... and so does the learning-rate schedule (the rate of an update uses
  # the frames before it).
  expected_lr = config.learning_rate * (
      1 - (record['frames'] - frames_per_update) /
      config.total_environment_frames)
  np.testing.assert_allclose(record['learning_rate'], expected_lr, rtol=1e-5)
  # Wall time continues too, so curves of resumed runs line up.
  assert record['wall_time'] > max(
      r['wall_time'] for r in records
      if r['num_updates'] <= first['num_updates'])


def run_cli(*args, timeout=120):
  return subprocess.run([sys.executable, '-m', *args], cwd=REPO,
                        capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize('override,expected', [
    # Each case starts Python and TensorFlow (~4 s): the default run keeps
    # one, CI runs all.
    ('--config.batch_size=-4', 'config.batch_size=-4'),
    slow('--config.reward_clipping=sometimes',
         "config.reward_clipping='sometimes'"),
    slow("--config.levels=('pong','pongg')", "'pongg'"),
    slow('--config.no_such_field=1', 'no_such_field'),
])
def test_cli_rejects_bad_configs_before_starting(tmp_path, override, expected):
  logdir = tmp_path / 'run'
  result = run_cli('impala_tf.train',
                   '--config=paper_configs/atari_expert_shallow.py:pong',
                   f'--logdir={logdir}', override)
  assert result.returncode == 2
  assert 'Traceback' not in result.stderr, result.stderr[-2000:]
  assert expected in result.stderr.strip().splitlines()[-1]
  assert not logdir.exists()  # Nothing was started or written.


@pytest.mark.slow
def test_cli_rejects_an_unknown_game():
  result = run_cli('impala_tf.train',
                   '--config=paper_configs/atari_expert_shallow.py:pongg',
                   '--logdir=/nonexistent/never')
  assert result.returncode != 0
  assert "Unknown atari level 'pongg'" in result.stderr
  assert 'space_invaders' in result.stderr  # The valid names are listed.


def start_catch_training(logdir):
  """``python -m impala_tf.train`` on Catch; returns the process and its
  environment workers once it has logged."""
  process = subprocess.Popen(
      [sys.executable, '-m', 'impala_tf.train',
       '--config=paper_configs/catch.py', f'--logdir={logdir}',
       '--config.log_interval_s=1'],
      cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  wait_for(lambda: train_records(logdir), 120, 'the first log record')
  workers = worker_pids(process.pid)
  assert len(workers) == 2
  return process, workers


def wait_for_exit(workers):
  """Gone, not orphaned: within 10 s of the learner's end (issue 22)."""
  wait_for(lambda: not any(process_alive(pid) for pid in workers), 10,
           f'the workers {workers} to exit')


@pytest.mark.slow
@pytest.mark.parametrize('signal_number', [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_checkpoints_and_leaves_no_orphans(tmp_path,
                                                         signal_number):
  process, workers = start_catch_training(str(tmp_path))
  process.send_signal(signal_number)
  output, _ = process.communicate(timeout=60)
  assert process.returncode == 0, output[-3000:]
  assert tf.train.latest_checkpoint(str(tmp_path / 'checkpoints'))
  wait_for_exit(workers)


@pytest.mark.slow
def test_a_killed_learner_leaves_no_orphans(tmp_path):
  # No handler runs on SIGKILL: the workers see their socket close.
  process, workers = start_catch_training(str(tmp_path))
  process.kill()
  process.communicate(timeout=60)
  wait_for_exit(workers)


@pytest.mark.slow
def test_an_error_in_the_learner_loop_checkpoints_and_leaves_no_orphans(
    tmp_path, monkeypatch):
  from impala_tf.agent.learner import Learner  # pylint: disable=g-import-not-at-top
  train_step = Learner.train_step
  calls = []

  def failing_train_step(self, batch):
    calls.append(1)
    if len(calls) == 20:
      raise RuntimeError('injected learner failure')
    return train_step(self, batch)

  monkeypatch.setattr(Learner, 'train_step', failing_train_step)
  config = load_config('catch')
  with pytest.raises(RuntimeError, match='injected learner failure'):
    training.train(config, str(tmp_path))
  latest = tf.train.latest_checkpoint(str(tmp_path / 'checkpoints'))
  assert latest and latest.endswith('-19')  # The updates before the error.
  wait_for(lambda: not worker_pids(os.getpid()), 10, 'the workers to exit')


@pytest.mark.slow
@pytest.mark.parametrize('overrides', [
    dict(dynamic_batching=False),
    dict(strategy='mirrored', devices=('/cpu:0', '/cpu:1')),
])
def test_short_runs_in_other_runtime_settings(tmp_path, overrides):
  config = load_config('catch')
  config.total_environment_frames = 6_000
  config.log_interval_s = 0.5
  config.update(overrides)
  trainer = training.Trainer(config, str(tmp_path))
  initial = [v.numpy() for v in trainer.agent.trainable_variables]
  stats = trainer.run()
  # Every update consumed one whole batch of fresh steps (under the
  # mirrored strategy, each replica its half of it).
  frames_per_update = (config.unroll_length * config.batch_size *
                       config.num_action_repeats)
  assert stats['num_frames'] == stats['num_updates'] * frames_per_update
  assert stats['num_frames'] >= 6_000
  records = train_records(str(tmp_path))
  assert records and all(np.isfinite(r['total_loss']) for r in records)
  # A policy over Catch's 3 actions: entropy in (0, log 3].
  assert all(0 < r['entropy'] <= np.log(3) + 1e-5 for r in records)
  # The updates moved the weights.
  assert any(not np.allclose(before, after.numpy()) for before, after in zip(
      initial, trainer.agent.trainable_variables))
  if config.strategy == 'mirrored':
    # Both replicas hold the same weights after every update.
    for variable in trainer.agent.trainable_variables:
      copies = [v.numpy() for v in variable.values]
      assert len(copies) == 2
      for copy in copies[1:]:
        np.testing.assert_array_equal(copy, copies[0])
  if not config.dynamic_batching:
    assert records[-1]['inference_batch_size'] == 0.0  # No batcher.
  else:
    assert records[-1]['inference_batch_size'] >= 1.0
  assert worker_pids(os.getpid()) == []


@pytest.mark.slow
def test_two_learner_hosts_train_together(tmp_path):
  """MultiWorkerMirroredStrategy over two processes on 127.0.0.1, each with
  its own actors: both count the same updates and frames; the chief writes
  the run directory, the other host its own below it."""
  import socket  # pylint: disable=g-import-not-at-top

  def free_port():
    with socket.socket() as s:
      s.bind(('127.0.0.1', 0))
      return s.getsockname()[1]

  ports = f'{free_port()},{free_port()}'
  environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
      p for p in (REPO, os.environ.get('PYTHONPATH')) if p))
  hosts = [subprocess.Popen(
      [sys.executable, os.path.join(REPO, 'tests', 'multi_worker_training.py'),
       str(i), ports, str(tmp_path)], env=environment, stdout=subprocess.PIPE,
      text=True) for i in range(2)]
  try:
    outputs = [host.communicate(timeout=400)[0] for host in hosts]
  finally:
    for host in hosts:
      host.kill()
  assert [host.returncode for host in hosts] == [0, 0]
  results = [json.loads(output.strip().splitlines()[-1]) for output in outputs]
  assert results[0] == results[1]
  assert results[0]['num_frames'] >= 4_000
  assert os.path.exists(tmp_path / rundir.METRICS_FILE)
  assert os.path.exists(tmp_path / 'worker_1' / rundir.METRICS_FILE)
  # Each update used 8 trajectories of 20 steps, 4 from each host.
  assert results[0]['num_frames'] == results[0]['num_updates'] * 8 * 20


def test_environment_spec_builds_one_level_per_kind_of_spaces(monkeypatch):
  config = config_lib.atari_config()
  config.levels = ('pong', 'breakout', 'space_invaders')
  built, make = [], envs.make

  def counting_make(env_name, level, **options):
    built.append(level)
    return make(env_name, level, **options)

  monkeypatch.setattr(envs, 'make', counting_make)
  # The full action set: every game has the same spaces, one is built.
  config.full_action_space = True
  spec = agents.environment_spec(config)
  assert spec.num_actions == 18 and built == ['pong']
  assert spec.observation.shape == (84, 84, 4)
  # Minimal action sets differ per game: each is built, and the mix refused.
  built.clear()
  config.full_action_space = False
  with pytest.raises(ValueError, match='action sets of different sizes'):
    agents.environment_spec(config)
  assert built == list(config.levels)


def _cut_short(checkpoint_path):
  """Truncates a checkpoint's data file to half its size."""
  [data_file] = glob.glob(checkpoint_path + '.data-*')
  size = os.path.getsize(data_file)
  with open(data_file, 'r+b') as f:
    f.truncate(size // 2)


def two_checkpoints_the_newest_cut_short(config, logdir):
  """A run directory with checkpoints at updates 5 and 9, the one at 9
  truncated; their paths."""
  trainer = training.Trainer(config, logdir)
  trainer.learner.num_updates.assign(5)
  older = trainer.save_checkpoint()
  trainer.learner.num_updates.assign(9)
  newest = trainer.save_checkpoint()
  trainer.run_writer.close()
  _cut_short(newest)
  return older, newest


def test_resume_falls_back_to_the_checkpoint_before_an_unreadable_one(
    tmp_path, caplog):
  config = load_config('catch')
  logdir = str(tmp_path)
  older, newest = two_checkpoints_the_newest_cut_short(config, logdir)
  with caplog.at_level('WARNING'):
    resumed = training.Trainer(config, logdir)
  resumed.run_writer.close()
  assert int(resumed.learner.num_updates.numpy()) == 5
  assert f'restored {older}, not the newest checkpoint {newest}' in (
      caplog.text)

  # With no readable checkpoint left the run refuses to start over them.
  _cut_short(older)
  with pytest.raises(ValueError, match='none of the checkpoints'):
    training.Trainer(config, logdir)


def test_evaluate_falls_back_to_the_checkpoint_before_an_unreadable_one(
    tmp_path):
  """Evaluation restores through the same owner of checkpoints as training:
  a truncated newest checkpoint is skipped for the one before it, in the
  library and on the command line."""
  config = load_config('catch')
  config.num_actors = 1
  config.envs_per_actor = 2
  logdir = str(tmp_path)
  older, _ = two_checkpoints_the_newest_cut_short(config, logdir)

  results = evaluate.evaluate(logdir, episodes_per_level=4)
  assert results['levels']['catch']['episodes'] == 4
  written = rundir.read_evaluation(logdir)
  assert written['checkpoint'] == os.path.basename(older)

  os.remove(os.path.join(logdir, rundir.EVALUATION_FILE))
  command = subprocess.run(
      [sys.executable, '-m', 'impala_tf.evaluate', f'--logdir={logdir}',
       '--episodes_per_level=4'], cwd=REPO, capture_output=True, text=True,
      timeout=300)
  assert command.returncode == 0, command.stderr[-2000:]
  written = rundir.read_evaluation(logdir)
  assert written['checkpoint'] == os.path.basename(older)
  assert written['levels']['catch']['episodes'] == 4
