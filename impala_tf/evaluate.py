"""Evaluate a trained agent from its run directory.

  python -m impala_tf.evaluate --logdir=runs/pong [--episodes_per_level=N]

Restores the latest checkpoint and plays with the actor's own stepping: the
recurrent state is carried, actions are sampled from the policy (as in the
paper's evaluation), environments run in evaluation mode (on Atari: whole
games, not episodes cut at a life loss). Writes ``evaluation.json`` into the
run directory: per level, the returns of every episode and their mean.
"""

import collections
import json
import math
import os
import threading
from typing import Dict, List, Optional

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import ml_collections
import numpy as np
import tensorflow as tf

from impala_tf import cli
from impala_tf import rundir as rundir_lib
from impala_tf.learner import restore_policy
from impala_tf.runtime import fleet
from impala_tf.runtime.local import LocalActors
from impala_tf.runtime.env_process import Episode


# Evaluation episodes per level in the paper: §5.3.2 (Atari), §5.3.1 (DMLab).
PAPER_EPISODES = {'atari': 200, 'dmlab': 500}


def evaluate(logdir: str,
             episodes_per_level: int,
             config: Optional[ml_collections.ConfigDict] = None
            ) -> Dict[str, Dict[str, object]]:
  """Plays ``episodes_per_level`` episodes per level with the latest policy.

  Args:
    logdir: a run directory with a checkpoint.
    episodes_per_level: how many episodes to record on each level.
    config: the run's config; read from ``logdir`` if None.

  Returns:
    ``{level: {'returns': [...], 'mean_return': float, 'episodes': int}}``,
    also written to ``<logdir>/evaluation.json``. Each environment plays
    the same number of episodes, so a level may get a few more than
    ``episodes_per_level``.
  """
  if episodes_per_level < 1:
    raise ValueError(
        f'episodes_per_level must be positive, got {episodes_per_level}')
  config = config or rundir_lib.read_config(logdir)
  checkpoint_dir = os.path.join(logdir, rundir_lib.CHECKPOINT_DIR)
  latest = tf.train.latest_checkpoint(checkpoint_dir)
  if latest is None:
    raise FileNotFoundError(f'no checkpoint in {checkpoint_dir}')

  spec = fleet.environment_spec(config)
  agent = fleet.make_agent(config, spec)
  version = restore_policy(agent, fleet.single_step_spec(agent, spec),
                           latest)

  # Every environment plays the same number of episodes. Taking the first N
  # episodes to finish instead would favour short episodes (on Pong: the
  # quick losses).
  envs_per_level = collections.Counter(
      fleet.level_of_environment(config, i)
      for i in range(config.num_actors * config.envs_per_actor))
  quota = {level: math.ceil(episodes_per_level / count)
           for level, count in envs_per_level.items()}
  returns: Dict[str, List[float]] = {level: [] for level in envs_per_level}
  played = collections.Counter()
  lock = threading.Lock()
  stop = threading.Event()

  def on_episode(episode: Episode) -> None:
    with lock:
      if played[episode.env_index] < quota[episode.level_name]:
        played[episode.env_index] += 1
        returns[episode.level_name].append(episode.episode_return)
      if all(len(returns[level]) >= quota[level] * count
             for level, count in envs_per_level.items()):
        stop.set()

  actors = LocalActors(config, agent, version, spec,
                       on_trajectory=lambda trajectory: None,
                       on_episode=on_episode, training=False)
  try:
    actors.start(stop)
    stop.wait()
  finally:
    stop.set()
    actors.close()

  results = {
      level: dict(returns=level_returns,
                  mean_return=float(np.mean(level_returns)),
                  episodes=len(level_returns))
      for level, level_returns in returns.items()
  }
  with open(os.path.join(logdir, rundir_lib.EVALUATION_FILE), 'w') as f:
    json.dump(dict(checkpoint=os.path.basename(latest), levels=results), f,
              indent=2)
  return results


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  args = flags.FLAGS
  config = rundir_lib.read_config(args.logdir)
  if args.num_actors is not None:
    config.num_actors = args.num_actors
  episodes = args.episodes_per_level or PAPER_EPISODES.get(config.env, 100)
  results = evaluate(args.logdir, episodes, config)
  for level, result in results.items():
    print(f'{level}: mean return {result["mean_return"]:.2f} over '
          f'{result["episodes"]} episodes')


if __name__ == '__main__':
  # Flags live here, not at import: library modules must not claim names.
  flags.DEFINE_string('logdir', None, 'The run directory to evaluate.')
  flags.DEFINE_integer('episodes_per_level', None,
                       'Episodes to play on each level (at least); default: '
                       'the paper\'s, 200 on Atari (§5.3.2), 500 on DMLab '
                       '(§3.1), 100 elsewhere.')
  flags.DEFINE_integer('num_actors', None, 'Environment groups to play in '
                       "parallel; default: the run's num_actors.")
  flags.mark_flags_as_required(['logdir'])
  # Evaluation is all input: a run directory, its config and checkpoint.
  cli.run(main, only_reads_input=True)
