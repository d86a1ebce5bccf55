"""Evaluate a trained agent from its run directory.

  python -m impala_tf.evaluate --logdir=runs/pong [--episodes_per_level=N] \
      [--video=K]

Restores the newest readable checkpoint (falling back to the one before a
damaged one, as training does: `runtime.checkpoints`) and plays with the
actor's own stepping: the recurrent state is carried, actions are sampled
from the policy (as in the paper's evaluation), environments run in
evaluation mode (on Atari: whole games, not episodes cut at a life loss).
Procgen runs are evaluated twice: on the levels they trained on and on the
test levels (all of them), Procgen's generalisation protocol. Writes
``evaluation.json`` into the run directory (per level, the returns of every
episode and their mean) and appends each level's mean to ``metrics.jsonl``.
"""

import collections
import copy
import functools
import json
import math
import os
import shutil
import threading
from typing import Dict, List, Optional

from absl import app
from absl import flags
import ml_collections
import numpy as np

from impala_tf import cli
from impala_tf.envs import video
from impala_tf.results import rundir as rundir_lib
from impala_tf.runtime import fleet
from impala_tf.runtime import run_writer
from impala_tf.runtime.checkpoints import RestoredPolicy, restore_run_policy
from impala_tf.runtime.local import LocalActors
from impala_tf.types import Episode


# Evaluation episodes per level in the paper: §5.3.2 (Atari), §5.3.1 (DMLab).
PAPER_EPISODES = {'atari': 200, 'dmlab': 500}


def evaluate(logdir: str,
             episodes_per_level: int,
             config: Optional[ml_collections.ConfigDict] = None,
             videos_per_level: int = 0) -> Dict[str, object]:
  """Plays ``episodes_per_level`` episodes per level with the newest policy
  that can be read, on each of the run's level distributions
  (`evaluation_splits`).

  Args:
    logdir: a run directory with a checkpoint.
    episodes_per_level: how many episodes to record on each level.
    config: the run's config; read from ``logdir`` if None.
    videos_per_level: write the first this many episodes of every level
      (of the levels it trained on) as MP4 under ``<logdir>/videos/``
      (`envs.video`), replacing what an earlier evaluation wrote there.

  Returns:
    What is also written to ``<logdir>/evaluation.json``: the checkpoint's
    name and frames, and for each split (``levels``; for Procgen also
    ``test_levels``) ``{level: {'returns': [...], 'mean_return': float,
    'episodes': int}}``. Each environment plays the same number of
    episodes, so a level may get a few more than ``episodes_per_level``.
    Every level's mean is also appended to ``metrics.jsonl`` as an
    "evaluation" record, so that evaluations after each part of a run make
    a curve (`results.curves.evaluation_curve`).
  """
  if episodes_per_level < 1:
    raise ValueError(
        f'episodes_per_level must be positive, got {episodes_per_level}')
  if not 0 <= videos_per_level <= episodes_per_level:
    raise ValueError(f'--video={videos_per_level}: give 0 to '
                     f'{episodes_per_level} (the episodes per level)')
  config = config or rundir_lib.read_config(logdir)
  restored = restore_run_policy(logdir, config)
  results = dict(checkpoint=os.path.basename(restored.checkpoint),
                 frames=restored.frames)
  for split, split_config in evaluation_splits(config).items():
    returns = _play(split_config, restored, episodes_per_level,
                    os.path.join(logdir, 'videos'),
                    videos_per_level if split == 'levels' else 0)
    results[split] = {
        level: dict(returns=level_returns,
                    mean_return=float(np.mean(level_returns)),
                    episodes=len(level_returns))
        for level, level_returns in returns.items()}
  _write_results(logdir, results)
  return results


def evaluation_splits(
    config: ml_collections.ConfigDict) -> Dict[str, ml_collections.ConfigDict]:
  """The level distributions a run is evaluated on, by their key in
  evaluation.json: ``levels``, the one it trained on; for Procgen also
  ``test_levels``, every level of its games (``num_levels=0``, the
  generalisation protocol's test: levels drawn from all 2^31 seeds, so
  almost never one of the few hundred it trained on)."""
  splits = {'levels': config}
  if config.env == 'procgen':
    test = copy.deepcopy(config)
    test.procgen.num_levels = 0
    splits['test_levels'] = test
  return splits


def _play(config: ml_collections.ConfigDict, restored: RestoredPolicy,
          episodes_per_level: int, videos: str,
          videos_per_level: int) -> Dict[str, List[float]]:
  """The returns of ``episodes_per_level`` episodes of every level of
  ``config`` played by ``restored``'s policy."""
  quota = _EpisodeQuota(config, episodes_per_level)
  actors = LocalActors(fleet.FleetSetup(
      config, restored.agent, restored.version, restored.spec,
      on_trajectory=lambda trajectory: None,
      on_episode=quota.on_episode, training=False,
      make_groups=_recording_groups(videos, videos_per_level)))
  try:
    actors.start(quota.done)
    quota.done.wait()
  finally:
    quota.done.set()
    actors.close()
    _remove_claims(videos)
  return quota.returns


def _write_results(logdir: str, results: Dict[str, object]) -> None:
  """``evaluation.json``, and one "evaluation" record a level and split in
  ``metrics.jsonl``."""
  with open(os.path.join(logdir, rundir_lib.EVALUATION_FILE), 'w') as f:
    json.dump(results, f, indent=2)
  records = []
  for split, name in rundir_lib.EVALUATION_SPLITS.items():
    for level, result in results.get(split, {}).items():
      records.append(dict(
          frames=results['frames'], checkpoint=results['checkpoint'],
          split=name, level=level,
          mean_return=result['mean_return'], episodes=result['episodes']))
  run_writer.append_records(logdir, 'evaluation', records)


def _recording_groups(directory: str, videos_per_level: int):
  """The fleet's environment groups, recording ``videos_per_level``
  episodes of every level into ``directory`` (emptied first) if that is
  more than 0."""
  if not videos_per_level:
    return fleet.make_environment_groups
  shutil.rmtree(directory, ignore_errors=True)
  os.makedirs(directory)
  return functools.partial(
      fleet.make_environment_groups,
      make_env=functools.partial(video.make_recording_env_fn,
                                 directory=directory,
                                 episodes=videos_per_level))


def _remove_claims(directory: str) -> None:
  """The slot files the recording environments leave (`envs.video`)."""
  if os.path.isdir(directory):
    for name in os.listdir(directory):
      if name.endswith('.claim'):
        os.remove(os.path.join(directory, name))


class _EpisodeQuota:
  """Records the same number of episodes from every environment, then sets
  ``done``. Taking the first N episodes to finish instead would favour short
  episodes (on Pong: the quick losses)."""

  def __init__(self, config: ml_collections.ConfigDict,
               episodes_per_level: int):
    self._envs_per_level = collections.Counter(
        fleet.level_of_environment(config, i)
        for i in range(config.num_actors * config.envs_per_actor))
    self._quota = {level: math.ceil(episodes_per_level / count)
                   for level, count in self._envs_per_level.items()}
    self.returns: Dict[str, List[float]] = {
        level: [] for level in self._envs_per_level}
    self._played = collections.Counter()
    self._lock = threading.Lock()
    self.done = threading.Event()

  def on_episode(self, episode: Episode) -> None:
    """An actor's sink: keeps the episode if its environment is short."""
    with self._lock:
      if self._played[episode.env_index] < self._quota[episode.level_name]:
        self._played[episode.env_index] += 1
        self.returns[episode.level_name].append(episode.episode_return)
      if all(len(self.returns[level]) >= self._quota[level] * count
             for level, count in self._envs_per_level.items()):
        self.done.set()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  args = flags.FLAGS
  config = rundir_lib.read_config(args.logdir)
  if args.num_actors is not None:
    config.num_actors = args.num_actors
  episodes = args.episodes_per_level or PAPER_EPISODES.get(config.env, 100)
  results = evaluate(args.logdir, episodes, config, args.video)
  for split, name in rundir_lib.EVALUATION_SPLITS.items():
    for level, result in results.get(split, {}).items():
      print(f'{level} ({name} levels): mean return '
            f'{result["mean_return"]:.2f} over {result["episodes"]} episodes')


if __name__ == '__main__':
  # Flags live here, not at import: library modules must not claim names.
  flags.DEFINE_string('logdir', None, 'The run directory to evaluate.')
  flags.DEFINE_integer('episodes_per_level', None,
                       'Episodes to play on each level (at least); default: '
                       'the paper\'s, 200 on Atari (§5.3.2), 500 on DMLab '
                       '(§3.1), 100 elsewhere.')
  flags.DEFINE_integer('num_actors', None, 'Environment groups to play in '
                       "parallel; default: the run's num_actors.")
  flags.DEFINE_integer('video', 0, 'Write the first this many episodes of '
                       'every level as MP4 under <logdir>/videos/ (the '
                       "environment's full-colour screen; the file name "
                       'gives the level and the return).')
  flags.mark_flags_as_required(['logdir'])
  # Evaluation is all input: a run directory, its config and checkpoint.
  cli.run(main, only_reads_input=True)
