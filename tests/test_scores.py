"""Scores: the paper's own Table 4 medians come back from Table C.1."""

import numpy as np
import pytest

from impala_tf.envs import atari
from impala_tf.envs import dmlab
from impala_tf.results import scores


@pytest.mark.parametrize('column,median', [
    ('impala_shallow', 93.2),  # paper.md §4.3.
    ('impala_deep', 191.8),
    ('impala_deep_multitask', 59.7),
])
def test_table_c1_medians_reproduce_table_4(column, median):
  summary = scores.atari_summary(scores.paper_atari_scores(column))
  assert summary.num_games == 57 and summary.missing == []
  assert round(summary.median, 1) == median


@pytest.mark.parametrize('column,median,mean', [
    ('impala_shallow', 93.23, 707.42),
    ('impala_deep', 191.82, 1592.50),
    ('impala_deep_multitask', 59.71, 179.42),
])
def test_summaries_are_those_of_the_standard_references(column, median, mean):
  """The medians and means of Table C.1's columns under the standard
  human/random references, as recomputed outside this code (docs/paper.md
  §4.3, from the paper's table and DQN Zoo's references). The medians are
  the paper's own; its means (466.4 / 957.6 / 176.9) do not reproduce with
  the standard table."""
  summary = scores.atari_summary(scores.paper_atari_scores(column))
  assert summary.num_games == 57
  assert round(summary.median, 2) == median
  assert round(summary.mean, 2) == mean


def test_hns_by_hand():
  assert scores.atari_hns('pong', -20.7) == 0.0
  assert scores.atari_hns('pong', 14.6) == pytest.approx(100.0)
  np.testing.assert_allclose(scores.atari_hns('pong', 20.98),
                             100 * (20.98 + 20.7) / 35.3)


def test_missing_games_are_reported_by_name():
  summary = scores.atari_summary({'pong': 14.6, 'breakout': 1.7})
  assert summary.num_games == 2
  assert summary.median == pytest.approx(50.0)
  assert len(summary.missing) == 55 and 'zaxxon' in summary.missing
  with pytest.raises(ValueError, match="'pongg'"):
    scores.atari_summary({'pongg': 1.0})


def test_reference_table_covers_the_suite():
  assert tuple(scores.ATARI_REFERENCE_SCORES) == atari.ATARI_57
  assert tuple(scores.PAPER_TABLE_C1) == atari.ATARI_57


@pytest.mark.parametrize('column,capped', [('experts', 44.4), ('impala', 49.3)])
def test_table_b1_recomputes_the_papers_capped_means(column, capped):
  # paper.md §3.3: with the paper's own references, 44.44 % and 49.34 %.
  summary = scores.dmlab30_summary(scores.paper_dmlab30_scores(column),
                                   references='paper')
  assert summary.num_levels == 30 and summary.missing == []
  assert round(summary.capped_mean, 1) == capped


def test_release_references_give_the_documented_lasertag_difference():
  # With the release's references and the paper's labels as printed the
  # means are 45.74 % and 50.06 %, and uncapped 53.48 % (paper.md §3.3).
  experts = scores.dmlab30_summary(scores.paper_dmlab30_scores('experts'))
  impala = scores.dmlab30_summary(scores.paper_dmlab30_scores('impala'))
  assert round(experts.capped_mean, 2) == 45.74
  assert round(impala.capped_mean, 2) == 50.06
  assert round(impala.uncapped_mean, 2) == 53.48


def test_dmlab_train_levels_count_for_their_test_levels():
  assert len(dmlab.DMLAB30_TRAIN_LEVELS) == 30
  assert 'rooms_collect_good_objects_train' in dmlab.DMLAB30_TRAIN_LEVELS
  assert (scores.dmlab30_hns('rooms_collect_good_objects_train', 10.0) ==
          scores.dmlab30_hns('rooms_collect_good_objects_test', 10.0) ==
          pytest.approx(100.0))


def test_dmlab_missing_levels_are_reported_by_name():
  summary = scores.dmlab30_summary({'rooms_watermaze': 54.0,
                                    'explore_goal_locations_small': 1000.0})
  assert summary.num_levels == 2
  assert summary.capped_mean == pytest.approx(100.0)  # Both capped at 100.
  assert summary.uncapped_mean > 100.0
  assert len(summary.missing) == 28
  assert 'psychlab_visual_search' in summary.missing
  with pytest.raises(ValueError, match="'rooms_waterpark'"):
    scores.dmlab30_summary({'rooms_waterpark': 1.0})


def test_atari5_median_by_hand():
  """Scores whose HNS are 99 %, 9 %, -50 % (clipped to 0), 999 %, 0 %; the
  estimate worked out by hand from the formula of paper.md §4.5 with the
  references of §9 written out here."""
  references = {'battle_zone': (2360.0, 37187.5),
                'double_dunk': (-18.6, -16.4),
                'name_this_game': (2292.3, 8049.0),
                'phoenix': (761.4, 7242.6),
                'qbert': (163.9, 13455.0)}
  hns = {'battle_zone': 99.0, 'double_dunk': 9.0, 'name_this_game': -50.0,
         'phoenix': 999.0, 'qbert': 0.0}
  raw = {g: r + h / 100 * (human - r)
         for g, h in hns.items() for r, human in [references[g]]}
  raw['pong'] = 21.0  # Games outside the subset are ignored.
  # log10(1 + HNS): 2, 1, 0, 3, 0.
  exponent = 0.38198 * 2 + 0.06791 * 1 + 0.12413 * 3
  assert scores.atari_subset_median(raw, 'atari5') == pytest.approx(
      10 ** exponent - 1, rel=1e-9)
  random = {g: r for g, (r, _) in references.items()}
  assert scores.atari_subset_median(random, 'atari5') == 0.0
  with pytest.raises(ValueError, match=r"\['qbert'\]"):
    scores.atari_subset_median({g: raw[g] for g in hns if g != 'qbert'},
                               'atari5')
  with pytest.raises(ValueError, match="'atari7'"):
    scores.atari_subset_median(raw, 'atari7')


def test_atari10_weights_and_games():
  weights = scores.ATARI_SUBSETS['atari10']
  assert len(weights) == 10 and set(weights) <= set(atari.ATARI_57)
  assert sum(weights.values()) == pytest.approx(0.98097, abs=1e-9)
  assert set(scores.ATARI_SUBSETS['atari5']) < set(weights)
  # Every game at 99 %: the estimate is 10 ** (2 · Σw) - 1.
  raw = {g: r + 0.99 * (h - r) for g in weights
         for r, h in [scores.ATARI_REFERENCE_SCORES[g]]}
  assert scores.atari_subset_median(raw, 'atari10') == pytest.approx(
      10 ** (2 * 0.98097) - 1, rel=1e-9)
