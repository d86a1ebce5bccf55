"""The members of a population and the one place that decides for them.

A `Population` (one Ray actor that every member calls) holds every member's
latest fitness, checkpoint and hyperparameters, applies the `rules`, and
writes each decision to the population directory's events file, from which
`results.ancestry` rebuilds whose weights a member carries. A `MemberHook`
runs in each member's training loop (`runtime.training.Trainer`'s hook).
"""

import collections
import json
import os
import threading
from typing import Dict, List, Mapping, Optional

import ml_collections
import numpy as np
import ray

from impala_tf.population.rules import explore, fitness, should_exploit

# How many of its latest weight checkpoints a member keeps for others to copy.
_WEIGHTS_KEPT = 5


class Population:
  """Every member's latest state and the exploit/explore decisions.

  Runs as one Ray actor that all members call; a plain object in tests.

  Args:
    pbt: ``config.pbt`` (see `config.pbt_config`).
    events_path: where each decision is appended as a JSON line.
    seed: seeds the random choices.
  """

  def __init__(self, pbt: dict, events_path: str, seed: int = 0):
    self._pbt = ml_collections.ConfigDict(pbt)
    self._events_path = events_path
    self._rng = np.random.default_rng(seed)
    self._members: Dict[int, dict] = {}

  def ready(self, member: int, frames: int, fitness_value: float,
            checkpoint: str, hyperparameters: Mapping[str, float]
            ) -> Optional[dict]:
    """A ready member reports; returns what it must load.

    Args:
      member: its index.
      frames: its frame count.
      fitness_value: its fitness now.
      checkpoint: the checkpoint it just saved (others may copy it).
      hyperparameters: its current values of the evolved fields.

    Returns:
      ``{'checkpoint': path or None, 'hyperparameters': {...}}``: the donor's
      checkpoint to load (None: keep its own weights) and the explored
      hyperparameters to use from now on.
    """
    self._members[member] = dict(frames=frames, fitness=fitness_value,
                                 checkpoint=checkpoint,
                                 hyperparameters=dict(hyperparameters))
    others = sorted(m for m in self._members if m != member)
    donor = int(self._rng.choice(others)) if others else None
    copied = donor is not None and should_exploit(
        fitness_value, self._members[donor]['fitness'],
        self._pbt.exploit_threshold)
    source = self._members[donor] if copied else self._members[member]
    explored = explore(source['hyperparameters'],
                       self._pbt.perturb_probability,
                       self._pbt.perturb_factor, self._rng)
    event = dict(
        member=member, frames=frames, fitness=fitness_value,
        hyperparameters=dict(hyperparameters), candidate=donor,
        candidate_fitness=(self._members[donor]['fitness']
                           if donor is not None else None),
        copied=copied, donor_frames=source['frames'] if copied else None,
        donor_checkpoint=source['checkpoint'] if copied else None,
        donor_hyperparameters=source['hyperparameters'] if copied else None,
        explored=explored)
    with open(self._events_path, 'a') as f:
      f.write(json.dumps(event) + '\n')
    self._members[member]['hyperparameters'] = explored
    return dict(checkpoint=source['checkpoint'] if copied else None,
                hyperparameters=explored)


class MemberHook:
  """Called by the training loop at every log interval of one member:
  counts finished episodes and, when ready, asks the population what to do
  and applies it to the learner.

  Args:
    config: the member's run config (with ``config.pbt``).
    member: its index.
    population: the `Population` (a Ray actor handle, or the object).
  """

  def __init__(self, config: ml_collections.ConfigDict, member: int,
               population, weights_dir: str):
    self._config = config
    self._pbt = config.pbt
    self._member = member
    self._population = population
    self._weights_dir = weights_dir
    self._saved: List[str] = []
    self._lock = threading.Lock()  # Episodes arrive from actor threads.
    self._returns = collections.defaultdict(list)
    self._episodes = 0
    self.fitness = None

  def on_episode(self, level: str, episode_return: float) -> None:
    with self._lock:
      self._returns[level].append(episode_return)
      self._episodes += 1

  def on_log(self, learner) -> Dict[str, float]:
    """Returns what to add to the log record: the fitness and the current
    hyperparameters."""
    frames = int(learner.num_frames.numpy())
    if (frames >= self._pbt.burn_in_frames and
        self._episodes >= self._pbt.ready_after_episodes):
      self._on_ready(learner, frames)
    record = {f'pbt/{name}': value for name, value in
              learner.hyperparameters(self._pbt.evolved).items()}
    if self.fitness is not None:
      record['pbt/fitness'] = self.fitness
    return record

  def _on_ready(self, learner, frames: int) -> None:
    with self._lock:
      returns = dict(self._returns)
      self._returns = collections.defaultdict(list)
      self._episodes = 0
    self.fitness = fitness(self._config.env, self._pbt.fitness, returns)
    # A fresh path every time: another member may be reading an older one.
    path = learner.save_weights(os.path.join(
        self._weights_dir, f'weights-{frames:012d}'))
    self._saved.append(path)
    decision = self._call(
        'ready', self._member, frames, self.fitness, path,
        learner.hyperparameters(self._pbt.evolved))
    if decision['checkpoint'] is not None:
      learner.load_weights(decision['checkpoint'])
    learner.set_hyperparameters(decision['hyperparameters'])
    # A donor's weights are read right after its decision; keep a few.
    for old in self._saved[:-_WEIGHTS_KEPT]:
      for name in os.listdir(self._weights_dir):
        if name.startswith(os.path.basename(old) + '.'):
          os.remove(os.path.join(self._weights_dir, name))
    self._saved = self._saved[-_WEIGHTS_KEPT:]

  def _call(self, method, *args):
    function = getattr(self._population, method)
    if hasattr(function, 'remote'):
      return ray.get(function.remote(*args))
    return function(*args)
