"""The learner's hyperparameters as one typed, immutable object.

The learner receives a `LearnerHyperparameters`, not a run config: it reads
nothing else, and a config is checked once, at the edge
(`config.validate_config`, called by the command lines and by
`runtime.training.Trainer`), before one is built from it.
"""

import dataclasses
from typing import Optional

import ml_collections

# The hyperparameters a run may change while it trains (population-based
# training, paper.md §6.4), by their config field names. The learner holds each
# in a variable, so a new value needs no retrace and lands in checkpoints.
EVOLVABLE = ('learning_rate', 'entropy_cost', 'rmsprop_epsilon',
             'max_grad_norm')


@dataclasses.dataclass(frozen=True)
class LearnerHyperparameters:
  """What `Learner` uses; each field is the run config's field of that name
  (`config.learner_config` says what each means and where it comes from).
  A threshold or norm of None (or inf) means no truncation or clipping."""
  total_environment_frames: int
  num_action_repeats: int
  learning_rate: float
  rmsprop_decay: float
  rmsprop_momentum: float
  rmsprop_epsilon: float
  rmsprop_style: str
  max_grad_norm: Optional[float]
  discounting: float
  baseline_cost: float
  entropy_cost: float
  reward_clipping: str
  clip_rho_threshold: Optional[float]
  clip_c_threshold: Optional[float]
  clip_pg_rho_threshold: Optional[float]
  vtrace_lambda: float
  off_policy_correction: str
  replay_fraction: float

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict
                  ) -> 'LearnerHyperparameters':
    """The learner's fields of a (validated) run config."""
    return cls(**{field.name: config[field.name]
                  for field in dataclasses.fields(cls)})
