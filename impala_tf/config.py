"""The learner's hyperparameters: defaults and validation.

Defaults are the original release's flag defaults (facts §6.2, "[SA] flag
defaults") unless a comment cites the paper; paper_configs/ override them per
experiment. `validate` runs before anything starts, so that a bad value fails
at once with a message naming the field and the value.
"""

import math

import ml_collections
from ml_collections import config_dict

from impala_tf import losses


def learner_config() -> ml_collections.ConfigDict:
  """Learner hyperparameters with their defaults."""
  return ml_collections.ConfigDict(dict(
      # Frames are agent steps × action repeats (facts §1). The learning rate
      # is annealed linearly to 0 over total_environment_frames (facts §6.2).
      total_environment_frames=int(1e9),  # [SA] default.
      num_action_repeats=4,  # Tables D.3, G.1.
      learning_rate=0.00048,  # [SA] default.
      rmsprop_decay=0.99,  # [SA]; not in the paper.
      rmsprop_momentum=0.0,  # Tables D.3, G.1.
      rmsprop_epsilon=0.1,  # [SA] default.
      # Global-norm gradient clipping: 40 on Atari (Table G.1); none on DMLab.
      max_grad_norm=config_dict.placeholder(float),
      discounting=0.99,  # Tables D.3, G.1.
      baseline_cost=0.5,  # Tables D.3, G.1.
      entropy_cost=0.00025,  # [SA] default.
      reward_clipping='abs_one',  # [SA] default; see losses.clip_rewards.
      # V-trace truncation (facts §7): ρ̄ = c̄ = 1 in the paper. None: no clip.
      # Typed references so that a threshold can be set to None and back.
      clip_rho_threshold=config_dict.FieldReference(1.0, field_type=float),
      clip_c_threshold=config_dict.FieldReference(1.0, field_type=float),
      clip_pg_rho_threshold=config_dict.FieldReference(1.0, field_type=float),
      vtrace_lambda=1.0,
  ))


def validate_learner_config(config: ml_collections.ConfigDict) -> None:
  """Raises ValueError naming the first field whose value is out of range."""

  def check(field, ok, requirement):
    value = config[field]
    if not ok(value):
      raise ValueError(f'config.{field}={value!r}: must be {requirement}')

  is_number = lambda x: isinstance(x, (int, float)) and math.isfinite(x)
  positive = lambda x: is_number(x) and x > 0
  check('total_environment_frames', positive, 'a positive number')
  check('num_action_repeats', lambda x: isinstance(x, int) and x > 0,
        'a positive integer')
  check('learning_rate', positive, 'positive')
  check('rmsprop_decay', lambda x: is_number(x) and 0 <= x < 1, 'in [0, 1)')
  check('rmsprop_momentum', lambda x: is_number(x) and 0 <= x < 1, 'in [0, 1)')
  check('rmsprop_epsilon', positive, 'positive')
  check('max_grad_norm', lambda x: x is None or positive(x),
        'positive, or None for no clipping')
  check('discounting', lambda x: is_number(x) and 0 <= x <= 1, 'in [0, 1]')
  check('baseline_cost', lambda x: is_number(x) and x >= 0, 'non-negative')
  check('entropy_cost', lambda x: is_number(x) and x >= 0, 'non-negative')
  check('reward_clipping', lambda x: x in losses.REWARD_CLIPPING,
        f'one of {losses.REWARD_CLIPPING}')
  for field in ('clip_rho_threshold', 'clip_c_threshold',
                'clip_pg_rho_threshold'):
    check(field, lambda x: x is None or positive(x),
          'positive, or None for no clipping')
  check('vtrace_lambda', lambda x: is_number(x) and 0 <= x <= 1, 'in [0, 1]')
