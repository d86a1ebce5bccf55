"""What the learner loop records on the way: frames per level, finished
episodes, its own rates, and the progress line.

    actors ─ on_trajectory ─▶ FrameCounter ─▶ the trajectory queue
           ─ on_episode ────▶ EpisodeLog ──▶ metrics.jsonl, the log line
    learner loop ──────────▶ LoopTimer (frames/s, idle share) ─▶ the log line
"""

import collections
import sys
import threading
import time
from typing import Dict, List

import numpy as np
import tensorflow as tf

from impala_tf.runtime.fleet import TrajectorySink
from impala_tf.runtime.run_writer import RunWriter
from impala_tf.types import Episode, Trajectory


class FrameCounter:
  """Counts each level's frames on the way from the actors to the queue.

  Slow levels (language, large maps) get fewer frames than the round robin
  suggests, which matters when comparing per-level scores.
  """

  def __init__(self, put: TrajectorySink, frames_per_step: int):
    self._put = put
    self._frames_per_step = frames_per_step
    self._lock = threading.Lock()
    self._frames_by_level = collections.Counter()

  def __call__(self, block: Trajectory) -> None:
    frames = (len(block.policy_version) - 1) * self._frames_per_step
    with self._lock:
      for level_name in block.level_name.tolist():
        self._frames_by_level[level_name] += frames
    self._put(block)

  def shares(self) -> Dict[str, float]:
    """Each level's share of the frames counted so far."""
    with self._lock:
      total = sum(self._frames_by_level.values())
      return {level: frames / total
              for level, frames in self._frames_by_level.items()}


class EpisodeLog:
  """Writes each finished episode to the run directory and keeps the recent
  returns for the periodic log line; called from actor threads."""

  def __init__(self, run: RunWriter, frames: tf.Variable, hook=None):
    self._run = run
    self._frames = frames
    self._hook = hook
    self._lock = threading.Lock()
    self._recent: Dict[str, List[float]] = collections.defaultdict(list)
    self.num_episodes = 0

  def __call__(self, episode: Episode) -> None:
    self._run.log('episode', dict(
        frames=int(self._frames.numpy()),
        level=episode.level_name,
        episode_return=episode.episode_return,
        episode_length=episode.episode_length))
    with self._lock:
      self._recent[episode.level_name].append(episode.episode_return)
      self.num_episodes += 1
      if self._hook is not None:
        self._hook.on_episode(episode.level_name, episode.episode_return)

  def take_recent_returns(self) -> Dict[str, float]:
    """Mean return per level since the last call."""
    with self._lock:
      recent = {level: float(np.mean(returns))
                for level, returns in self._recent.items() if returns}
      self._recent.clear()
    return recent


class LoopTimer:
  """Frames per second and the learner's idle share between log lines."""

  def __init__(self, frames: int):
    self._last_log = time.monotonic()
    self._last_frames = frames
    self._waiting = self._busy = 0.0

  def add(self, waiting: float, busy: float) -> None:
    """Seconds spent waiting for a batch, and training on it."""
    self._waiting += waiting
    self._busy += busy

  def seconds_since_log(self, now: float) -> float:
    return now - self._last_log

  def take(self, now: float, frames: int) -> Dict[str, float]:
    """The rates since the last call; starts the next interval."""
    rates = dict(
        fps=(frames - self._last_frames) / (now - self._last_log),
        learner_idle_fraction=self._waiting / max(
            self._waiting + self._busy, 1e-9))
    self._last_log, self._last_frames = now, frames
    self._waiting = self._busy = 0.0
    return rates


def print_progress(record, returns):
  returns_text = '  '.join(f'{level} {value:+.2f}'
                           for level, value in sorted(returns.items()))
  print(f'[{record["frames"] / 1e6:8.3f}M frames] {record["fps"]:7.0f} fps  '
        f'loss {record["total_loss"]:9.3f}  entropy {record["entropy"]:.3f}  '
        f'lag {record["policy_lag"]:.1f}  return {returns_text or "-"}',
        file=sys.stderr, flush=True)
