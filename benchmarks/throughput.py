"""Whole-system frames/s beside the rates of its three parts, in one run.

For Atari Pong with the shallow expert config (paper_configs/
atari_expert_shallow.py) on this machine, measures side by side:

  system  whole-system training frames/s (`impala_tf.runtime.training.train`),
          after a warm-up;
  E       environment-only: every worker process, random actions, the full
          preprocessing, stepped by the same kind of actor thread;
  I       inference-only: the batched policy call at the batch size the
          system run saw;
  L       learner-only: train steps on synthetic batches of the same shape.

The parts share the machine, so the ceiling for the system is
1 / (1/E + 1/I + 1/L); the goal is system ≥ 0.85 × ceiling. Frames are agent
steps × 4 (action repeats), as in the paper.

Each part runs in a fresh process of its own, one after another in this one
run: measured in the process that had just run the whole system, I and L
came out up to 2× lower, which would flatter the ratio.

  python benchmarks/throughput.py [--seconds 60] [--config.num_actors=2 ...]

With --compare_runtimes it instead measures the whole system twice, with the
local runtime and with the Ray runtime (a Ray instance on this machine,
loopback only), one after the other in fresh processes, and prints both.

Prints one JSON object.
"""

import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# A Ray instance started here binds to 127.0.0.1 only.
os.environ.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from ml_collections import config_flags
import numpy as np
import tensorflow as tf
import tree

from impala_tf import rundir
from impala_tf.data import trajectory_spec
from impala_tf.learner import Learner
from impala_tf.runtime import fleet
from impala_tf.runtime import training

_CONFIG = config_flags.DEFINE_config_file(
    'config', 'paper_configs/atari_expert_shallow.py:pong', 'Run config.')
_SECONDS = flags.DEFINE_float('seconds', 60.0,
                              'Measuring time of each part (after warm-up).')
_WARMUP = flags.DEFINE_float('warmup', 20.0,
                             'Seconds of the system run not counted.')
_PART = flags.DEFINE_enum('part', None, ['system', 'E', 'I', 'L'],
                          'Measure one part in this process and print it.')
_COMPARE = flags.DEFINE_bool(
    'compare_runtimes', False,
    'Measure the whole system with runtime=local and runtime=ray instead.')
_BATCH = flags.DEFINE_integer('inference_batch_size', 32,
                              'Rows per inference call, for --part=I.')


def system_rate(config, seconds, warmup):
  """Training frames/s over ``seconds`` after ``warmup``; also the mean
  inference batch size it saw."""
  config = config.copy_and_resolve_references()
  config.log_interval_s = 5.0
  with tempfile.TemporaryDirectory() as logdir:
    stop = threading.Event()
    timer = threading.Timer(warmup + seconds, stop.set)
    timer.start()
    training.train(config, logdir, stop=stop)
    timer.cancel()
    records = [r for r in rundir.read_metrics(logdir, 'train')
               if r['wall_time'] >= warmup]
  if len(records) < 2:
    raise RuntimeError('the system run logged too little; raise --seconds')
  first, last = records[0], records[-1]
  fps = (last['frames'] - first['frames']) / (last['wall_time'] -
                                              first['wall_time'])
  batch = float(np.mean([r.get('inference_batch_size', 0.0)
                         for r in records]))
  idle = float(np.mean([r['learner_idle_fraction'] for r in records]))
  return fps, batch, idle


def environment_rate(config, seconds):
  """Frames/s of all worker processes stepped with random actions."""
  groups = fleet.make_environment_groups(config)
  num_actions = fleet.environment_spec(config).num_actions
  steps = [0] * len(groups)
  stop = threading.Event()

  def run(i, group):
    group.start()
    rng = np.random.default_rng(i)
    while not stop.is_set():
      group.step(rng.integers(0, num_actions, group.size))
      steps[i] += group.size

  threads = [threading.Thread(target=run, args=(i, g))
             for i, g in enumerate(groups)]
  for thread in threads:
    thread.start()
  time.sleep(3.0)  # Worker start-up.
  start_steps, start = sum(steps), time.monotonic()
  time.sleep(seconds)
  rate = (sum(steps) - start_steps) / (time.monotonic() - start)
  stop.set()
  for thread in threads:
    thread.join()
  for group in groups:
    group.close()
  return rate * config.num_action_repeats


def synthetic_batch(spec, rng):
  def sample(s):
    if s.dtype == tf.string:
      return tf.constant(np.full(s.shape, b'pong'))
    if s.dtype == tf.bool:
      return tf.constant(rng.random(s.shape) < 0.01)
    if s.dtype.is_integer:
      return tf.constant(rng.integers(0, 6, s.shape), s.dtype)
    return tf.constant(rng.normal(size=s.shape), s.dtype)
  return tree.map_structure(sample, spec)


def inference_rate(config, batch_size, seconds):
  """Frames/s of the batched policy call at ``batch_size`` rows."""
  observation_spec, num_actions = fleet.environment_spec(config)
  agent = fleet.make_agent(config, num_actions)
  policy = fleet.make_inference(agent, tf.Variable(0, dtype=tf.int64))
  rng = np.random.default_rng(0)
  step = synthetic_batch(trajectory_spec(
      observation_spec, agent.state_spec(), num_actions, 0, batch_size), rng)
  env_output = tree.map_structure(lambda t: t.numpy()[0], step.env_outputs)
  action = step.agent_outputs.action.numpy()[0]
  state = tree.map_structure(lambda t: t.numpy(), step.agent_state)
  policy(action, env_output, state)  # Trace.
  calls, start = 0, time.monotonic()
  while time.monotonic() - start < seconds:
    policy(action, env_output, state)
    calls += 1
  return calls * batch_size * config.num_action_repeats / (
      time.monotonic() - start)


def learner_rate(config, seconds):
  """Frames/s of train steps on synthetic batches."""
  observation_spec, num_actions = fleet.environment_spec(config)
  agent = fleet.make_agent(config, num_actions)
  spec = trajectory_spec(observation_spec, agent.state_spec(), num_actions,
                         config.unroll_length, config.batch_size)
  learner = Learner(agent, config, spec)
  batch = synthetic_batch(spec, np.random.default_rng(0))
  learner.train_step(batch)  # Trace.
  updates, start = 0, time.monotonic()
  while time.monotonic() - start < seconds:
    learner.train_step(batch)['num_frames'].numpy()
    updates += 1
  frames_per_update = (config.unroll_length * config.batch_size *
                       config.num_action_repeats)
  return updates * frames_per_update / (time.monotonic() - start)


def measure_part(config, part):
  """Runs one part here; returns a dict of its figures."""
  if part == 'system':
    fps, batch, idle = system_rate(config, _SECONDS.value, _WARMUP.value)
    return dict(fps=fps, inference_batch_size=batch, learner_idle=idle)
  if part == 'E':
    return dict(fps=environment_rate(config, _SECONDS.value))
  if part == 'I':
    return dict(fps=inference_rate(config, _BATCH.value, _SECONDS.value))
  return dict(fps=learner_rate(config, _SECONDS.value))


def measure_in_subprocess(part, extra_flags=(), batch_size=None):
  # sys.argv, not main's argv: absl hands main only what is not a flag.
  command = [sys.executable, os.path.abspath(__file__), *sys.argv[1:],
             *extra_flags, f'--part={part}']
  if batch_size is not None:
    command.append(f'--inference_batch_size={batch_size}')
  output = subprocess.run(command, check=True, capture_output=True,
                          text=True).stdout
  return json.loads(output.strip().splitlines()[-1])


def main(argv):
  config = _CONFIG.value
  if _PART.value is not None:
    print(json.dumps(measure_part(config, _PART.value)))
    return
  if _COMPARE.value:
    compare_runtimes(config)
    return
  system = measure_in_subprocess('system')
  batch_size = max(1, round(system['inference_batch_size']))
  environment = measure_in_subprocess('E')['fps']
  inference = measure_in_subprocess('I', batch_size=batch_size)['fps']
  learner = measure_in_subprocess('L')['fps']
  ceiling = 1.0 / (1.0 / environment + 1.0 / inference + 1.0 / learner)
  print(json.dumps(dict(
      benchmark='throughput',
      machine=f'{platform.machine()}, {os.cpu_count()} cores, no GPU'
      if not tf.config.list_physical_devices('GPU') else platform.machine(),
      levels=list(config.levels),
      torso=config.torso,
      num_actors=config.num_actors,
      envs_per_actor=config.envs_per_actor,
      unroll_length=config.unroll_length,
      batch_size=config.batch_size,
      dynamic_batching=config.dynamic_batching,
      unit='frames/s (4 frames per agent step)',
      system_fps=round(system['fps']),
      environment_only_fps_E=round(environment),
      inference_only_fps_I=round(inference),
      inference_batch_size=round(system['inference_batch_size'], 1),
      learner_only_fps_L=round(learner),
      ceiling_fps=round(ceiling),
      system_over_ceiling=round(system['fps'] / ceiling, 3),
      goal_met=system['fps'] >= 0.85 * ceiling,
      learner_idle_fraction=round(system['learner_idle'], 3),
  ), indent=2))


def compare_runtimes(config):
  local = measure_in_subprocess('system', ['--config.runtime=local'])
  # Ray schedules actors by CPU count: let every actor fit on this machine.
  cpus = os.cpu_count() / config.num_actors
  remote = measure_in_subprocess(
      'system', ['--config.runtime=ray', f'--config.ray_cpus_per_actor={cpus}'])
  print(json.dumps(dict(
      benchmark='throughput_runtimes',
      machine=f'{platform.machine()}, {os.cpu_count()} cores',
      levels=list(config.levels),
      num_actors=config.num_actors,
      envs_per_actor=config.envs_per_actor,
      unit='frames/s (4 frames per agent step)',
      local_fps=round(local['fps']),
      local_learner_idle_fraction=round(local['learner_idle'], 3),
      ray_fps=round(remote['fps']),
      ray_learner_idle_fraction=round(remote['learner_idle'], 3),
      ray_over_local=round(remote['fps'] / local['fps'], 3),
  ), indent=2))


if __name__ == '__main__':
  app.run(main)
