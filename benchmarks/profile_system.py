"""Where the learner process's time goes in a whole-system run (issue 18).

Runs the system part of `benchmarks/throughput.py` (the same training, the
same config flags) and, after its warm-up, samples it for ``--seconds`` in
three ways at once:

* py-spy with idle frames: for each Python thread of the learner process,
  the share of its wall time in each activity (train step, waiting for
  data, inference, waiting for the environment processes, unpickling, ...);
* py-spy ``--gil``: which of those activities hold the GIL, and how much of
  the time no Python thread holds it;
* the CPU time of every thread (``/proc/PID/task``), grouped by the kind
  of Python thread py-spy saw with that id (the rest are TensorFlow's own
  native threads, which run the train step's and the inference's
  kernels), and of the environment worker processes: where the machine's
  cores go.

Sampling starts ``--warmup`` seconds after the worker processes exist.
``--free_environments`` profiles the system with environments that cost
nothing (`benchmarks/free_atari.py`), ``--free_network`` with a network that
costs nothing (`benchmarks/free_network.py`); with both, what is left is the
runtime's own. Per frame of the system's rate in the same window, it reports
the learner process's CPU µs by kind of thread (``cpu_us_per_frame``) and
the µs of GIL held by any of its Python threads (``gil_us_per_frame``): one
learner process cannot take more than 10⁶ / gil_us_per_frame frames/s,
however many cores it is given. ``--config.runtime=ray`` profiles the Ray
runtime's learner process the same way (its child processes are then Ray's
as well as the environments').

  python benchmarks/profile_system.py [--seconds=30] [--warmup=20] \\
      [--config.atari_backend=gymnasium ...]

Prints one JSON object. Needs py-spy (requirements.txt) and permission to
read another process's memory (the default for a child process on Linux).
"""

import collections
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
from ml_collections import config_flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from benchmarks import proc_tree  # pylint: disable=g-import-not-at-top

# Parsed here only so that the --config flags are accepted; throughput.py,
# which gets them as they were given, builds the run from them.
config_flags.DEFINE_config_file(
    'config', os.path.join(REPO, 'paper_configs',
                           'atari_expert_shallow.py:pong'),
    'Run config, as for benchmarks/throughput.py.')
_SECONDS = flags.DEFINE_float('seconds', 30.0, 'Sampling time.')
_WARMUP = flags.DEFINE_float('warmup', 20.0, 'Seconds of training before '
                             'sampling starts.')
_RATE = flags.DEFINE_integer('rate', 100, 'py-spy samples per second.')
_RAW_DIR = flags.DEFINE_string('raw_dir', None, "Keep py-spy's raw "
                               'recordings (wall, gil) here, for a '
                               'flame graph; default: not kept.')
_FREE = flags.DEFINE_bool('free_environments', False, 'Profile the system '
                          'with environments that cost nothing '
                          '(benchmarks/free_atari.py).')
_FREE_NETWORK = flags.DEFINE_bool('free_network', False, 'Profile the system '
                                  'with a network that costs nothing '
                                  '(benchmarks/free_network.py).')
_OUTPUT = flags.DEFINE_string('output', None, 'Also write the JSON here.')
THROUGHPUT = os.path.join(REPO, 'benchmarks', 'throughput.py')

# (activity, patterns): a sample belongs to the first activity one of whose
# patterns occurs in its stack (outermost frame first). The thread decides
# which list applies.
_ACTIVITIES = {
    'learner (main thread)': [
        ('train step', ['train_step']),
        ('waiting for data', ['iterator_get_next', 'OwnedIterator']),
        ('logging and checkpoints', ['_log ', 'save_checkpoint', 'write']),
        ('other', ['']),
    ],
    'inference (dynamic_batcher)': [
        ('waiting for requests', ['Queue.get']),
        ('network call', ['Function.__call__', 'policy ']),
        ('batching and splitting arrays', ['']),
    ],
    'actor threads': [
        ('waiting for inference', ['DynamicBatcher.__call__']),
        ('waiting for the environment processes',
         ['_poll ', 'poll (', 'select ']),
        ('receiving and unpickling steps', ['recv']),
        ('pickling and sending actions', ['send']),
        ('stacking unrolls into trajectories', ['stack', 'map_structure']),
        ('enqueueing trajectories', ['put', 'FrameCounter']),
        ('other', ['']),
    ],
    'Ray collector': [
        ('waiting for unrolls', ['wait']),
        ('receiving and deserialising unrolls', ['get']),
        ('enqueueing trajectories', ['put', 'FrameCounter']),
        ('other', ['']),
    ],
    'other Python threads': [('all', [''])],
}


def thread_kind(name: str) -> str:
  if name == 'MainThread':
    return 'learner (main thread)'
  if name == 'dynamic_batcher':
    return 'inference (dynamic_batcher)'
  if name.startswith('actor_'):
    return 'actor threads'
  if name == 'ray_collector':
    return 'Ray collector'
  return 'other Python threads'


def activity(kind: str, stack: str) -> str:
  for name, patterns in _ACTIVITIES[kind]:
    if any(p in stack for p in patterns):
      return name
  return 'other'


def read_raw(path):
  """py-spy's raw (collapsed) output → [(thread id, thread name, stack,
  count)]."""
  samples = []
  with open(path) as f:
    for line in f:
      stack, _, count = line.rstrip('\n').rpartition(' ')
      match = re.match(r'thread \((\d+)\)(?:: ([^;]*))?;?(.*)', stack)
      if match and count.isdigit():
        samples.append((int(match.group(1)), match.group(2) or '',
                        match.group(3), int(count)))
  return samples


def breakdown(samples, per_thread_total):
  """{thread kind: {activity: share}}; shares of
  ``per_thread_total(counter)`` samples (``counter``: that kind's
  activities)."""
  counts = collections.defaultdict(collections.Counter)
  for _, name, stack, count in samples:
    kind = thread_kind(name)
    counts[kind][activity(kind, stack)] += count
  return {kind: {a: round(c / per_thread_total(counter), 3)
                 for a, c in counter.most_common()}
          for kind, counter in counts.items()}


def thread_cpu(pid):
  """{thread id: CPU seconds} over the threads of ``pid``."""
  cpu = {}
  ticks = os.sysconf('SC_CLK_TCK')
  for tid in os.listdir(f'/proc/{pid}/task'):
    try:
      with open(f'/proc/{pid}/task/{tid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
      cpu[int(tid)] = (int(fields[11]) + int(fields[12])) / ticks
    except OSError:
      continue
  return cpu


def wait_for_workers(pid, timeout_s=300):
  """The environment worker processes of ``pid``, once it has started
  them (training starts right after)."""
  deadline = time.monotonic() + timeout_s
  while time.monotonic() < deadline:
    workers = proc_tree.descendants(pid)[1:]
    if workers:
      return workers
    time.sleep(0.5)
  raise RuntimeError(f'no environment workers after {timeout_s} s')


def main(argv):
  del argv
  py_spy = shutil.which('py-spy') or os.path.join(
      os.path.dirname(sys.executable), 'py-spy')
  passed = [a for a in sys.argv[1:] if a.startswith('--config')]
  seconds = _SECONDS.value
  system = subprocess.Popen(
      [sys.executable, THROUGHPUT, *passed,
       '--part=system_free' if _FREE.value else '--part=system',
       *(['--free_network'] if _FREE_NETWORK.value else []),
       f'--warmup={_WARMUP.value}', f'--seconds={seconds + 30}'],
      cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
  try:
    wait_for_workers(system.pid)
    time.sleep(_WARMUP.value)  # Tracing, queues filling: the warm-up.
    # Listed after the warm-up: Ray's actors start their workers late.
    workers = proc_tree.descendants(system.pid)[1:]
    cpu_before = thread_cpu(system.pid)
    workers_before = proc_tree.cpu_seconds(workers)
    with tempfile.TemporaryDirectory() as tmp:
      tmp = _RAW_DIR.value or tmp
      os.makedirs(tmp, exist_ok=True)
      recordings = {}
      for mode, extra in (('wall', ['--idle']), ('gil', ['--gil'])):
        path = os.path.join(tmp, mode)
        recordings[mode] = (path, subprocess.Popen(
            [py_spy, 'record', '--pid', str(system.pid), '--duration',
             str(int(seconds)), '--rate', str(_RATE.value), '--format', 'raw',
             '--threads', '--nonblocking', '-o', path, *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
      for path, process in recordings.values():
        if process.wait() != 0:
          raise RuntimeError(f'py-spy failed: {process.stderr.read()[-2000:]}')
      cpu_after = thread_cpu(system.pid)
      workers_cpu = proc_tree.cpu_seconds(workers) - workers_before
      wall = read_raw(recordings['wall'][0])
      gil = read_raw(recordings['gil'][0])
  finally:
    system.wait(timeout=600)
  kind_of_thread = {tid: thread_kind(name) for tid, name, _, _ in wall}
  cpu_by_kind = collections.Counter()
  for tid, seconds_used in cpu_after.items():
    cpu_by_kind[kind_of_thread.get(
        tid, 'native threads (TensorFlow kernels, tf.data)')] += (
            seconds_used - cpu_before.get(tid, 0.0))
  expected = seconds * _RATE.value  # Samples per thread over the window.
  gil_share = sum(c for *_, c in gil) / expected
  system_figures = json.loads(system.stdout.read().strip().splitlines()[-1])
  frames = system_figures['fps'] * seconds  # In the sampled window.
  record = dict(
      benchmark='profile_system',
      machine=f'{platform.machine()}, {os.cpu_count()} cores',
      config_flags=passed,
      free_environments=_FREE.value,
      free_network=_FREE_NETWORK.value,
      seconds=seconds,
      frames_per_second=round(system_figures['fps']),
      gil_us_per_frame=round(gil_share * seconds * 1e6 / frames, 2),
      cpu_us_per_frame=dict(
          learner_process=round(sum(cpu_by_kind.values()) * 1e6 / frames, 2),
          **{k: round(v * 1e6 / frames, 2)
             for k, v in cpu_by_kind.most_common()},
          child_processes=round(workers_cpu * 1e6 / frames, 2)),
      system=system_figures,
      wall_share_by_thread=breakdown(
          wall, lambda counter: sum(counter.values())),
      gil_share_of_time=breakdown(gil, lambda counter: expected),
      gil_free_share=round(1 - gil_share, 3),
      threads_per_kind=dict(collections.Counter(kind_of_thread.values())),
      cpu_seconds=dict(
          available=round(seconds * len(os.sched_getaffinity(0)), 1),
          **{k: round(v, 1) for k, v in cpu_by_kind.most_common()},
          child_processes=round(workers_cpu, 1)),
  )
  text = json.dumps(record, indent=2)
  print(text)
  if _OUTPUT.value:
    os.makedirs(os.path.dirname(os.path.abspath(_OUTPUT.value)),
                exist_ok=True)
    with open(_OUTPUT.value, 'w') as f:
      f.write(text + '\n')


if __name__ == '__main__':
  app.run(main)
