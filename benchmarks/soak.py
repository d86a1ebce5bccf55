"""A long run under faults: memory, data and checkpoints (issue 22).

Trains (by default the README's Pong command) for ``--minutes`` while it
injects faults on a schedule:

* SIGKILL of a random environment worker process every ``--kill_every_s``;
* environments that raise inside ``step`` now and then (each step fails with
  probability ``--step_failure_probability``; `benchmarks/faults.py`);
* one SIGTERM of the whole run halfway, then the same command again, which
  resumes it.

Every ``--sample_every_s`` it samples the resident memory (RSS) of the
training process and all its descendants. It prints one JSON object: RSS
after the warm-up and at the end of each part and its growth per hour (a
line fitted to the samples), the faults injected and the restarts and
errors the run counted, the frames lost (the steps of unrolls dropped
because of a fault) beside the most the kills could lose (the unrolls in
flight on the killed workers), the frames at the SIGTERM
and at the resume, and the learning curve across the faults.

  python benchmarks/soak.py [--minutes=60] [--logdir=DIR] [--config.x=...]

The training process is this script with ``--part=train``: the same
training as ``python -m impala_tf.train``, with the failing environments
switched on.
"""

import functools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from ml_collections import config_flags
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # For `benchmarks.faults` and `impala_tf`.

from benchmarks.proc_tree import descendants, rss_mib  # pylint: disable=g-import-not-at-top
from impala_tf.results import rundir  # pylint: disable=g-import-not-at-top

_CONFIG = config_flags.DEFINE_config_file(
    'config', os.path.join(REPO, 'paper_configs',
                           'atari_expert_shallow.py:pong'), 'Run config.')
_MINUTES = flags.DEFINE_float('minutes', 60.0, 'How long to train.')
_WARMUP = flags.DEFINE_float('warmup_minutes', 5.0, 'Minutes of each part '
                             'before its first RSS sample counts.')
_KILL_EVERY = flags.DEFINE_float('kill_every_s', 120.0, 'Seconds between '
                                 'SIGKILLs of a random environment worker.')
_FAILURE = flags.DEFINE_float('step_failure_probability', 2e-5, 'Chance '
                              'that an environment step raises.')
_SAMPLE_EVERY = flags.DEFINE_float('sample_every_s', 30.0, 'Seconds between '
                                   'RSS samples.')
_LOGDIR = flags.DEFINE_string('logdir', None, 'Run directory; default: a '
                              'temporary one.')
_PART = flags.DEFINE_enum('part', None, ['train'], 'Internal: be the '
                          'training process.')


def train_with_faulty_environments(config, logdir):
  """The training process: environments fail now and then."""
  # pylint: disable=g-import-not-at-top
  from benchmarks import faults
  from impala_tf.runtime import environment_group
  from impala_tf.runtime import fleet
  from impala_tf.runtime import training
  # pylint: enable=g-import-not-at-top

  def make_faulty_env_fn(*args, **kwargs):
    return functools.partial(faults.make_faulty,
                             environment_group.make_env_fn(*args, **kwargs),
                             _FAILURE.value)

  def make_faulty_vector_fn(*args, **kwargs):
    vector_fn = fleet.make_vector_fn(*args, **kwargs)
    return vector_fn and functools.partial(faults.make_faulty_vector,
                                           vector_fn, _FAILURE.value)

  make_groups = functools.partial(fleet.make_environment_groups,
                                  make_env=make_faulty_env_fn,
                                  make_vector=make_faulty_vector_fn)
  # In the main thread: SIGTERM checkpoints.
  training.train(config, logdir, make_groups=make_groups)


def environment_workers(pid):
  workers = []
  for child in descendants(pid)[1:]:
    try:
      with open(f'/proc/{child}/cmdline', 'rb') as f:
        if b'impala_tf.runtime.env_worker' in f.read():
          workers.append(child)
    except OSError:
      continue
  return workers


def start_training(logdir):
  flag_args = [a for a in sys.argv[1:] if not a.startswith('--logdir')]
  return subprocess.Popen(
      [sys.executable, os.path.abspath(__file__), *flag_args,
       f'--logdir={logdir}', '--part=train'],
      cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_part(logdir, seconds, kill_every_s, part):
  """Trains for ``seconds`` with worker kills; SIGTERM at the end. Returns
  the RSS samples (seconds into the part, MiB) and the kills made."""
  process = start_training(logdir)
  start = time.monotonic()
  samples, kills = [], 0
  next_sample, next_kill = start, start + kill_every_s
  while time.monotonic() - start < seconds:
    now = time.monotonic()
    if process.poll() is not None:
      raise RuntimeError(f'part {part}: training exited with status '
                         f'{process.returncode}')
    if now >= next_sample:
      samples.append((now - start, rss_mib(descendants(process.pid))))
      next_sample += _SAMPLE_EVERY.value
    if now >= next_kill:
      workers = environment_workers(process.pid)
      if workers:
        os.kill(random.choice(workers), signal.SIGKILL)
        kills += 1
      next_kill += kill_every_s
    time.sleep(1.0)
  process.send_signal(signal.SIGTERM)
  process.wait(timeout=300)
  return samples, kills, process.returncode


def growth(samples, warmup_s):
  """RSS after the warm-up, at the end, and its growth per hour (%): the
  slope of a straight line fitted to every sample after the warm-up, so
  that one sample (a worker restarting just then) does not decide it."""
  after = [(t, rss) for t, rss in samples if t >= warmup_s]
  if len(after) < 2:
    return dict(rss_after_warmup_mib=None, rss_end_mib=None,
                growth_percent_per_hour=None)
  times, rss = np.array(after).T
  slope_mib_per_s = np.polyfit(times, rss, 1)[0]
  return dict(rss_after_warmup_mib=round(float(rss[0]), 1),
              rss_end_mib=round(float(rss[-1]), 1),
              rss_max_mib=round(float(rss.max()), 1),
              growth_percent_per_hour=round(float(
                  slope_mib_per_s * 3600 / rss[0] * 100), 2))


def curve(logdir, points=12):
  """(frames, mean return of the last 100 episodes) at evenly spaced
  episodes."""
  returns = [(r['frames'], r['episode_return'])
             for r in rundir.read_metrics(logdir, 'episode')]
  if not returns:
    return []
  marks = np.linspace(0, len(returns) - 1, points).astype(int)
  return [dict(frames=returns[i][0], mean_return_last_100=round(float(
      np.mean([r for _, r in returns[max(0, i - 99):i + 1]])), 2))
          for i in marks]


def summary(logdir, parts):
  train = rundir.read_metrics(logdir, 'train')
  starts = rundir.read_metrics(logdir, 'start')
  # Each process counts from 0: the last record before each start, and the
  # very last, hold each part's totals.
  resume_frames = starts[-1]['frames']
  first_part = [r for r in train if r['frames'] <= resume_frames]
  part_totals = [first_part[-1], train[-1]]
  total = lambda key: sum(r.get(key, 0) for r in part_totals)
  config = _CONFIG.value
  frames_per_step = config.num_action_repeats
  kills = sum(p['kills'] for p in parts)
  return dict(
      frames_at_sigterm=first_part[-1]['frames'],
      frames_at_resume=resume_frames,
      frames_end=train[-1]['frames'],
      worker_kills_injected=kills,
      environment_restarts_seen=total('environment_restarts'),
      environment_errors_seen=total('environment_errors'),
      actor_errors=total('actor_errors'),
      frames_lost=total('dropped_steps') * frames_per_step,
      # The most a kill may lose: the unroll in flight on the killed
      # worker's games.
      frames_in_flight_of_killed_workers=(
          kills * config.envs_per_actor * config.unroll_length *
          frames_per_step),
      exit_status=[p['status'] for p in parts],
      learning_curve=curve(logdir),
  )


def main(argv):
  del argv
  if _PART.value == 'train':
    train_with_faulty_environments(_CONFIG.value, _LOGDIR.value)
    return
  logdir = _LOGDIR.value or tempfile.mkdtemp(prefix='soak_')
  half_s = _MINUTES.value * 60 / 2
  parts = []
  for part in (1, 2):  # SIGTERM halfway, then the same command resumes.
    samples, kills, status = run_part(logdir, half_s, _KILL_EVERY.value, part)
    parts.append(dict(part=part, kills=kills, status=status,
                      **growth(samples, _WARMUP.value * 60)))
  result = dict(
      benchmark='soak', minutes=_MINUTES.value,
      kill_every_s=_KILL_EVERY.value,
      step_failure_probability=_FAILURE.value,
      rss_by_part=[{k: v for k, v in p.items() if k not in ('kills',
                                                             'status')}
                   for p in parts],
      **summary(logdir, parts))
  print(json.dumps(result, indent=2))


if __name__ == '__main__':
  app.run(main)
