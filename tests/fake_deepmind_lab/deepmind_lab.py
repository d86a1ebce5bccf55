"""A fake of DeepMind Lab's Python module, for tests where the real one
cannot be built. It follows the documented API of ``deepmind_lab`` (docs/
users/python_api.md of google-deepmind/lab): the module functions, the
``Lab`` constructor's arguments, ``reset(episode, seed)``, ``step(action,
num_steps)``, ``is_running``, ``num_steps``, ``observations``, the
observation and action specs with their bounds, ``events``, ``fps`` and
``close``; string config values; errors on unknown levels, unknown
observations and malformed actions.

Its worlds are trivial and deterministic given the seed: the frame's colour
encodes the step count, moving forward earns reward 1 per frame, language
levels carry an instruction, episodes last ``EPISODE_FRAMES`` frames.
Every call is recorded in ``Lab.calls`` for tests to inspect.
"""

import numpy as np

EPISODE_FRAMES = 60
_DMLAB30 = (
    'rooms_collect_good_objects_train', 'rooms_collect_good_objects_test',
    'rooms_exploit_deferred_effects_train',
    'rooms_exploit_deferred_effects_test', 'rooms_select_nonmatching_object',
    'rooms_watermaze', 'rooms_keys_doors_puzzle',
    'language_select_described_object', 'language_select_located_object',
    'language_execute_random_task', 'language_answer_quantitative_question',
    'lasertag_one_opponent_large', 'lasertag_three_opponents_large',
    'lasertag_one_opponent_small', 'lasertag_three_opponents_small',
    'natlab_fixed_large_map', 'natlab_varying_map_regrowth',
    'natlab_varying_map_randomized', 'skymaze_irreversible_path_hard',
    'skymaze_irreversible_path_varied', 'psychlab_arbitrary_visuomotor_mapping',
    'psychlab_continuous_recognition', 'psychlab_sequential_comparison',
    'psychlab_visual_search', 'explore_object_locations_small',
    'explore_object_locations_large', 'explore_obstructed_goals_small',
    'explore_obstructed_goals_large', 'explore_goal_locations_small',
    'explore_goal_locations_large', 'explore_object_rewards_few',
    'explore_object_rewards_many')
LEVELS = tuple('contributed/dmlab30/' + name for name in _DMLAB30) + (
    'tests/empty_room_test', 'seekavoid_arena_01')
HOLD_OUT_LEVELS = tuple('contributed/dmlab30/' + name for name in _DMLAB30
                        if name.endswith('_test'))
_ACTION_SPEC = (
    {'name': 'LOOK_LEFT_RIGHT_PIXELS_PER_FRAME', 'min': -512, 'max': 512},
    {'name': 'LOOK_DOWN_UP_PIXELS_PER_FRAME', 'min': -512, 'max': 512},
    {'name': 'STRAFE_LEFT_RIGHT', 'min': -1, 'max': 1},
    {'name': 'MOVE_BACK_FORWARD', 'min': -1, 'max': 1},
    {'name': 'FIRE', 'min': 0, 'max': 1},
    {'name': 'JUMP', 'min': 0, 'max': 1},
    {'name': 'CROUCH', 'min': 0, 'max': 1},
)
_runfiles_path = ['/fake/runfiles']


def version():
  return '1.0-fake'


def runfiles_path():
  return _runfiles_path[0]


def set_runfiles_path(path):
  _runfiles_path[0] = path


class Lab:
  """``deepmind_lab.Lab(level, observations, config={}, renderer='software',
  level_cache=None)``."""

  instances = []  # Every Lab built in this process, for tests.

  def __init__(self, level, observations, config=None, renderer='software',
               level_cache=None):
    config = dict(config or {})
    for key, value in config.items():
      if not isinstance(key, str) or not isinstance(value, str):
        raise TypeError('Config key and value must be strings: '
                        f'{key!r}: {value!r}')
    if level not in LEVELS:
      raise RuntimeError(f'Failed to open level {level!r}')
    if level in HOLD_OUT_LEVELS and config.get('allowHoldOutLevels') != 'true':
      raise RuntimeError(f'{level!r} is a hold-out level; set '
                         "allowHoldOutLevels='true'")
    if renderer not in ('software', 'hardware'):
      raise ValueError(f"renderer must be 'software' or 'hardware', got "
                       f'{renderer!r}')
    self.width = int(config.get('width', '320'))
    self.height = int(config.get('height', '240'))
    self._spec = {
        'RGB_INTERLEAVED': {'name': 'RGB_INTERLEAVED', 'dtype': np.uint8,
                            'shape': (self.height, self.width, 3)},
        'RGB': {'name': 'RGB', 'dtype': np.uint8,
                'shape': (3, self.height, self.width)},
        'INSTR': {'name': 'INSTR', 'dtype': str, 'shape': ()},
    }
    for name in observations:
      if name not in self._spec:
        raise ValueError(f'Unknown observation {name!r}')
    self.level, self.config, self.renderer = level, config, renderer
    self.level_cache = level_cache
    self._observation_names = list(observations)
    self._running = False
    self._closed = False
    self._frames = 0
    self._rng = np.random.RandomState(0)
    self.calls = []
    Lab.instances.append(self)

  def reset(self, episode=-1, seed=None):
    self._check_open()
    self.calls.append(('reset', episode, seed))
    self._rng = np.random.RandomState(
        seed if seed is not None else np.random.randint(2**31 - 1))
    self._colour = int(self._rng.randint(256))
    self._frames = 0
    self._running = True
    return True

  def num_steps(self):
    return self._frames

  def is_running(self):
    return self._running

  def step(self, action, num_steps=1):
    self._check_open()
    if not self._running:
      raise RuntimeError('step called on a finished episode; call reset')
    action = np.asarray(action)
    if action.dtype != np.intc or action.shape != (len(_ACTION_SPEC),):
      raise ValueError(f'action must be np.intc of shape (7,), got '
                       f'{action.dtype} {action.shape}')
    for value, spec in zip(action, _ACTION_SPEC):
      if not spec['min'] <= value <= spec['max']:
        raise ValueError(f'{spec["name"]}={value} outside '
                         f'[{spec["min"]}, {spec["max"]}]')
    self.calls.append(('step', action.tolist(), num_steps))
    reward = 0.0
    for _ in range(num_steps):
      self._frames += 1
      reward += float(action[3] == 1)  # Forward pays 1 a frame.
      if self._frames >= EPISODE_FRAMES:
        self._running = False
        break
    return reward

  def observation_spec(self):
    return list(self._spec.values())

  def action_spec(self):
    return [dict(spec) for spec in _ACTION_SPEC]

  def observations(self):
    self._check_open()
    if not self._running:
      raise RuntimeError('no observations: the episode is not running')
    result = {}
    for name in self._observation_names:
      if name == 'INSTR':
        result[name] = ('go to the red ball' if 'language' in self.level
                        else '')
      else:
        frame = np.full((self.height, self.width, 3),
                        (self._colour + self._frames) % 256, np.uint8)
        result[name] = frame if name == 'RGB_INTERLEAVED' else np.moveaxis(
            frame, -1, 0)
    return result

  def events(self):
    return []

  def fps(self):
    return 60

  def close(self):
    self._closed = True
    self._running = False

  def _check_open(self):
    if self._closed:
      raise RuntimeError('the environment is closed')
