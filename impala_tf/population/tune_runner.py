"""Population-based training on Ray Tune: every member a trial running the
ordinary training loop with a `members.MemberHook`, one `members.Population`
actor deciding for all of them."""

import os
from typing import Dict, List

import ml_collections
import numpy as np
import ray
from ray import tune

from impala_tf.population.members import MemberHook, Population
from impala_tf.population.rules import (initial_hyperparameters,
                                        validate_population_config)
from impala_tf.results import ancestry
from impala_tf.runtime import training


def run_population(config: ml_collections.ConfigDict, logdir: str,
                   cpus_per_member: float = 1.0) -> List[dict]:
  """Trains ``config.pbt.population_size`` members as Ray Tune trials.

  Member i trains into ``logdir/member_{i:02d}`` (an ordinary run directory;
  running this again resumes every member from its checkpoint) starting from
  `initial_hyperparameters` drawn with seed ``config.seed + i``. Ray must be
  initialised (``ray.init``) by the caller.

  Returns:
    The final statistics of each member, in member order.
  """
  validate_population_config(config)
  logdir = os.path.abspath(logdir)
  os.makedirs(logdir, exist_ok=True)
  population = ray.remote(Population).options(num_cpus=0).remote(
      config.pbt.to_dict(), os.path.join(logdir, ancestry.EVENTS_FILE),
      config.seed)
  config_dict = config.to_dict()

  def member_trainable(tune_config):
    member = tune_config['member']
    member_config = ml_collections.ConfigDict(config_dict)
    member_config.seed = config.seed + member
    member_config.update(initial_hyperparameters(
        member_config, np.random.default_rng(member_config.seed)))
    directory = ancestry.member_dir(logdir, member)
    hook = _ReportingHook(member_config, member, population,
                          os.path.join(directory, 'pbt_weights'))
    stats = training.train(member_config, directory, hook=hook)
    tune.report(dict(stats, member=member, fitness=hook.fitness))

  tuner = tune.Tuner(
      tune.with_resources(member_trainable, {'cpu': cpus_per_member}),
      param_space={'member': tune.grid_search(
          list(range(config.pbt.population_size)))},
      tune_config=tune.TuneConfig(
          max_concurrent_trials=config.pbt.population_size),
      run_config=tune.RunConfig(name='tune', storage_path=logdir, verbose=0))
  results = tuner.fit()
  errors = [str(r.error) for r in results if r.error]
  if errors:
    raise RuntimeError(f'{len(errors)} PBT members failed: {errors[0]}')
  return sorted((r.metrics for r in results), key=lambda m: m['member'])


class _ReportingHook(MemberHook):
  """A `MemberHook` that also reports every log record to Ray Tune."""

  def on_log(self, learner) -> Dict[str, float]:
    record = super().on_log(learner)
    tune.report(dict(record, frames=int(learner.num_frames.numpy())))
    return record
