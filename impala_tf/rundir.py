"""The run directory: the one format tables, notebooks and tools read.

    <logdir>/config.json      the resolved config
    <logdir>/metrics.jsonl    one JSON object a line, with a "kind":
                              "train": frames, wall_time, fps, losses, ...
                              "episode": frames, wall_time, level,
                                         episode_return, episode_length
    <logdir>/events.*         TensorBoard scalars (the "train" records)
    <logdir>/checkpoints/     tf.train.CheckpointManager checkpoints
    <logdir>/evaluation.json  written by impala_tf.evaluate:
                              {"checkpoint": name, "levels": {level:
                               {"returns": [...], "mean_return": x,
                                "episodes": n}}}
"""

import json
import os
import threading
import time
from typing import Any, Dict

import ml_collections
import tensorflow as tf

from impala_tf import config as config_lib

CONFIG_FILE = 'config.json'
METRICS_FILE = 'metrics.jsonl'
CHECKPOINT_DIR = 'checkpoints'
EVALUATION_FILE = 'evaluation.json'


class RunDirectory:
  """Writes a run's config, metrics and TensorBoard events.

  ``log`` may be called from several threads (actors log episodes).
  ``wall_time`` in records counts from the first start of the run, across
  resumes, so that curves from a resumed run line up.
  """

  def __init__(self, logdir: str):
    self.logdir = logdir
    os.makedirs(logdir, exist_ok=True)
    self._lock = threading.Lock()
    self._metrics = open(os.path.join(logdir, METRICS_FILE), 'a')
    self._summary_writer = tf.summary.create_file_writer(logdir)
    self._wall_time_offset = _last_wall_time(os.path.join(logdir, METRICS_FILE))
    self._start = time.time()

  @property
  def checkpoint_dir(self) -> str:
    return os.path.join(self.logdir, CHECKPOINT_DIR)

  def wall_time(self) -> float:
    return self._wall_time_offset + time.time() - self._start

  def write_config(self, config: ml_collections.ConfigDict) -> None:
    with open(os.path.join(self.logdir, CONFIG_FILE), 'w') as f:
      f.write(config.to_json_best_effort(indent=2, sort_keys=True))

  def log(self, kind: str, record: Dict[str, Any]) -> None:
    record = {'kind': kind, 'wall_time': round(self.wall_time(), 3), **record}
    with self._lock:
      self._metrics.write(json.dumps(record) + '\n')
      self._metrics.flush()
      if kind == 'train':
        with self._summary_writer.as_default(step=int(record['frames'])):
          for key, value in record.items():
            if isinstance(value, (int, float)) and key != 'frames':
              tf.summary.scalar(key, value)

  def close(self) -> None:
    with self._lock:
      self._metrics.close()
      self._summary_writer.close()


def read_config(logdir: str) -> ml_collections.ConfigDict:
  """The run's config on top of today's defaults, so that a run written
  before a field existed still loads (with that field's default)."""
  config = config_lib.base_config()
  with open(os.path.join(logdir, CONFIG_FILE)) as f:
    config.update(json.load(f))
  return config


def read_metrics(logdir: str, kind: str = None):
  """The records of metrics.jsonl, optionally only those of one kind."""
  with open(os.path.join(logdir, METRICS_FILE)) as f:
    records = [json.loads(line) for line in f if line.strip()]
  return [r for r in records if kind is None or r['kind'] == kind]


def read_evaluation(logdir: str) -> Dict[str, Any]:
  """evaluation.json (format above); a clear error if the run has none."""
  path = os.path.join(logdir, EVALUATION_FILE)
  if not os.path.exists(path):
    raise FileNotFoundError(
        f'{path} is missing: run python -m impala_tf.evaluate '
        f'--logdir={logdir} first')
  with open(path) as f:
    return json.load(f)


def _last_wall_time(path: str) -> float:
  if not os.path.exists(path):
    return 0.0
  last = 0.0
  with open(path) as f:
    for line in f:
      if line.strip():
        last = json.loads(line).get('wall_time', last)
  return last
