"""Every paper config loads, validates and says what the paper says."""

import glob
import os

import pytest

from impala_tf import config as config_lib
from impala_tf import sweep_plan
from impala_tf.envs import atari

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL_FILES = sorted(glob.glob(os.path.join(REPO, 'paper_configs', '*.py')))
# Sweep files define get_sweep(); the others get_config().
SWEEP_FILES = [p for p in ALL_FILES
               if os.path.basename(p).startswith('sweep_')]
CONFIG_FILES = [p for p in ALL_FILES if p not in SWEEP_FILES]


load = config_lib.load_config_file


@pytest.mark.parametrize('path', CONFIG_FILES, ids=os.path.basename)
def test_config_validates(path):
  config_lib.validate_config(load(path))


@pytest.mark.parametrize('path', SWEEP_FILES, ids=os.path.basename)
def test_every_run_of_a_sweep_validates(path):
  runs = sweep_plan.load_sweep(path)
  assert runs.runs
  for name in runs.runs:
    config_lib.validate_config(sweep_plan.run_config(runs, name))


# Table G.1 (docs/paper.md §6.3), field by field; the RMSProp decay is not
# stated there and is the original release's.
TABLE_G1 = dict(
    num_action_repeats=4,
    unroll_length=20,
    batch_size=32,
    discounting=0.99,
    baseline_cost=0.5,
    entropy_cost=0.01,
    rmsprop_momentum=0.0,
    rmsprop_epsilon=0.01,
    learning_rate=0.0006,
    max_grad_norm=40.0,
    reward_clipping='abs_one',  # Clipped to [-1, 1].
    rmsprop_decay=0.99,
    use_lstm=False,  # Feed-forward on Atari (App. G).
)


@pytest.mark.parametrize('name,argument', [
    ('atari_expert_shallow', 'breakout'), ('atari_expert_deep', 'breakout'),
    ('atari_multitask_deep', None)])
def test_atari_configs_hold_every_value_of_table_g1(name, argument):
  config = load(os.path.join(REPO, 'paper_configs', f'{name}.py'), argument)
  assert {field: config[field] for field in TABLE_G1} == TABLE_G1
  assert config.env == 'atari' and config.vtrace_lambda == 1.0
  assert (config.clip_rho_threshold, config.clip_c_threshold) == (1.0, 1.0)


@pytest.mark.parametrize('name,torso', [('atari_expert_shallow', 'shallow'),
                                        ('atari_expert_deep', 'deep')])
def test_atari_experts_play_one_game_with_its_own_actions(name, torso):
  config = load(os.path.join(REPO, 'paper_configs', f'{name}.py'), 'breakout')
  assert config.levels == ('breakout',)
  assert config.torso == torso
  assert config.total_environment_frames == 200_000_000  # §5.3.2.
  assert not config.full_action_space


def test_multitask_agent_plays_all_57_with_the_full_action_set():
  config = load(os.path.join(REPO, 'paper_configs',
                             'atari_multitask_deep.py'))
  assert config.levels == atari.ATARI_57
  assert config.full_action_space
  assert config.total_environment_frames == 57 * 200_000_000
  # Every game gets the same number of environments.
  assert (config.num_actors * config.envs_per_actor) % 57 == 0
  assert config.pbt.population_size == 24
  assert config.pbt.perturb_factor == 1.2
  assert 'max_grad_norm' in config.pbt.evolved


@pytest.mark.parametrize('name,torso,actors', [('dmlab30_shallow', 'shallow', 210),
                                               ('dmlab30_deep', 'deep', 150)])
def test_dmlab30_agents_follow_table_d3(name, torso, actors):
  from impala_tf.envs import dmlab  # pylint: disable=g-import-not-at-top
  config = load(os.path.join(REPO, 'paper_configs', f'{name}.py'))
  assert config.levels == dmlab.DMLAB30_TRAIN_LEVELS
  assert config.torso == torso and config.use_lstm and config.use_instruction
  assert config.unroll_length == 100 and config.num_action_repeats == 4
  assert config.reward_clipping == 'soft_asymmetric'
  assert config.num_actors * config.envs_per_actor == actors  # §5.3.1.
  assert config.max_grad_norm is None


def test_dmlab_pbt_and_eight_learners():
  path = os.path.join(REPO, 'paper_configs', 'dmlab30_deep_pbt.py')
  single, eight = load(path), load(path, '8')
  assert single.strategy == 'default' and eight.strategy == 'mirrored'
  assert single.pbt.population_size == 24
  assert 'max_grad_norm' not in single.pbt.evolved  # DMLab: three evolved.


def test_single_task_levels_are_those_of_table_2():
  path = os.path.join(REPO, 'paper_configs', 'dmlab_single_task.py')
  config = load(path, 'seekavoid_arena_01')
  assert config.reward_clipping == 'abs_one' and config.torso == 'shallow'
  config_lib.validate_config(config)
  with pytest.raises(ValueError, match='natlab_fixed_large_map'):
    load(path, 'natlab_fixed_large_map')
