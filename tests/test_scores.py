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
