"""What a machine with a GPU does with this project, in one short run.

Measures, each part in a fresh process of `benchmarks/throughput.py` and
within a time budget (default 450 s, so that the whole check fits in
8 minutes with its start-up):

  L shallow, L deep      the learner step alone on synthetic batches (Pong,
                         Table G.1; on the GPU where TensorFlow sees one);
  system shallow, deep   the whole system on Pong with all the machine's
                         cores: one worker process of 24 games per core
                         (vector backend), every actor's calls batched
                         together;
  system mirrored        the shallow system under strategy='mirrored' over
                         every GPU it finds (on a machine without one,
                         over the CPU, so that the path is exercised).

Writes one JSON: the machine (CPU, cores, the GPUs TensorFlow sees, or that
it sees none), each part's figures, or the error that stopped it, and the
seconds each took. Run by `benchmarks/gpu_check.sh`; runs end to end on a
machine without a GPU too, and says so.

  python benchmarks/gpu_check.py --output=gpu_check.json [--budget_s=450]
"""

import json
import os
import platform
import subprocess
import sys
import time

from absl import app
from absl import flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THROUGHPUT = os.path.join(REPO, 'benchmarks', 'throughput.py')
SHALLOW = 'paper_configs/atari_expert_shallow.py:pong'
DEEP = 'paper_configs/atari_expert_deep.py:pong'
GAMES_PER_WORKER = 24

_OUTPUT = flags.DEFINE_string('output', 'gpu_check.json', 'The JSON to write.')
_BUDGET = flags.DEFINE_float('budget_s', 450.0, 'Seconds for all parts; a '
                             'part that would start with too little left is '
                             'skipped, and the JSON says so.')
_SECONDS = flags.DEFINE_float('seconds', 20.0, 'Measuring time of each part.')


def sized_to_cores(cores: int):
  """Config flags for a system that uses every core: a worker process per
  core (at least 2), all of their games in one inference batch."""
  workers = max(2, cores)
  return [f'--config.num_actors={workers}',
          f'--config.envs_per_actor={GAMES_PER_WORKER}',
          f'--config.max_inference_batch_size={workers * GAMES_PER_WORKER}',
          '--config.atari_backend=vector']


def parts(cores: int):
  """(name, throughput.py arguments, seconds the part needs at least)."""
  system = sized_to_cores(cores)
  seconds = _SECONDS.value
  return [
      ('L shallow', [f'--config={SHALLOW}', '--part=L'], seconds + 30),
      ('L deep', [f'--config={DEEP}', '--part=L'], seconds + 40),
      ('system shallow', [f'--config={SHALLOW}', '--part=system', *system],
       seconds + 60),
      ('system deep', [f'--config={DEEP}', '--part=system', *system],
       seconds + 70),
      ('system mirrored', [f'--config={SHALLOW}', '--part=system', *system,
                           '--config.strategy=mirrored'], seconds + 60),
  ]


def run_part(arguments, timeout_s):
  """throughput.py's figures for one part, or {'error': ...}."""
  command = [sys.executable, THROUGHPUT, *arguments,
             f'--seconds={_SECONDS.value}', '--warmup=15']
  try:
    result = subprocess.run(command, cwd=REPO, capture_output=True,
                            text=True, timeout=timeout_s)
  except subprocess.TimeoutExpired:
    return dict(error=f'did not finish in {timeout_s:.0f} s')
  if result.returncode != 0:
    return dict(error=result.stderr.strip().splitlines()[-1:] or
                [f'exit status {result.returncode}'])
  return json.loads(result.stdout.strip().splitlines()[-1])


def machine():
  """The CPU, its cores and the GPUs TensorFlow sees (in a fresh process,
  so that this one stays light)."""
  cpu = platform.processor() or platform.machine()
  try:
    with open('/proc/cpuinfo') as f:
      names = [line.split(':', 1)[1].strip() for line in f
               if line.startswith('model name')]
    cpu = names[0] if names else cpu
  except OSError:
    pass
  probe = subprocess.run(
      [sys.executable, '-c',
       'import json, impala_tf, tensorflow as tf; print(json.dumps(dict('
       'tensorflow=tf.__version__, gpus=[tf.config.experimental.'
       'get_device_details(d).get("device_name", d.name) for d in '
       'tf.config.list_physical_devices("GPU")])))'],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  if probe.returncode != 0:
    seen = dict(tensorflow=None, gpus=[],
                error=(probe.stderr.strip().splitlines() or ['?'])[-1])
  else:
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
  return dict(cpu=cpu, cores=len(os.sched_getaffinity(0)), **seen,
              gpu_found=bool(seen['gpus']))


def main(argv):
  del argv
  start = time.monotonic()
  record = dict(benchmark='gpu_check', machine=machine(),
                unit='frames/s (4 frames per agent step)', parts={})
  if not record['machine']['gpu_found']:
    record['note'] = ('no GPU found: every part ran on the CPU, so these '
                      'figures only show that the check runs end to end')
  cores = record['machine']['cores']
  record['system_flags'] = sized_to_cores(cores)
  for name, arguments, needs_s in parts(cores):
    left = _BUDGET.value - (time.monotonic() - start)
    if left < needs_s:
      record['parts'][name] = dict(
          skipped=f'{left:.0f} s left of the budget, {needs_s:.0f} s needed')
      continue
    part_start = time.monotonic()
    figures = run_part(arguments, timeout_s=left)
    figures['seconds_taken'] = round(time.monotonic() - part_start, 1)
    record['parts'][name] = figures
    print(f'{name}: {figures}', file=sys.stderr, flush=True)
  record['seconds_taken'] = round(time.monotonic() - start, 1)
  os.makedirs(os.path.dirname(os.path.abspath(_OUTPUT.value)), exist_ok=True)
  with open(_OUTPUT.value, 'w') as f:
    json.dump(record, f, indent=2)
    f.write('\n')
  print(json.dumps(record, indent=2))


if __name__ == '__main__':
  app.run(main)
