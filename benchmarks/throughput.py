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

With ``--free_environments`` every cycle also measures

  system_free  the whole system with environments that cost nothing
               (`benchmarks/free_atari.py`: the worker processes hand out
               a fixed stack of frames; all else is real), the most any
               Atari backend could give on this machine.

With ``--free_network`` the system parts and L use a network that costs
nothing (`benchmarks/free_network.py`: the same inputs, outputs and state;
the learner still runs a real train step on it). ``--part=system_free
--free_network`` is then the runtime alone, its own ceiling.

The parts share the machine, so the ceiling for the system is
1 / (1/E + 1/I + 1/L); the goal is system ≥ 0.85 × ceiling. Frames are agent
steps × 4 (action repeats), as in the paper.

Each part runs in a fresh process of its own, one after another in this one
run: measured in the process that had just run the whole system, I and L
came out up to 2× lower, which would flatter the ratio.

  python benchmarks/throughput.py [--seconds 60] [--config.num_actors=2 ...]

Noise: this machine's rates drift by 20-30 % between runs. ``--repeats=N``
measures the parts N times, interleaved (system, E, I, L, system, E, ...),
and reports each part's and the ratio's median with its spread (min, max),
so that a real change can be told from noise. ``--backends=gymnasium,vector``
measures E and the system with each Atari backend in every cycle, and
reports the ratios of E, of the system and of the ceilings between them:
the network costs both backends the same, so the ceilings' ratio bounds
what a faster environment side can give the system.
``--cores=N`` pins every measuring process (and its workers) to the first N
cores, for scaling figures. Every part also reports frames per CPU-second
of its process tree, which stays comparable between machines.
``--torch_python=PY`` also measures the same learner step written in
PyTorch (`benchmarks/torch_learner.py`, run by the interpreter PY, which
has torch) in every cycle, as L/torch, and reports L tf/torch.

With --compare_runtimes it instead measures the whole system twice, with the
local runtime and with the Ray runtime (a Ray instance on this machine,
loopback only), one after the other in fresh processes, and prints both.

Prints one JSON object.
"""

import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time

# A Ray instance started here binds to 127.0.0.1 only.
os.environ.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
# Before TensorFlow: the package turns on its oneDNN kernels (its __init__).
import impala_tf  # pylint: disable=g-import-not-at-top,unused-import

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from ml_collections import config_flags
import numpy as np
import tensorflow as tf
import tree

from benchmarks import free_atari  # pylint: disable=g-import-not-at-top
from benchmarks import free_network
from benchmarks import proc_tree
from benchmarks import throughput_summary
from impala_tf.agent.hyperparameters import LearnerHyperparameters
from impala_tf.agent.learner import Learner
from impala_tf.results import rundir
from impala_tf.runtime import agents
from impala_tf.runtime import fleet
from impala_tf.runtime import training
from impala_tf.runtime.pipeline import trajectory_spec

_CONFIG = config_flags.DEFINE_config_file(
    'config', 'paper_configs/atari_expert_shallow.py:pong', 'Run config.')
_SECONDS = flags.DEFINE_float('seconds', 60.0,
                              'Measuring time of each part (after warm-up).')
_WARMUP = flags.DEFINE_float('warmup', 20.0,
                             'Seconds of the system run not counted, from '
                             'its first logged update.')
_PART = flags.DEFINE_enum('part', None,
                          ['system', 'system_free', 'E', 'I', 'L'],
                          'Measure one part in this process and print it.')
_COMPARE = flags.DEFINE_bool(
    'compare_runtimes', False,
    'Measure the whole system with runtime=local and runtime=ray instead.')
_BATCH = flags.DEFINE_integer('inference_batch_size', 32,
                              'Rows per inference call, for --part=I.')
_REPEATS = flags.DEFINE_integer('repeats', 1, 'Cycles of interleaved '
                                'measurements of every part.')
_BACKENDS = flags.DEFINE_list('backends', [], 'Atari backends to measure E '
                              'and the system with, side by side; default: '
                              "the config's.")
_FREE = flags.DEFINE_bool('free_environments', False, 'Every cycle also '
                          'measures the whole system with environments that '
                          'cost nothing (benchmarks/free_atari.py).')
_FREE_NETWORK = flags.DEFINE_bool(
    'free_network', False, 'The system parts and L train a network that '
    'costs nothing (benchmarks/free_network.py) instead of the config\'s.')
_CORES = flags.DEFINE_integer('cores', None, 'Pin the measuring processes '
                              'to the first N cores.')
_TORCH_PYTHON = flags.DEFINE_string(
    'torch_python', None, 'An interpreter with torch: every cycle also '
    'measures the same learner step in PyTorch (benchmarks/torch_learner.py) '
    'as L/torch, beside our L.')
TORCH_LEARNER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             'torch_learner.py')


def system_rate(config, seconds, warmup,
                make_groups=fleet.make_environment_groups,
                make_agent=agents.make_agent):
  """Training frames/s (``fps``) over ``seconds`` after a warm-up of
  ``warmup`` seconds from the first logged update; also the mean inference
  batch size, the learner's idle fraction, frames per CPU-second and, for
  the Ray runtime, the bytes of trajectories the learner received per frame
  (``ray_bytes_per_frame``) and the nodes its actors ran on, as a dict.
  ``make_groups`` and ``make_agent``: the fleet's environments and the
  network (`fleet.FleetSetup`)."""
  config = config.copy_and_resolve_references()
  config.log_interval_s = 5.0
  cpu = {}

  def sample(key):
    cpu[key] = (time.monotonic(),
                proc_tree.cpu_seconds(proc_tree.descendants(os.getpid())))

  with tempfile.TemporaryDirectory() as logdir:
    stop = threading.Event()
    metrics = os.path.join(logdir, 'metrics.jsonl')

    def measure():
      # The warm-up counts from the first update, not from the start:
      # starting the workers and tracing take longer than a warm-up on one
      # core or a loaded machine.
      while not stop.is_set() and not (os.path.exists(metrics) and
                                       rundir.read_metrics(logdir, 'train')):
        time.sleep(0.5)
      if not stop.wait(warmup):
        sample('start')
        if not stop.wait(seconds):
          sample('end')
          stop.set()

    watcher = threading.Thread(target=measure, daemon=True)
    watcher.start()
    training.train(config, logdir, stop=stop, make_groups=make_groups,
                   make_agent=make_agent)
    stop.set()
    watcher.join()
    records = rundir.read_metrics(logdir, 'train')
    start_wall = records[0]['wall_time'] + warmup if records else 0.0
    records = [r for r in records if r['wall_time'] >= start_wall]
  if len(records) < 2 or 'end' not in cpu:
    raise RuntimeError('the system run ended before its measuring window '
                       f'did ({warmup} s after the first update, then '
                       f'{seconds} s)')
  first, last = records[0], records[-1]
  frames = last['frames'] - first['frames']
  fps = frames / (last['wall_time'] - first['wall_time'])
  (t0, c0), (t1, c1) = cpu['start'], cpu['end']
  figures = dict(
      fps=fps,
      inference_batch_size=float(np.mean(
          [r.get('inference_batch_size', 0.0) for r in records])),
      learner_idle=float(np.mean([r['learner_idle_fraction']
                                  for r in records])),
      frames_per_cpu_second=fps * (t1 - t0) / max(c1 - c0, 1e-9))
  if 'ray_bytes_received' in last:  # The Ray runtime's transfers.
    figures['ray_bytes_per_frame'] = (
        last['ray_bytes_received'] - first['ray_bytes_received']) / frames
    figures['ray_nodes'] = last['ray_nodes']
  return figures


def environment_rate(config, seconds):
  """Frames/s of all worker processes stepped with random actions."""
  groups = fleet.make_environment_groups(config)
  num_actions = agents.environment_spec(config).num_actions
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
  # Start-up (a vector's seeded resets take seconds) is not measured: wait
  # until every group has stepped.
  deadline = time.monotonic() + 300
  while min(steps) == 0 and time.monotonic() < deadline:
    time.sleep(0.5)
  start_steps, start = sum(steps), time.monotonic()
  start_cpu = proc_tree.cpu_seconds(proc_tree.descendants(os.getpid()))
  time.sleep(seconds)
  used_cpu = proc_tree.cpu_seconds(
      proc_tree.descendants(os.getpid())) - start_cpu
  frames = (sum(steps) - start_steps) * config.num_action_repeats
  rate = frames / (time.monotonic() - start)
  stop.set()
  for thread in threads:
    thread.join()
  for group in groups:
    group.close()
  return rate, frames / max(used_cpu, 1e-9)


def synthetic_batch(spec, rng, num_actions):
  """Random leaves shaped like ``spec``; integers (the actions among them)
  below ``num_actions``."""
  def sample(s):
    if s.dtype == tf.string:
      return tf.constant(np.full(s.shape, b'pong'))
    if s.dtype == tf.bool:
      return tf.constant(rng.random(s.shape) < 0.01)
    if s.dtype.is_integer:
      return tf.constant(rng.integers(0, num_actions, s.shape), s.dtype)
    return tf.constant(rng.normal(size=s.shape), s.dtype)
  return tree.map_structure(sample, spec)


def inference_rate(config, batch_size, seconds):
  """Frames/s of the batched policy call at ``batch_size`` rows."""
  spec = agents.environment_spec(config)
  observation_spec, num_actions = spec
  agent = agents.make_agent(config, spec)
  policy = agents.make_inference(agent, tf.Variable(0, dtype=tf.int64))
  rng = np.random.default_rng(0)
  step = synthetic_batch(trajectory_spec(
      observation_spec, agent.state_spec(), num_actions, 0, batch_size), rng,
      num_actions)
  env_output = tree.map_structure(lambda t: t.numpy()[0], step.env_outputs)
  action = step.agent_outputs.action.numpy()[0]
  state = tree.map_structure(lambda t: t.numpy(), step.agent_state)
  policy(action, env_output, state)  # Trace.
  return _timed_rate(lambda: policy(action, env_output, state),
                     batch_size * config.num_action_repeats, seconds)


def agent_factory():
  """The agent factory the parts use: the config's network, or with
  --free_network the one that costs nothing."""
  if _FREE_NETWORK.value:
    return free_network.make_free_agent
  return agents.make_agent


def learner_rate(config, seconds):
  """Frames/s of train steps on synthetic batches."""
  env_spec = agents.environment_spec(config)
  observation_spec, num_actions = env_spec
  agent = agent_factory()(config, env_spec)
  spec = trajectory_spec(observation_spec, agent.state_spec(), num_actions,
                         config.unroll_length, config.batch_size)
  learner = Learner(agent, LearnerHyperparameters.from_config(config), spec)
  batch = synthetic_batch(spec, np.random.default_rng(0), num_actions)
  learner.train_step(batch)  # Trace.
  return _timed_rate(
      lambda: learner.train_step(batch)['num_frames'].numpy(),
      config.unroll_length * config.batch_size * config.num_action_repeats,
      seconds)


def _timed_rate(call, frames_per_call, seconds):
  """Calls ``call()`` for ``seconds``; its frames/s and frames per
  CPU-second of this process."""
  calls, start, start_cpu = 0, time.monotonic(), time.process_time()
  while time.monotonic() - start < seconds:
    call()
    calls += 1
  frames = calls * frames_per_call
  return (frames / (time.monotonic() - start),
          frames / max(time.process_time() - start_cpu, 1e-9))


def measure_part(config, part):
  """Runs one part here; returns a dict of its figures."""
  if _CORES.value:  # Inherited by the worker processes it starts.
    os.sched_setaffinity(0, range(_CORES.value))
  make_groups = fleet.make_environment_groups
  if part == 'system_free':
    make_groups = functools.partial(
        fleet.make_environment_groups,
        make_vector=free_atari.make_vector_fn(
            agents.environment_spec(config).num_actions))
    part = 'system'
  if part == 'system':
    return system_rate(config, _SECONDS.value, _WARMUP.value, make_groups,
                       agent_factory())
  if part == 'E':
    fps, per_cpu = environment_rate(config, _SECONDS.value)
  elif part == 'I':
    fps, per_cpu = inference_rate(config, _BATCH.value, _SECONDS.value)
  else:
    fps, per_cpu = learner_rate(config, _SECONDS.value)
  return dict(fps=fps, frames_per_cpu_second=per_cpu)


def measure_in_subprocess(part, extra_flags=(), batch_size=None):
  # sys.argv, not main's argv: absl hands main only what is not a flag.
  command = [sys.executable, os.path.abspath(__file__), *sys.argv[1:],
             *extra_flags, f'--part={part}']
  if batch_size is not None:
    command.append(f'--inference_batch_size={batch_size}')
  result = subprocess.run(command, capture_output=True, text=True)
  if result.returncode != 0:
    raise RuntimeError(f'--part={part} failed:\n{result.stderr[-3000:]}')
  return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv):
  config = _CONFIG.value
  if _PART.value is not None:
    print(json.dumps(measure_part(config, _PART.value)))
    return
  if _COMPARE.value:
    compare_runtimes(config)
    return
  backends = _BACKENDS.value or [config.atari_backend]
  cycles = [measure_cycle(backends) for _ in range(_REPEATS.value)]
  print(compact_json(dict(
      benchmark='throughput',
      machine=f'{platform.machine()}, {os.cpu_count()} cores, no GPU'
      if not tf.config.list_physical_devices('GPU') else platform.machine(),
      cores=_CORES.value or len(os.sched_getaffinity(0)),
      TF_ENABLE_ONEDNN_OPTS=os.environ.get('TF_ENABLE_ONEDNN_OPTS'),
      levels=list(config.levels),
      torso=config.torso,
      num_actors=config.num_actors,
      envs_per_actor=config.envs_per_actor,
      unroll_length=config.unroll_length,
      batch_size=config.batch_size,
      dynamic_batching=config.dynamic_batching,
      free_network=_FREE_NETWORK.value,
      unit=f'frames/s ({config.num_action_repeats} frames per agent step); '
      'each figure is [median, min, max] over the cycles',
      cycles=len(cycles),
      **throughput_summary.summarise(cycles, backends),
  )))


def measure_cycle(backends):
  """One interleaved measurement of every part (E and system per backend),
  each in a fresh process; {name: figures}."""
  cycle = {}
  for backend in backends:
    flags_for_backend = [f'--config.atari_backend={backend}']
    cycle[f'system/{backend}'] = measure_in_subprocess('system',
                                                       flags_for_backend)
    cycle[f'E/{backend}'] = measure_in_subprocess('E', flags_for_backend)
  if _FREE.value:
    cycle['system/free'] = measure_in_subprocess('system_free')
  batch_size = max(1, round(cycle[f'system/{backends[0]}'][
      'inference_batch_size']))
  cycle['I'] = measure_in_subprocess('I', batch_size=batch_size)
  cycle['L'] = measure_in_subprocess('L')
  if _TORCH_PYTHON.value:
    cycle['L/torch'] = measure_torch_learner(_CONFIG.value)
  return cycle


def measure_torch_learner(config):
  """benchmarks/torch_learner.py's figures, in the torch interpreter, on
  the cores the other parts get."""
  cores = _CORES.value
  result = subprocess.run(
      [_TORCH_PYTHON.value, TORCH_LEARNER, f'--seconds={_SECONDS.value}',
       f'--unroll_length={config.unroll_length}',
       f'--batch_size={config.batch_size}'],
      capture_output=True, text=True,
      preexec_fn=(lambda: os.sched_setaffinity(0, range(cores))) if cores
      else None)
  if result.returncode != 0:
    raise RuntimeError(f'{TORCH_LEARNER} failed:\n{result.stderr[-3000:]}')
  return json.loads(result.stdout.strip().splitlines()[-1])


def compact_json(record) -> str:
  """One line per key, so that the figures read as a table."""
  lines = [f'  {json.dumps(key)}: {json.dumps(value)}'
           for key, value in record.items()]
  return '{\n' + ',\n'.join(lines) + '\n}'


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
      unit=f'frames/s ({config.num_action_repeats} frames per agent step)',
      local_fps=round(local['fps']),
      local_learner_idle_fraction=round(local['learner_idle'], 3),
      ray_fps=round(remote['fps']),
      ray_learner_idle_fraction=round(remote['learner_idle'], 3),
      ray_over_local=round(remote['fps'] / local['fps'], 3),
  ), indent=2))


if __name__ == '__main__':
  app.run(main)
