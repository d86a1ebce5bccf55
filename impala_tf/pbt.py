"""Population-based training with the paper's rules (paper.md §6.4).

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

Members are Ray Tune trials (`run_population`), each running the ordinary
training loop (`training.train`) with a hook at every log interval
(`MemberHook`). A `Population` Ray actor holds every member's latest
fitness, checkpoint and hyperparameters, makes the decisions, and writes each
one to ``pbt_events.jsonl``, so that the ancestry of any member (whose
weights it carries at which frame) can be rebuilt (`ancestry`,
`ancestral_curve`), as the paper draws its PBT learning curves.

    python -m impala_tf.pbt --config=paper_configs/dmlab30_deep_pbt.py \\
        --logdir=runs/dmlab30_pbt [--ray_address=HOST:PORT]
"""

import collections
import json
import math
import os
import threading
from typing import Dict, List, Mapping, Optional, Sequence

import ml_collections
import numpy as np

from impala_tf import scores

EVENTS_FILE = 'pbt_events.jsonl'
# How many of its latest weight checkpoints a member keeps for others to copy.
_WEIGHTS_KEPT = 5


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


def read_events(population_dir: str) -> List[dict]:
  with open(os.path.join(population_dir, EVENTS_FILE)) as f:
    return [json.loads(line) for line in f if line.strip()]


def ancestry(events: Sequence[dict], member: int,
             until_frames: Optional[float] = None) -> List[tuple]:
  """Whose training a member's weights come from, oldest first.

  Returns ``[(member, from_frames, to_frames), ...]``: follow the member's
  own history back to its last copy, then the donor's before that, and so
  on. ``to_frames`` of the last segment is ``until_frames`` (None: open).
  """
  # A member saves its weights, then reports, then loads a donor's: a
  # checkpoint saved at frame F predates a copy made at F.
  copies = sorted((e for e in events if e['member'] == member and e['copied']
                   and (until_frames is None or e['frames'] < until_frames)),
                  key=lambda e: e['frames'])
  if not copies:
    return [(member, 0, until_frames)]
  last = copies[-1]
  return ancestry(events, last['candidate'], last['donor_frames']) + [
      (member, last['frames'], until_frames)]


def ancestral_curve(population_dir: str, member: int):
  """The learning curve of a member's weights through its ancestry: a
  DataFrame of episodes (frames, episode_return, level, member, segment)
  taken from each ancestor's run for the frames it was the ancestor;
  ``segment`` indexes `ancestry`'s list."""
  import pandas as pd  # pylint: disable=g-import-not-at-top
  from impala_tf import analysis  # pylint: disable=g-import-not-at-top
  pieces = []
  lineage = ancestry(read_events(population_dir), member)
  for segment, (ancestor, start, end) in enumerate(lineage):
    episodes = analysis.episodes(member_dir(population_dir, ancestor))
    keep = episodes.frames > start
    if end is not None:
      keep &= episodes.frames <= end
    pieces.append(episodes[keep].assign(member=ancestor, segment=segment))
  return pd.concat(pieces, ignore_index=True)


def member_dir(population_dir: str, member: int) -> str:
  return os.path.join(population_dir, f'member_{member:02d}')


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
      import ray  # pylint: disable=g-import-not-at-top
      return ray.get(function.remote(*args))
    return function(*args)


def validate_population_config(config: ml_collections.ConfigDict) -> None:
  """Raises ValueError naming what is wrong with a PBT run's config."""
  # pylint: disable=g-import-not-at-top
  from impala_tf import config as config_lib
  from impala_tf.learner import EVOLVABLE
  # pylint: enable=g-import-not-at-top
  if 'pbt' not in config:
    raise ValueError('--config has no pbt section; use a PBT config '
                     '(e.g. paper_configs/dmlab30_deep_pbt.py)')
  config_lib.validate_config(config)
  for name in config.pbt.evolved:
    if name not in EVOLVABLE:
      raise ValueError(f'config.pbt.evolved: {name!r} cannot be evolved; '
                       f'choose from {EVOLVABLE}')


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
  import ray  # pylint: disable=g-import-not-at-top
  from ray import tune  # pylint: disable=g-import-not-at-top

  validate_population_config(config)
  logdir = os.path.abspath(logdir)
  os.makedirs(logdir, exist_ok=True)
  population = ray.remote(Population).options(num_cpus=0).remote(
      config.pbt.to_dict(), os.path.join(logdir, EVENTS_FILE), config.seed)
  config_dict = config.to_dict()

  def member_trainable(tune_config):
    # pylint: disable=g-import-not-at-top
    from impala_tf.runtime import training
    member = tune_config['member']
    member_config = ml_collections.ConfigDict(config_dict)
    member_config.seed = config.seed + member
    member_config.update(initial_hyperparameters(
        member_config, np.random.default_rng(member_config.seed)))
    directory = member_dir(logdir, member)
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
    from ray import tune  # pylint: disable=g-import-not-at-top
    record = super().on_log(learner)
    tune.report(dict(record, frames=int(learner.num_frames.numpy())))
    return record


def main(argv):
  # pylint: disable=g-import-not-at-top
  from absl import app
  from absl import flags
  import ray
  from impala_tf import cli
  # pylint: enable=g-import-not-at-top
  args = flags.FLAGS
  with cli.reading_input():
    if len(argv) > 1:
      raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
    config = cli.config_value(flags.FLAGS['config'])
    validate_population_config(config)
  ray.init(address=args.ray_address, log_to_driver=False)
  results = run_population(config, args.logdir, args.cpus_per_member)
  for result in results:
    print(f'member {result["member"]}: {result["num_frames"]} frames, '
          f'fitness {result["fitness"]}')


if __name__ == '__main__':
  # pylint: disable=g-import-not-at-top
  from absl import flags as _flags
  from ml_collections import config_flags as _config_flags
  # pylint: enable=g-import-not-at-top
  # Flags live here, not at import: library modules must not claim names.
  _config_flags.DEFINE_config_file(
      'config', None, 'A PBT config (with a pbt section), file.py[:arg].',
      lock_config=False)
  _flags.DEFINE_string('logdir', None, 'The population directory.')
  _flags.DEFINE_string('ray_address', None, 'A Ray cluster to join; default: '
                       'start Ray on this machine.')
  _flags.DEFINE_float('cpus_per_member', 1.0, 'Ray CPUs each member reserves '
                      '(its learner; its actors follow config.runtime).')
  _flags.mark_flags_as_required(['config', 'logdir'])
  from impala_tf import cli as _cli  # pylint: disable=g-import-not-at-top
  _cli.run(main)
