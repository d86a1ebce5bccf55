"""Writes a run directory (the format is in `impala_tf.results.rundir`)."""

import json
import os
import threading
import time
from typing import Any, Dict, Sequence

import ml_collections
import tensorflow as tf

from impala_tf.results import rundir


class RunWriter:
  """Writes a run's config, metrics and TensorBoard events.

  ``log`` may be called from several threads (actors log episodes).
  ``wall_time`` in records counts from the first start of the run, across
  resumes, so that curves from a resumed run line up.
  """

  def __init__(self, logdir: str):
    self.logdir = logdir
    os.makedirs(logdir, exist_ok=True)
    self._lock = threading.Lock()
    metrics_path = os.path.join(logdir, rundir.METRICS_FILE)
    self._wall_time_offset = rundir.last_wall_time(logdir)
    self._metrics = open(metrics_path, 'a')
    self._summary_writer = tf.summary.create_file_writer(logdir)
    self._start = time.time()

  def wall_time(self) -> float:
    return self._wall_time_offset + time.time() - self._start

  def write_config(self, config: ml_collections.ConfigDict) -> None:
    with open(os.path.join(self.logdir, rundir.CONFIG_FILE), 'w') as f:
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


def append_records(logdir: str, kind: str,
                   records: Sequence[Dict[str, Any]]) -> None:
  """Appends ``records`` of ``kind`` to the metrics of a run that is not
  training now (an evaluation's), at the run's clock where it stopped."""
  wall_time = round(rundir.last_wall_time(logdir), 3)
  with open(os.path.join(logdir, rundir.METRICS_FILE), 'a') as f:
    for record in records:
      f.write(json.dumps({'kind': kind, 'wall_time': wall_time, **record})
              + '\n')
