"""Reference scores, human-normalised scores and the paper's numbers.

Human-normalised score (HNS): 100 · (score − random) / (human − random).

Atari-57: the standard random and human references (paper.md §9); with them the
paper's Table 4 medians reproduce exactly (paper.md §4.3). The paper's means do
not reproduce with any known reference table: compare medians first.

DMLab-30: the original release's references (dmlab30.py) by default. The
paper's Table B.1 prints slightly different ones, and its four lasertag rows
have small and large swapped relative to the release (paper.md §3.3); we keep
the release's values, which are what its code computed, and offer the
paper's for recomputing the paper's own summary.
"""

from typing import Dict, Mapping, NamedTuple, Sequence

import numpy as np

from impala_tf.envs import dmlab

# (game, random, human) — paper.md §9 [DQNZOO atari_data.py].
ATARI_REFERENCE_SCORES = {
    'alien': (227.8, 7127.7),
    'amidar': (5.8, 1719.5),
    'assault': (222.4, 742.0),
    'asterix': (210.0, 8503.3),
    'asteroids': (719.1, 47388.7),
    'atlantis': (12850.0, 29028.1),
    'bank_heist': (14.2, 753.1),
    'battle_zone': (2360.0, 37187.5),
    'beam_rider': (363.9, 16926.5),
    'berzerk': (123.7, 2630.4),
    'bowling': (23.1, 160.7),
    'boxing': (0.1, 12.1),
    'breakout': (1.7, 30.5),
    'centipede': (2090.9, 12017.0),
    'chopper_command': (811.0, 7387.8),
    'crazy_climber': (10780.5, 35829.4),
    'defender': (2874.5, 18688.9),
    'demon_attack': (152.1, 1971.0),
    'double_dunk': (-18.6, -16.4),
    'enduro': (0.0, 860.5),
    'fishing_derby': (-91.7, -38.7),
    'freeway': (0.0, 29.6),
    'frostbite': (65.2, 4334.7),
    'gopher': (257.6, 2412.5),
    'gravitar': (173.0, 3351.4),
    'hero': (1027.0, 30826.4),
    'ice_hockey': (-11.2, 0.9),
    'jamesbond': (29.0, 302.8),
    'kangaroo': (52.0, 3035.0),
    'krull': (1598.0, 2665.5),
    'kung_fu_master': (258.5, 22736.3),
    'montezuma_revenge': (0.0, 4753.3),
    'ms_pacman': (307.3, 6951.6),
    'name_this_game': (2292.3, 8049.0),
    'phoenix': (761.4, 7242.6),
    'pitfall': (-229.4, 6463.7),
    'pong': (-20.7, 14.6),
    'private_eye': (24.9, 69571.3),
    'qbert': (163.9, 13455.0),
    'riverraid': (1338.5, 17118.0),
    'road_runner': (11.5, 7845.0),
    'robotank': (2.2, 11.9),
    'seaquest': (68.4, 42054.7),
    'skiing': (-17098.1, -4336.9),
    'solaris': (1236.3, 12326.7),
    'space_invaders': (148.0, 1668.7),
    'star_gunner': (664.0, 10250.0),
    'surround': (-10.0, 6.5),
    'tennis': (-23.8, -8.3),
    'time_pilot': (3568.0, 5229.2),
    'tutankham': (11.4, 167.6),
    'up_n_down': (533.4, 11693.2),
    'venture': (0.0, 1187.5),
    'video_pinball': (16256.9, 17667.9),
    'wizard_of_wor': (563.5, 4756.5),
    'yars_revenge': (3092.9, 54576.9),
    'zaxxon': (32.5, 9173.3),
}

# Table C.1 (paper.md §4.4): IMPALA deep multi-task, shallow expert, deep expert.
PAPER_TABLE_C1 = {
    'alien': (2344.60, 1536.05, 15962.10),
    'amidar': (136.82, 497.62, 1554.79),
    'assault': (2116.32, 12086.86, 19148.47),
    'asterix': (2609.00, 29692.50, 300732.00),
    'asteroids': (2011.05, 3508.10, 108590.05),
    'atlantis': (460430.50, 773355.50, 849967.50),
    'bank_heist': (55.15, 1200.35, 1223.15),
    'battle_zone': (7705.00, 13015.00, 20885.00),
    'beam_rider': (698.36, 8219.92, 32463.47),
    'berzerk': (647.80, 888.30, 1852.70),
    'bowling': (31.06, 35.73, 59.92),
    'boxing': (96.63, 96.30, 99.96),
    'breakout': (35.67, 640.43, 787.34),
    'centipede': (4916.84, 5528.13, 11049.75),
    'chopper_command': (5036.00, 5012.00, 28255.00),
    'crazy_climber': (115384.00, 136211.50, 136950.00),
    'defender': (16667.50, 58718.25, 185203.00),
    'demon_attack': (10095.20, 107264.73, 132826.98),
    'double_dunk': (-1.92, -0.35, -0.33),
    'enduro': (971.28, 0.00, 0.00),
    'fishing_derby': (35.27, 32.08, 44.85),
    'freeway': (21.41, 0.00, 0.00),
    'frostbite': (2744.15, 269.65, 317.75),
    'gopher': (913.50, 1002.40, 66782.30),
    'gravitar': (282.50, 211.50, 359.50),
    'hero': (18818.90, 33853.15, 33730.55),
    'ice_hockey': (-13.55, -5.25, 3.48),
    'jamesbond': (284.00, 440.00, 601.50),
    'kangaroo': (8240.50, 47.00, 1632.00),
    'krull': (10807.80, 9247.60, 8147.40),
    'kung_fu_master': (41905.00, 42259.00, 43375.50),
    'montezuma_revenge': (0.00, 0.00, 0.00),
    'ms_pacman': (3415.05, 6501.71, 7342.32),
    'name_this_game': (5719.30, 6049.55, 21537.20),
    'phoenix': (7486.50, 33068.15, 210996.45),
    'pitfall': (-1.22, -11.14, -1.66),
    'pong': (8.58, 20.40, 20.98),
    'private_eye': (0.00, 92.42, 98.50),
    'qbert': (10717.38, 18901.25, 351200.12),
    'riverraid': (2850.15, 17401.90, 29608.05),
    'road_runner': (24435.50, 37505.00, 57121.00),
    'robotank': (9.94, 2.30, 12.96),
    'seaquest': (844.60, 1716.90, 1753.20),
    'skiing': (-8988.00, -29975.00, -10180.38),
    'solaris': (1160.40, 2368.40, 2365.00),
    'space_invaders': (199.65, 1726.28, 43595.78),
    'star_gunner': (1855.50, 69139.00, 200625.00),
    'surround': (-8.51, -8.13, 7.56),
    'tennis': (-8.12, -1.89, 0.55),
    'time_pilot': (3747.50, 6617.50, 48481.50),
    'tutankham': (105.22, 267.82, 292.11),
    'up_n_down': (82155.30, 273058.10, 332546.75),
    'venture': (1.00, 0.00, 0.00),
    'video_pinball': (20125.14, 228642.52, 572898.27),
    'wizard_of_wor': (2106.00, 4203.00, 9157.50),
    'yars_revenge': (14739.41, 80530.13, 84231.14),
    'zaxxon': (6497.00, 1148.50, 32935.50),
}

# The columns of PAPER_TABLE_C1, in order.
PAPER_ATARI_COLUMNS = ('impala_deep_multitask', 'impala_shallow',
                       'impala_deep')

# Table 4 (paper.md §4.1): (median, mean) human-normalised, in %. None: not
# available. The expert medians are the cells garbled in the paper's text,
# recomputed from Table C.1 (paper.md §4.3).
PAPER_TABLE_4 = {
    'A3C, shallow, experts': (None, 285.9),
    'A3C, deep, experts': (None, 503.6),
    'Reactor, experts': (187.0, None),
    'IMPALA, shallow, experts': (93.2, 466.4),
    'IMPALA, deep, experts': (191.8, 957.6),
    'IMPALA, deep, multi-task': (59.7, 176.9),
}


class Summary(NamedTuple):
  """Median and mean HNS (%) over the games that have a score."""
  median: float
  mean: float
  num_games: int
  missing: Sequence[str]  # Games of the suite without a score, by name.


def atari_hns(game: str, score: float) -> float:
  """Human-normalised score of one Atari game, in %."""
  if game not in ATARI_REFERENCE_SCORES:
    raise ValueError(f'No reference scores for Atari game {game!r}')
  random, human = ATARI_REFERENCE_SCORES[game]
  return 100.0 * (score - random) / (human - random)


def atari_summary(scores: Mapping[str, float]) -> Summary:
  """Median and mean HNS over the Atari-57 games present in ``scores``.

  Games of the suite that are missing are listed in ``missing``, never
  silently dropped; an unknown game raises ValueError.
  """
  normalised = [atari_hns(game, score) for game, score in scores.items()]
  missing = [g for g in ATARI_REFERENCE_SCORES if g not in scores]
  if not normalised:
    return Summary(float('nan'), float('nan'), 0, missing)
  return Summary(float(np.median(normalised)), float(np.mean(normalised)),
                 len(normalised), missing)


def paper_atari_scores(column: str) -> Dict[str, float]:
  """One IMPALA column of Table C.1, ``{game: score}``."""
  if column not in PAPER_ATARI_COLUMNS:
    raise ValueError(
        f'Unknown column {column!r}; choose one of {PAPER_ATARI_COLUMNS}')
  index = PAPER_ATARI_COLUMNS.index(column)
  return {game: row[index] for game, row in PAPER_TABLE_C1.items()}


# Subsets of Atari-57 whose scores predict its median HNS, with the weights
# of the regression on log scores (paper.md §4.5 [Atari-5]).
ATARI_SUBSETS = {
    'atari5': {'battle_zone': 0.38198, 'double_dunk': 0.06791,
               'name_this_game': 0.31080, 'phoenix': 0.12413,
               'qbert': 0.08049},
    'atari10': {'amidar': 0.08246, 'bowling': 0.05590, 'frostbite': 0.06913,
                'kung_fu_master': 0.09862, 'riverraid': 0.04859,
                'battle_zone': 0.18882, 'double_dunk': 0.08519,
                'name_this_game': 0.12870, 'phoenix': 0.16433,
                'qbert': 0.05923},
}


def atari_subset_median(scores: Mapping[str, float], subset: str) -> float:
  """The Atari-57 median HNS (%) predicted from a subset's raw scores.

  ``10 ** (Σ_g w_g · log10(1 + max(HNS_g, 0))) − 1`` over the games g of
  ``subset`` ('atari5' or 'atari10', `ATARI_SUBSETS`), with HNS in % from
  `ATARI_REFERENCE_SCORES` (paper.md §4.5). ``scores``: game → raw score;
  it must hold every game of the subset (others are ignored).
  """
  if subset not in ATARI_SUBSETS:
    raise ValueError(f'Unknown Atari subset {subset!r}; choose one of '
                     f'{sorted(ATARI_SUBSETS)}')
  weights = ATARI_SUBSETS[subset]
  missing = sorted(set(weights) - set(scores))
  if missing:
    raise ValueError(f'{subset} needs scores of {missing}')
  log_sum = sum(w * np.log10(1.0 + max(atari_hns(game, scores[game]), 0.0))
                for game, w in weights.items())
  return float(10.0 ** log_sum - 1.0)


# Per test level (paper.md §3.3): the paper's Table B.1 (human, random, Experts,
# IMPALA) and the original release's dmlab30.py references (human, random).
DMLAB30_TABLE_B1 = {
    'rooms_collect_good_objects_test': (10.0, 0.1, 9.0, 5.8, 10, 0.073),
    'rooms_exploit_deferred_effects_test': (85.7, 8.5, 15.6, 11.0, 85.65, 8.501),
    'rooms_select_nonmatching_object': (65.9, 0.3, 7.3, 26.1, 65.9, 0.312),
    'rooms_watermaze': (54.0, 4.1, 26.9, 31.1, 54, 4.065),
    'rooms_keys_doors_puzzle': (53.8, 4.1, 28.0, 24.3, 53.8, 4.135),
    'language_select_described_object': (389.5, -0.1, 324.6, 593.1, 389.5, -0.07),
    'language_select_located_object': (280.7, 1.9, 189.0, 301.7, 280.7, 1.929),
    'language_execute_random_task': (254.1, -5.9, -49.9, 66.8, 254.05, -5.913),
    'language_answer_quantitative_question': (184.5, -0.3, 219.4, 264.0, 184.5, -0.33),
    'lasertag_one_opponent_large': (12.7, -0.2, -0.2, 0.3, 18.6, -0.083),
    'lasertag_three_opponents_large': (18.6, -0.2, -0.1, 4.1, 31.5, -0.102),
    'lasertag_one_opponent_small': (18.6, -0.1, -0.1, 2.5, 12.65, -0.224),
    'lasertag_three_opponents_small': (31.5, -0.1, 19.1, 11.3, 18.55, -0.214),
    'natlab_fixed_large_map': (36.9, 2.2, 34.7, 12.2, 36.9, 2.173),
    'natlab_varying_map_regrowth': (24.4, 3.0, 20.7, 15.9, 24.45, 2.989),
    'natlab_varying_map_randomized': (42.4, 7.3, 36.1, 29.0, 42.35, 7.346),
    'skymaze_irreversible_path_hard': (100.0, 0.1, 13.6, 30.0, 100, 0.1),
    'skymaze_irreversible_path_varied': (100.0, 14.4, 45.1, 53.6, 100, 14.4),
    'psychlab_arbitrary_visuomotor_mapping': (58.8, 0.2, 16.4, 14.3, 58.75, 0.163),
    'psychlab_continuous_recognition': (58.3, 0.2, 29.9, 29.9, 58.3, 0.224),
    'psychlab_sequential_comparison': (39.5, 0.1, 0.0, 0.0, 39.5, 0.129),
    'psychlab_visual_search': (78.5, 0.1, 0.0, 0.0, 78.5, 0.085),
    'explore_object_locations_small': (74.5, 3.6, 57.8, 62.6, 74.45, 3.575),
    'explore_object_locations_large': (65.7, 4.7, 37.0, 51.1, 65.65, 4.673),
    'explore_obstructed_goals_small': (206.0, 6.8, 135.2, 188.8, 206, 6.76),
    'explore_obstructed_goals_large': (119.5, 2.6, 39.5, 71.0, 119.5, 2.61),
    'explore_goal_locations_small': (267.5, 7.7, 209.4, 252.5, 267.5, 7.66),
    'explore_goal_locations_large': (194.5, 3.1, 83.1, 125.3, 194.5, 3.14),
    'explore_object_rewards_few': (77.7, 2.1, 39.8, 43.2, 77.7, 2.073),
    'explore_object_rewards_many': (106.7, 2.4, 58.7, 62.6, 106.7, 2.438),
}

DMLAB30_REFERENCES = ('release', 'paper')

# Table 3 (paper.md §3.1): mean capped HNS on the test levels, in %.
PAPER_TABLE_3 = {
    'A3C, deep': 23.8,
    'IMPALA, shallow': 37.1,
    'IMPALA-Experts, deep': 44.5,
    'IMPALA, deep': 46.5,
    'IMPALA, deep, PBT': 49.4,
    'IMPALA, deep, PBT, 8 learners': 49.1,
}

# Table 2 (paper.md §2): mean final return of the 3 best of 24 settings, by
# (off_policy_correction, replay) and level, in `dmlab.TABLE_2_LEVELS`'s order.
PAPER_TABLE_2 = {
    ('vtrace', False): (46.8, 32.9, 31.3, 229.2, 43.8),
    ('one_step_is', False): (51.8, 35.9, 25.4, 215.8, 43.7),
    ('epsilon_correction', False): (44.2, 27.3, 4.3, 107.7, 41.5),
    ('no_correction', False): (40.3, 29.1, 5.0, 94.9, 16.1),
    ('vtrace', True): (47.1, 35.8, 34.5, 250.8, 46.9),
    ('one_step_is', True): (54.7, 34.4, 26.4, 204.8, 41.6),
    ('epsilon_correction', True): (30.4, 30.2, 3.9, 101.5, 37.6),
    ('no_correction', True): (35.0, 21.1, 2.8, 85.0, 11.2),
}


class DmlabSummary(NamedTuple):
  """Mean HNS (%) over the DMLab-30 test levels that have a score."""
  capped_mean: float  # Each level capped at 100 % first (the paper's score).
  uncapped_mean: float
  num_levels: int
  missing: Sequence[str]  # Test levels without a score, by name.


def dmlab30_hns(level: str, score: float, references: str = 'release') -> float:
  """HNS of one DMLab-30 level (a _train name counts as its _test level)."""
  level = dmlab.DMLAB30_TRAIN_TO_TEST.get(level, level)
  if level not in DMLAB30_TABLE_B1:
    raise ValueError(f'{level!r} is not a DMLab-30 level')
  if references not in DMLAB30_REFERENCES:
    raise ValueError(f'Unknown references {references!r}; choose one of '
                     f'{DMLAB30_REFERENCES}')
  row = DMLAB30_TABLE_B1[level]
  human, random = row[4:6] if references == 'release' else row[0:2]
  return 100.0 * (score - random) / (human - random)


def dmlab30_summary(level_scores: Mapping[str, float],
                    references: str = 'release') -> DmlabSummary:
  """Capped and uncapped mean HNS, as the original release computes them.

  ``level_scores`` maps level names (train or test names) to mean returns.
  Levels without a score are listed in ``missing``; the means are over the
  levels present.
  """
  normalised = {}
  for level, score in level_scores.items():
    test_level = dmlab.DMLAB30_TRAIN_TO_TEST.get(level, level)
    if test_level in normalised:
      raise ValueError(f'{test_level!r} has two scores (train and test name)')
    normalised[test_level] = dmlab30_hns(level, score, references)
  missing = [level for level in dmlab.DMLAB30_TEST_LEVELS
             if level not in normalised]
  if not normalised:
    return DmlabSummary(float('nan'), float('nan'), 0, missing)
  values = np.array(list(normalised.values()))
  return DmlabSummary(float(np.mean(np.minimum(values, 100.0))),
                      float(np.mean(values)), len(values), missing)


def paper_dmlab30_scores(column: str) -> Dict[str, float]:
  """Table B.1's 'experts' or 'impala' column, ``{test level: score}``."""
  index = {'experts': 2, 'impala': 3}.get(column)
  if index is None:
    raise ValueError(f"Unknown column {column!r}; choose 'experts' or 'impala'")
  return {level: row[index] for level, row in DMLAB30_TABLE_B1.items()}


# Procgen's normalisation constants (paper.md §4.6 [Procgen]): per game,
# (R_min, R_max) in easy mode and in hard mode.
PROCGEN_RANGES = {
    'easy': {
        'bigfish': (1.0, 40.0), 'bossfight': (0.5, 13.0),
        'caveflyer': (3.5, 12.0), 'chaser': (0.5, 13.0),
        'climber': (2.0, 12.6), 'coinrun': (5.0, 10.0),
        'dodgeball': (1.5, 19.0), 'fruitbot': (-1.5, 32.4),
        'heist': (3.5, 10.0), 'jumper': (3.0, 10.0), 'leaper': (3.0, 10.0),
        'maze': (5.0, 10.0), 'miner': (1.5, 13.0), 'ninja': (3.5, 10.0),
        'plunder': (4.5, 30.0), 'starpilot': (2.5, 64.0),
    },
    'hard': {
        'bigfish': (0.0, 40.0), 'bossfight': (0.5, 13.0),
        'caveflyer': (2.0, 13.4), 'chaser': (0.5, 14.2),
        'climber': (1.0, 12.6), 'coinrun': (5.0, 10.0),
        'dodgeball': (1.5, 19.0), 'fruitbot': (-0.5, 27.2),
        'heist': (2.0, 10.0), 'jumper': (1.0, 10.0), 'leaper': (1.5, 10.0),
        'maze': (4.0, 10.0), 'miner': (1.5, 20.0), 'ninja': (2.0, 10.0),
        'plunder': (3.0, 30.0), 'starpilot': (1.5, 35.0),
    },
}


def procgen_normalized(game: str, mode: str, score: float) -> float:
  """Procgen's normalised return ``(R − R_min) / (R_max − R_min)``: 0 at
  R_min, 1 at the game's best (`PROCGEN_RANGES`); not clipped."""
  if mode not in PROCGEN_RANGES:
    raise ValueError(f'Unknown procgen mode {mode!r}; choose one of '
                     f'{sorted(PROCGEN_RANGES)}')
  if game not in PROCGEN_RANGES[mode]:
    raise ValueError(f'Unknown procgen game {game!r}')
  low, high = PROCGEN_RANGES[mode][game]
  return (score - low) / (high - low)
