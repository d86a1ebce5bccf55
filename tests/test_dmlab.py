"""The DeepMind Lab adapter against a fake that follows the real API."""

import os
import sys

import numpy as np
import pytest

from impala_tf.envs import dmlab
from impala_tf.results import rundir

FAKE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'fake_deepmind_lab')


@pytest.fixture
def fake_lab(monkeypatch):
  """Makes `import deepmind_lab` find the fake, here and in worker
  processes."""
  monkeypatch.syspath_prepend(FAKE_DIR)
  monkeypatch.setenv('PYTHONPATH', os.pathsep.join(
      p for p in (FAKE_DIR, os.environ.get('PYTHONPATH')) if p))
  monkeypatch.delitem(sys.modules, 'deepmind_lab', raising=False)
  import deepmind_lab  # pylint: disable=g-import-not-at-top
  deepmind_lab.Lab.instances.clear()
  return deepmind_lab


def test_without_deepmind_lab_the_error_says_what_to_do(monkeypatch):
  monkeypatch.setitem(sys.modules, 'deepmind_lab', None)
  with pytest.raises(ImportError, match='build it from source'):
    dmlab.DmLab('rooms_watermaze')


def test_paper_settings(fake_lab):
  env = dmlab.DmLab('language_select_described_object', seed=3)
  lab = fake_lab.Lab.instances[-1]
  assert lab.level == 'contributed/dmlab30/language_select_described_object'
  assert lab.config['width'] == '96' and lab.config['height'] == '72'
  assert 'allowHoldOutLevels' not in lab.config
  (frame, instruction), _ = env.reset()
  assert frame.shape == (72, 96, 3) and frame.dtype == np.uint8
  assert instruction == 'go to the red ball'
  assert env.action_space.n == 9


def test_actions_are_the_table_d2_set_repeated_four_times(fake_lab):
  env = dmlab.DmLab('rooms_watermaze')
  lab = fake_lab.Lab.instances[-1]
  env.reset()
  _, reward, _, _, _ = env.step(0)  # Forward: 1 per frame, summed over 4.
  assert reward == 4.0
  _, reward, _, _, _ = env.step(7)  # Forward + look right.
  assert reward == 4.0
  _, reward, _, _, _ = env.step(8)  # Fire.
  assert reward == 0.0
  steps = [call for call in lab.calls if call[0] == 'step']
  assert steps == [('step', [0, 0, 0, 1, 0, 0, 0], 4),
                   ('step', [20, 0, 0, 1, 0, 0, 0], 4),
                   ('step', [0, 0, 0, 0, 1, 0, 0], 4)]
  assert lab.num_steps() == 12
  with pytest.raises(ValueError, match='not in'):
    env.step(9)


def test_episode_end_and_seeds_from_a_seeded_generator(fake_lab):
  def episode_seeds(seed, episodes=3):
    env = dmlab.DmLab('rooms_watermaze', seed=seed)
    env.reset()
    for _ in range(episodes - 1):
      terminated = False
      steps = 0
      while not terminated:
        _, _, terminated, truncated, _ = env.step(1)
        steps += 1
        assert not truncated
      assert steps == fake_lab.EPISODE_FRAMES // 4
      env.reset()
    lab = fake_lab.Lab.instances[-1]
    return [call[2] for call in lab.calls if call[0] == 'reset']

  first = episode_seeds(seed=1)
  assert len(set(first)) == 3  # A new seed every episode ...
  assert episode_seeds(seed=1) == first  # ... reproducible from the seed ...
  assert episode_seeds(seed=2) != first  # ... and different for another.


def test_evaluation_uses_test_levels_and_test_mode(fake_lab, tmp_path):
  dmlab.DmLab('rooms_collect_good_objects_train', training=False,
              dataset_path='/data/brady_konkle_oliva2008',
              level_cache_dir=str(tmp_path / 'cache'))
  lab = fake_lab.Lab.instances[-1]
  assert lab.level == 'contributed/dmlab30/rooms_collect_good_objects_test'
  assert lab.config['allowHoldOutLevels'] == 'true'
  assert lab.config['mixerSeed'] == str(0x600D5EED)
  assert lab.config['datasetPath'] == '/data/brady_konkle_oliva2008'
  assert isinstance(lab.level_cache, dmlab.LevelCache)


def test_config_fields_reach_the_lab(fake_lab, tmp_path):
  """dmlab_dataset_path and dmlab_level_cache_dir go through the factory the
  worker processes call."""
  from impala_tf import config as config_lib  # pylint: disable=g-import-not-at-top
  from impala_tf.runtime import environment_group  # pylint: disable=g-import-not-at-top
  config = config_lib.dmlab_config()
  config.dmlab_dataset_path = '/data/psychlab'
  config.dmlab_level_cache_dir = str(tmp_path / 'cache')
  make = environment_group.make_env_fn(
      'dmlab', 'psychlab_sequential_comparison', True,
      **config_lib.env_options(config))
  make()
  lab = fake_lab.Lab.instances[-1]
  assert lab.config['datasetPath'] == '/data/psychlab'
  assert lab.level_cache.directory == str(tmp_path / 'cache')


def test_level_cache_round_trip(tmp_path):
  cache = dmlab.LevelCache(str(tmp_path / 'cache'))
  compiled = tmp_path / 'level.pk3'
  compiled.write_bytes(b'compiled level')
  target = tmp_path / 'fetched.pk3'
  assert not cache.fetch('key', str(target))
  cache.write('key', str(compiled))
  assert cache.fetch('key', str(target))
  assert target.read_bytes() == b'compiled level'


def test_bad_levels_fail_with_the_name(fake_lab):
  with pytest.raises(ValueError, match="'rooms_waterpark'"):
    dmlab.DmLab('rooms_waterpark')
  with pytest.raises(RuntimeError, match='Failed to open level'):
    fake_lab.Lab('contributed/dmlab30/no_such_level', ['RGB_INTERLEAVED'])
  with pytest.raises(RuntimeError, match='hold-out'):
    fake_lab.Lab('contributed/dmlab30/rooms_collect_good_objects_test', [])


def test_fake_follows_the_documented_api(fake_lab):
  lab = fake_lab.Lab('tests/empty_room_test', ['RGB_INTERLEAVED', 'INSTR'],
                     config={'width': '8', 'height': '6'})
  assert not lab.is_running()
  with pytest.raises(RuntimeError):
    lab.observations()
  lab.reset(seed=1)
  assert lab.is_running() and lab.num_steps() == 0
  specs = {s['name']: s for s in lab.observation_spec()}
  assert specs['RGB_INTERLEAVED']['shape'] == (6, 8, 3)
  assert specs['INSTR']['dtype'] is str
  assert [s['name'] for s in lab.action_spec()][3] == 'MOVE_BACK_FORWARD'
  with pytest.raises(ValueError, match='np.intc'):
    lab.step(np.zeros(7, np.int64))
  with pytest.raises(ValueError, match='outside'):
    lab.step(np.array([0, 0, 0, 2, 0, 0, 0], np.intc))
  with pytest.raises(TypeError, match='strings'):
    fake_lab.Lab('tests/empty_room_test', [], config={'width': 8})
  with pytest.raises(ValueError, match='Unknown observation'):
    fake_lab.Lab('tests/empty_room_test', ['DEPTH_OF_FIELD'])
  lab.close()
  with pytest.raises(RuntimeError):
    lab.reset()


@pytest.mark.slow
def test_deep_agent_with_instructions_trains_end_to_end(fake_lab, tmp_path):
  """Worker processes, actors, the deep net with the instruction encoder and
  learner updates, all against the fake."""
  from impala_tf import config as config_lib  # pylint: disable=g-import-not-at-top
  from impala_tf.runtime import training  # pylint: disable=g-import-not-at-top
  config = config_lib.base_config()
  config.update(dict(
      env='dmlab', levels=('language_select_described_object',
                           'rooms_watermaze'),
      torso='deep', use_lstm=True, use_instruction=True,
      num_actors=2, envs_per_actor=2, unroll_length=10, batch_size=4,
      total_environment_frames=4 * 10 * 4 * 6, log_interval_s=0.1))
  stats = training.train(config, str(tmp_path))
  assert stats['num_updates'] == 6
  assert np.isfinite(stats['total_loss'])
  levels = {e['level'] for e in rundir.read_metrics(str(tmp_path), 'episode')}
  assert levels == {'language_select_described_object', 'rooms_watermaze'}
  shares = {k: v for k, v in rundir.read_metrics(str(tmp_path),
                                                 'train')[-1].items()
            if k.startswith('frame_share/')}
  assert len(shares) == 2 and sum(shares.values()) == pytest.approx(1.0)
