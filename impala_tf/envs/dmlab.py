"""DeepMind Lab with the paper's settings (paper.md §6.2, §8).

Observations ``RGB_INTERLEAVED`` (72×96×3 uint8) and ``INSTR`` (a string),
returned as the tuple ``(frame, instruction)``; the 9 actions of Table D.2 as
7-dim ``np.intc`` actions; each agent step is ``step(action, num_steps=4)``
with the reward summed over the 4 frames; every episode starts from a seed
drawn from the environment's own seeded generator. DMLab-30 levels load from
``contributed/dmlab30/``. Evaluation uses the test variant of the two
train/test levels and the test-mode settings of the original release
(``allowHoldOutLevels``, the fixed ``mixerSeed``).

``deepmind_lab`` is on no package index; it is imported only when a DMLab
environment is built, and its absence is reported with what to do.
"""

import os
import shutil
from typing import Optional

import gymnasium as gym
import numpy as np


# Table D.2 / [SA] DEFAULT_ACTION_SET, in the order of DeepMind Lab's action
# spec: look left/right, look down/up, strafe left/right, move back/forward,
# fire, jump, crouch.
ACTION_SET = (
    (0, 0, 0, 1, 0, 0, 0),  # Forward
    (0, 0, 0, -1, 0, 0, 0),  # Backward
    (0, 0, -1, 0, 0, 0, 0),  # Strafe left
    (0, 0, 1, 0, 0, 0, 0),  # Strafe right
    (-20, 0, 0, 0, 0, 0, 0),  # Look left
    (20, 0, 0, 0, 0, 0, 0),  # Look right
    (-20, 0, 0, 1, 0, 0, 0),  # Forward + look left
    (20, 0, 0, 1, 0, 0, 0),  # Forward + look right
    (0, 0, 0, 0, 1, 0, 0),  # Fire
)
OBSERVATIONS = ('RGB_INTERLEAVED', 'INSTR')
ACTION_REPEATS = 4  # Table D.3.
WIDTH, HEIGHT = 96, 72  # Table D.3.
TEST_MIXER_SEED = 0x600D5EED  # [SA]: fixed for the held-out test levels.
MAX_INSTRUCTION_LENGTH = 1000

INSTALL_HINT = (
    'DeepMind Lab (the Python module deepmind_lab) is not installed. It is '
    'on no package index: build it from source following the build '
    'instructions of the google-deepmind/lab repository (docs/users/'
    'build.md), install the wheel it produces into this environment, and '
    'run again. See REPRODUCE.md, DMLab section.')


# DMLab-30's levels by their test names (paper.md §3.3), in Table B.1's order.
DMLAB30_TEST_LEVELS = (
    'rooms_collect_good_objects_test', 'rooms_exploit_deferred_effects_test',
    'rooms_select_nonmatching_object', 'rooms_watermaze',
    'rooms_keys_doors_puzzle', 'language_select_described_object',
    'language_select_located_object', 'language_execute_random_task',
    'language_answer_quantitative_question', 'lasertag_one_opponent_large',
    'lasertag_three_opponents_large', 'lasertag_one_opponent_small',
    'lasertag_three_opponents_small', 'natlab_fixed_large_map',
    'natlab_varying_map_regrowth', 'natlab_varying_map_randomized',
    'skymaze_irreversible_path_hard', 'skymaze_irreversible_path_varied',
    'psychlab_arbitrary_visuomotor_mapping', 'psychlab_continuous_recognition',
    'psychlab_sequential_comparison', 'psychlab_visual_search',
    'explore_object_locations_small', 'explore_object_locations_large',
    'explore_obstructed_goals_small', 'explore_obstructed_goals_large',
    'explore_goal_locations_small', 'explore_goal_locations_large',
    'explore_object_rewards_few', 'explore_object_rewards_many')
# Two levels are trained on a _train variant and evaluated on its _test
# variant (paper.md §3.2); the other 28 are the same level in both.
DMLAB30_TRAIN_TO_TEST = {
    'rooms_collect_good_objects_train': 'rooms_collect_good_objects_test',
    'rooms_exploit_deferred_effects_train':
        'rooms_exploit_deferred_effects_test',
}
DMLAB30_TRAIN_LEVELS = tuple(
    {v: k for k, v in DMLAB30_TRAIN_TO_TEST.items()}.get(level, level)
    for level in DMLAB30_TEST_LEVELS)
# Table 2's single tasks (paper.md §2), in its caption's order: four are
# DMLab-30 levels, one is not.
TABLE_2_LEVELS = ('rooms_watermaze', 'rooms_keys_doors_puzzle',
                  'lasertag_three_opponents_small',
                  'explore_goal_locations_small', 'seekavoid_arena_01')
_STOCK_LEVELS = ('seekavoid_arena_01',)  # Shipped with DMLab, not in DMLab-30.


def levels():
  """Every level name this adapter accepts: DMLab-30 (train and test names)
  and the one Table 2 level outside it."""
  return tuple(dict.fromkeys(DMLAB30_TRAIN_LEVELS + DMLAB30_TEST_LEVELS +
                             _STOCK_LEVELS))


def level_path(level: str) -> str:
  if level in _STOCK_LEVELS:
    return level
  return 'contributed/dmlab30/' + level


class LevelCache:
  """A directory cache of compiled levels (DeepMind Lab's level_cache API)."""

  def __init__(self, directory: str):
    self.directory = directory
    os.makedirs(directory, exist_ok=True)

  def fetch(self, key: str, pk3_path: str) -> bool:
    path = os.path.join(self.directory, key)
    if not os.path.isfile(path):
      return False
    shutil.copyfile(path, pk3_path)
    return True

  def write(self, key: str, pk3_path: str) -> None:
    path = os.path.join(self.directory, key)
    if not os.path.isfile(path):
      shutil.copyfile(pk3_path, path)


def _import_deepmind_lab():
  try:
    # DeepMind Lab has no wheel: only a user who built it has it.
    import deepmind_lab  # pylint: disable=g-import-not-at-top
  except ImportError as error:
    raise ImportError(INSTALL_HINT) from error
  return deepmind_lab


class DmLab(gym.Env):
  """One DeepMind Lab level as a `gymnasium.Env`.

  Args:
    level: a DMLab-30 level name (see `levels`).
    training: False for evaluation: a _train level is replaced by its _test
      variant and the test-mode settings are used.
    seed: seeds the generator that draws each episode's seed; `reset(seed=)`
      reseeds it.
    dataset_path: where the psychlab datasets are ('datasetPath').
    level_cache_dir: a directory to cache compiled levels in.
    renderer: 'software' or 'hardware'.
  """

  metadata = {'render_modes': []}

  def __init__(self,
               level: str,
               training: bool = True,
               seed: int = 0,
               dataset_path: Optional[str] = None,
               level_cache_dir: Optional[str] = None,
               renderer: str = 'software'):
    if level not in levels():
      raise ValueError(f'Unknown DMLab level {level!r}; valid levels: '
                       f'{", ".join(levels())}')
    deepmind_lab = _import_deepmind_lab()
    if not training:
      level = DMLAB30_TRAIN_TO_TEST.get(level, level)
    config = {'width': WIDTH, 'height': HEIGHT, 'logLevel': 'WARN'}
    if not training:
      config.update(allowHoldOutLevels='true', mixerSeed=TEST_MIXER_SEED)
    if dataset_path:
      config['datasetPath'] = dataset_path
    self.level = level
    self._lab = deepmind_lab.Lab(
        level_path(level), list(OBSERVATIONS),
        config={k: str(v) for k, v in config.items()},  # The API wants str.
        renderer=renderer,
        level_cache=LevelCache(level_cache_dir) if level_cache_dir else None)
    self._actions = [np.array(a, dtype=np.intc) for a in ACTION_SET]
    self._seeds = np.random.RandomState(seed)
    self._last_observation = None
    self.action_space = gym.spaces.Discrete(len(ACTION_SET))
    self.observation_space = gym.spaces.Tuple((
        gym.spaces.Box(0, 255, (HEIGHT, WIDTH, 3), np.uint8),
        gym.spaces.Text(MAX_INSTRUCTION_LENGTH),
    ))

  def reset(self, *, seed=None, options=None):
    if seed is not None:
      self._seeds = np.random.RandomState(seed)
    self._lab.reset(seed=int(self._seeds.randint(0, 2**31 - 1)))
    self._last_observation = self._observation()
    return self._last_observation, {}

  def step(self, action):
    if not self.action_space.contains(action):
      raise ValueError(f'DMLab: action {action!r} is not in [0, 9)')
    reward = self._lab.step(self._actions[int(action)],
                            num_steps=ACTION_REPEATS)
    terminated = not self._lab.is_running()
    if not terminated:  # A finished episode has no observation to show.
      self._last_observation = self._observation()
    return self._last_observation, float(reward), terminated, False, {}

  def close(self):
    self._lab.close()

  def _observation(self):
    observations = self._lab.observations()
    return (observations['RGB_INTERLEAVED'], str(observations['INSTR']))
