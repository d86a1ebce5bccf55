"""Population-based training's rules as the paper states them (paper.md §6.4).

The paper's rules, not Ray Tune's stock `PopulationBasedTraining` (which
exploits its bottom quantile from its top quantile and perturbs by 0.8/1.2):

* A member is *ready* once it is past the burn-in (20 M frames) and has
  finished ``ready_after_episodes`` (5,000) episodes since it was last ready.
* Exploit: the ready member picks one other member at random; if that
  member's fitness is higher by more than ``exploit_threshold`` (an absolute
  5 % of mean capped human-normalised score), it copies its weights and
  hyperparameters.
* Explore, whether or not it copied: each evolved hyperparameter is
  multiplied, with probability 0.33, by 1.2 or by 1/1.2 (equally likely).
"""

import math
from typing import Dict, Mapping, Sequence

import ml_collections
import numpy as np

from impala_tf import config as config_lib
from impala_tf.agent.hyperparameters import EVOLVABLE
from impala_tf.results import scores


def initial_hyperparameters(config: ml_collections.ConfigDict,
                            rng: np.random.Generator) -> Dict[str, float]:
  """One member's starting values: Table D.1's ranges (log-uniform, or a
  categorical choice) for the evolved fields that have one, else the
  config's value."""
  pbt = config.pbt
  values = {}
  for name in pbt.evolved:
    choices = pbt.initial_ranges.get(name)
    if choices is None:
      values[name] = float(config[name])
    elif name == 'rmsprop_epsilon':  # Categorical in Table D.1.
      values[name] = float(rng.choice(choices))
    else:
      low, high = choices
      values[name] = float(math.exp(rng.uniform(math.log(low),
                                                math.log(high))))
  return values


def explore(hyperparameters: Mapping[str, float], probability: float,
            factor: float, rng: np.random.Generator) -> Dict[str, float]:
  """Each value multiplied by ``factor`` or ``1/factor`` with
  ``probability`` (the two equally likely), else kept."""
  explored = {}
  for name, value in hyperparameters.items():
    if rng.uniform() < probability:
      value = value * factor if rng.uniform() < 0.5 else value / factor
    explored[name] = float(value)
  return explored


def should_exploit(fitness: float, other_fitness: float,
                   threshold: float) -> bool:
  """True when the other member is better by more than ``threshold``
  (absolute, in units of fitness)."""
  return other_fitness > fitness + threshold


def fitness(env: str, kind: str, returns: Mapping[str, Sequence[float]]
            ) -> float:
  """A member's fitness from its recent episode returns per level.

  Args:
    env: 'dmlab', 'atari', or a small environment.
    kind: 'mean_capped_hns' (the paper's: the mean over levels of the
      human-normalised score, each capped at 1, as a fraction) or
      'mean_episode_return' (for tasks without human references).
    returns: level → its recent episode returns.
  """
  means = {level: float(np.mean(r)) for level, r in returns.items() if r}
  if kind == 'mean_episode_return':
    return float(np.mean(list(means.values())))
  if kind != 'mean_capped_hns':
    raise ValueError(f'Unknown PBT fitness {kind!r}; use mean_capped_hns or '
                     'mean_episode_return')
  if env == 'dmlab':
    return scores.dmlab30_summary(means).capped_mean / 100.0
  if env == 'atari':
    return float(np.mean([min(scores.atari_hns(game, score), 100.0)
                          for game, score in means.items()])) / 100.0
  raise ValueError(f'No human references for env {env!r}: set '
                   "config.pbt.fitness='mean_episode_return'")


def validate_population_config(config: ml_collections.ConfigDict) -> None:
  """Raises ValueError naming what is wrong with a PBT run's config."""
  if 'pbt' not in config:
    raise ValueError('--config has no pbt section; use a PBT config '
                     '(e.g. paper_configs/dmlab30_deep_pbt.py)')
  config_lib.validate_config(config)
  for name in config.pbt.evolved:
    if name not in EVOLVABLE:
      raise ValueError(f'config.pbt.evolved: {name!r} cannot be evolved; '
                       f'choose from {EVOLVABLE}')
