"""Population-based training: the paper's rules, and a small population on
Ray Tune whose recorded decisions follow them."""

import math
import os

import numpy as np
import pytest
import ray

from impala_tf import config as config_lib
from impala_tf.population import members
from impala_tf.population import rules
from impala_tf.population import tune_runner
from impala_tf.results import ancestry

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACTORS = (1.0, 1.2, 1 / 1.2)


def test_exploit_needs_more_than_the_absolute_threshold():
  assert rules.should_exploit(0.40, 0.4501, 0.05)
  assert not rules.should_exploit(0.40, 0.45, 0.05)
  assert not rules.should_exploit(0.40, 0.30, 0.05)
  # Absolute, not relative: 0.10 → 0.16 is 60 % better and copies.
  assert rules.should_exploit(0.10, 0.16, 0.05)


def test_explore_perturbs_each_value_with_the_paper_probabilities():
  rng = np.random.default_rng(0)
  draws = [rules.explore({'a': 1.0, 'b': 10.0}, 0.33, 1.2, rng)
           for _ in range(20_000)]
  ratios = np.array([[d['a'] / 1.0, d['b'] / 10.0] for d in draws])
  for column in ratios.T:
    assert all(any(math.isclose(r, f) for f in FACTORS) for r in column)
    up = np.isclose(column, 1.2).mean()
    down = np.isclose(column, 1 / 1.2).mean()
    assert abs(up + down - 0.33) < 0.015  # Perturbed 33 % of the time ...
    assert abs(up - down) < 0.015  # ... up and down equally often.
  # Values are perturbed independently.
  both = np.all(~np.isclose(ratios, 1.0), axis=1).mean()
  assert abs(both - 0.33**2) < 0.01


def test_initial_hyperparameters_come_from_table_d1():
  config = config_lib.load_config_file(
      os.path.join(REPO, 'paper_configs', 'atari_multitask_deep.py'))
  rng = np.random.default_rng(1)
  samples = [rules.initial_hyperparameters(config, rng) for _ in range(500)]
  learning_rates = np.array([s['learning_rate'] for s in samples])
  assert learning_rates.min() >= 5e-6 and learning_rates.max() <= 5e-3
  # Log-uniform: the median is near the geometric mean of the range.
  assert abs(np.log10(np.median(learning_rates)) -
             np.log10(math.sqrt(5e-6 * 5e-3))) < 0.15
  assert {s['rmsprop_epsilon'] for s in samples} == {1e-1, 1e-3, 1e-5, 1e-7}
  # No Table D.1 range for the clipping norm: it starts at the config's.
  assert {s['max_grad_norm'] for s in samples} == {config.max_grad_norm}


def test_fitness_is_the_mean_capped_human_normalised_score():
  returns = {'rooms_watermaze': [54.0, 54.0],  # human 54 → 100 %
             'explore_goal_locations_small': [1e4]}  # far above: capped
  assert rules.fitness('dmlab', 'mean_capped_hns', returns) == pytest.approx(
      1.0, abs=2e-3)
  assert rules.fitness('catch', 'mean_episode_return',
                     {'catch': [1.0, 0.0]}) == 0.5
  with pytest.raises(ValueError, match="'catch'"):
    rules.fitness('catch', 'mean_capped_hns', {'catch': [1.0]})


def test_population_copies_only_from_a_better_member(tmp_path):
  config = config_lib.pbt_config(evolved=('learning_rate',))
  population = members.Population(config.to_dict(),
                              str(tmp_path / ancestry.EVENTS_FILE), 0)
  hp = lambda lr: {'learning_rate': lr}
  # Alone: nobody to copy from, but explore still happens.
  alone = population.ready(0, 100, 0.50, 'ckpt0', hp(1.0))
  assert alone['checkpoint'] is None
  population.ready(1, 100, 0.52, 'ckpt1', hp(2.0))  # 0.52 < 0.50 + 0.05.
  decision = population.ready(0, 200, 0.50, 'ckpt0b', hp(1.0))
  assert decision['checkpoint'] is None
  assert any(math.isclose(decision['hyperparameters']['learning_rate'], f)
             for f in FACTORS)
  population.ready(1, 300, 0.60, 'ckpt1b', hp(2.0))  # Now 0.10 better.
  decision = population.ready(0, 400, 0.50, 'ckpt0c', hp(1.0))
  assert decision['checkpoint'] == 'ckpt1b'
  assert any(math.isclose(decision['hyperparameters']['learning_rate'],
                          2.0 * f) for f in FACTORS)
  events = ancestry.read_events(str(tmp_path))
  assert [e['copied'] for e in events] == [False, False, False, False, True]


def test_ancestry_follows_copies_back_in_time():
  events = [
      dict(member=0, frames=100, copied=True, candidate=1, donor_frames=90),
      dict(member=1, frames=80, copied=True, candidate=2, donor_frames=70),
      dict(member=1, frames=95, copied=False, candidate=0, donor_frames=None),
      dict(member=0, frames=300, copied=False, candidate=2,
           donor_frames=None),
  ]
  assert ancestry.ancestry(events, 0) == [(2, 0, 70), (1, 80, 90), (0, 100, None)]
  assert ancestry.ancestry(events, 2) == [(2, 0, None)]
  # Weights saved at the frame of a copy are the ones from before it.
  assert ancestry.ancestry(events, 0, until_frames=100) == [(0, 0, 100)]


@pytest.fixture
def local_ray():
  os.environ['PYTHONPATH'] = os.pathsep.join(
      p for p in (REPO, os.environ.get('PYTHONPATH')) if p)
  ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
  assert {n['NodeManagerAddress'] for n in ray.nodes()} == {'127.0.0.1'}
  yield ray
  ray.shutdown()


@pytest.mark.slow
def test_population_of_four_on_ray_tune(local_ray, tmp_path):
  config = config_lib.load_config_file(
      os.path.join(REPO, 'paper_configs', 'catch.py'))
  config.total_environment_frames = 16_000
  config.num_actors = 1
  config.envs_per_actor = 8
  config.batch_size = 8
  # A member reports when it is ready only at a log record. Log often, so
  # that a member is ready about every 60 episodes however fast the machine
  # is: on a fast machine a 2 s interval gave each member only two or three
  # reports, each over hundreds of episodes, whose fitnesses were too close
  # for any copy.
  config.log_interval_s = 0.1
  config.pbt = config_lib.pbt_config(
      evolved=('learning_rate', 'entropy_cost', 'rmsprop_epsilon'))
  config.pbt.population_size = 4
  config.pbt.burn_in_frames = 2_000
  config.pbt.ready_after_episodes = 60
  config.pbt.fitness = 'mean_episode_return'
  config.pbt.exploit_threshold = 0.05
  logdir = str(tmp_path)
  results = tune_runner.run_population(config, logdir, cpus_per_member=0.5)

  assert [r['member'] for r in results] == [0, 1, 2, 3]
  assert all(r['num_frames'] >= 16_000 for r in results)
  events = ancestry.read_events(logdir)
  by_member = {m: [e for e in events if e['member'] == m] for m in range(4)}
  assert all(len(e) >= 2 for e in by_member.values()), by_member  # Generations.
  threshold = config.pbt.exploit_threshold
  for event in events:
    assert event['frames'] >= config.pbt.burn_in_frames
    if event['candidate'] is not None:
      assert event['candidate'] != event['member']
      assert event['copied'] == (event['candidate_fitness'] >
                                 event['fitness'] + threshold)
    source = (event['donor_hyperparameters'] if event['copied'] else
              event['hyperparameters'])
    for name, value in event['explored'].items():
      assert any(math.isclose(value, source[name] * f, rel_tol=1e-5)
                 for f in FACTORS), (name, value, source[name])

  # At 16k frames no member has learnt Catch yet; what makes one member's
  # 60-episode mean better than another's by more than 0.05 is the spread of
  # those means (about 0.1 each), so among dozens of reports some copy.
  assert len(events) >= 24, len(events)
  copied = [e for e in events if e['copied']]
  assert copied, [(e['fitness'], e['candidate_fitness']) for e in events]
  last_copy = copied[-1]
  member = last_copy['member']
  lineage = ancestry.ancestry(events, member)
  assert lineage[-1] == (member, last_copy['frames'], None)
  assert lineage[-2][0] == last_copy['candidate']
  assert lineage[-2][2] == last_copy['donor_frames']
  curve = ancestry.ancestral_curve(logdir, member)
  # The oldest ancestor trained from frame 0 past the burn-in: its part of
  # the curve has episodes. Later parts may be short (a copy just before
  # the end of the budget leaves no episodes after it).
  assert (curve.segment == 0).any()
  for segment, (ancestor, start, end) in enumerate(lineage):
    assert set(curve[curve.segment == segment].member) <= {ancestor}
    part = curve[curve.segment == segment].frames
    assert (part > start).all() and (end is None or (part <= end).all())
