"""The run directory: the one format tables, notebooks and tools read.

This module reads it and imports no TensorFlow; the training process writes
it with `impala_tf.runtime.run_writer.RunWriter`.

    <logdir>/config.json      the resolved config
    <logdir>/metrics.jsonl    one JSON object a line, with a "kind":
                              "train": frames, wall_time, fps, losses, ...
                              "episode": frames, wall_time, level,
                                         episode_return, episode_length
                              "start": frames, wall_time, command, commit
                                       (one per start or resume)
                              "evaluation": frames, wall_time, checkpoint,
                                       split ("train", "test"), level,
                                       mean_return, episodes (one per
                                       level and split of an evaluation)
    <logdir>/events.*         TensorBoard scalars (the "train" records)
    <logdir>/checkpoints/     tf.train.CheckpointManager checkpoints
    <logdir>/evaluation.json  written by impala_tf.evaluate:
                              {"checkpoint": name, "frames": n,
                               "levels": {level: {"returns": [...],
                                "mean_return": x, "episodes": n}},
                               "test_levels": {...} (Procgen: all levels)}
"""

import json
import logging
import os
import shlex
import subprocess
import sys
from typing import Any, Dict, Optional, Sequence

import ml_collections

from impala_tf import config as config_lib

# The package's directory, and the checkout (or site-packages) holding it.
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_ROOT = os.path.dirname(PACKAGE_DIR)

CONFIG_FILE = 'config.json'
METRICS_FILE = 'metrics.jsonl'
CHECKPOINT_DIR = 'checkpoints'
EVALUATION_FILE = 'evaluation.json'
# evaluation.json's keys of the level distributions a run is evaluated on,
# and the name of each in the "evaluation" records: the levels it trained
# on, and (Procgen) all levels.
EVALUATION_SPLITS = {'levels': 'train', 'test_levels': 'test'}
# Written by `impala_tf.sweep` into a sweep run that spent its frame budget.
SWEEP_DONE_FILE = 'sweep_done.json'


def command_line(argv: Optional[Sequence[str]] = None) -> str:
  """The command that started this process, as a user would type it:
  ``python -m impala_tf.train --config=...`` (no interpreter or file path,
  which name this machine)."""
  argv = list(sys.argv if argv is None else argv)
  program = argv[0] if argv else ''
  if program.endswith('.py') and os.path.abspath(program).startswith(
      PACKAGE_DIR + os.sep):
    module = os.path.relpath(os.path.abspath(program)[:-3], SOURCE_ROOT)
    head = ['python', '-m', module.replace(os.sep, '.')]
  else:
    head = ['python', os.path.basename(program)] if program else ['python']
  return shlex.join(head + argv[1:])


def source_commit() -> str:
  """The git commit of the code this process runs, with ``-dirty`` when
  tracked files differ from it; 'unknown' outside a git checkout."""
  git = lambda *args: subprocess.run(
      ['git', '-C', SOURCE_ROOT, *args], capture_output=True, text=True,
      timeout=10)
  try:
    head = git('rev-parse', 'HEAD')
    if head.returncode != 0:
      return 'unknown'
    dirty = git('status', '--porcelain', '--untracked-files=no').stdout.strip()
  except (OSError, subprocess.TimeoutExpired):
    return 'unknown'
  return head.stdout.strip() + ('-dirty' if dirty else '')


def _run_file(logdir: str, name: str) -> str:
  """The path of a run's file; FileNotFoundError saying what is wrong."""
  if not os.path.isdir(logdir):
    raise FileNotFoundError(f'{logdir} is not a directory')
  path = os.path.join(logdir, name)
  if not os.path.exists(path):
    raise FileNotFoundError(f'{logdir} is not a run directory: it has no '
                            f'{name}')
  return path


def runs_below(directory: str) -> list:
  """The run directories below ``directory``, sorted by path: a sweep's or a
  population's runs, and also sweeps repeated over seeds
  (``directory/seed_0/<run>``, ...). A run's own subdirectories (a
  multi-worker learner's ``worker_<i>/``) are part of that run, not runs."""
  found = []
  for name in sorted(os.listdir(directory)):
    path = os.path.join(directory, name)
    if os.path.exists(os.path.join(path, METRICS_FILE)):
      found.append(path)
    elif os.path.isdir(path):
      found.extend(runs_below(path))
  return found


def is_sweep_run_done(logdir: str) -> bool:
  """Whether ``logdir``, a run of a sweep, spent its frame budget."""
  return os.path.exists(os.path.join(logdir, SWEEP_DONE_FILE))


def read_config(logdir: str) -> ml_collections.ConfigDict:
  """The run's config on top of today's defaults, so that a run written
  before a field existed still loads (with that field's default)."""
  config = config_lib.base_config()
  with open(_run_file(logdir, CONFIG_FILE)) as f:
    config.update(json.load(f))
  return config


def _records(path: str):
  """The JSON objects of a .jsonl file. A line that is not one (the last
  line of a run killed while writing it) is skipped with a warning."""
  records = []
  with open(path) as f:
    for number, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        records.append(json.loads(line))
      except json.JSONDecodeError:
        logging.warning('%s line %d is not a JSON record; skipped', path,
                        number)
  return records


def read_metrics(logdir: str, kind: str = None):
  """The records of metrics.jsonl, optionally only those of one kind.

  A part that resumed from a checkpoint at F frames (its "start" record)
  replays what the part before it logged past F: those records are dropped,
  so that every frame count appears once, as the run that went on had it.
  A part cut before its first checkpoint starts again at 0 and drops all of
  its predecessor's records.
  """
  records = []
  for record in _records(_run_file(logdir, METRICS_FILE)):
    if record.get('kind') == 'start':
      records = [r for r in records if r.get('kind') == 'start' or
                 r.get('frames', 0) <= record['frames']]
    records.append(record)
  return [r for r in records if kind is None or r.get('kind') == kind]


def read_evaluation(logdir: str) -> Dict[str, Any]:
  """evaluation.json (format above); a clear error if the run has none."""
  path = os.path.join(logdir, EVALUATION_FILE)
  if not os.path.exists(path):
    raise FileNotFoundError(
        f'{path} is missing: run python -m impala_tf.evaluate '
        f'--logdir={logdir} first')
  with open(path) as f:
    return json.load(f)


def last_wall_time(logdir: str) -> float:
  """The wall time of the run's last record (0 for a new run)."""
  path = os.path.join(logdir, METRICS_FILE)
  if not os.path.exists(path):
    return 0.0
  last = 0.0
  for record in _records(path):
    last = record.get('wall_time', last)
  return last
