"""The four off-policy corrections of the paper's Table 2 (paper.md §2).

* 'vtrace': V-trace with the configured ρ̄, c̄, pg-ρ̄ and λ (§4).
* 'one_step_is': 1-step importance sampling: no correction of the value
  target (the n-step return of the learner's values, as on-policy), and the
  policy-gradient advantage at each step multiplied by that step's importance
  weight ρ_t, clipped at pg-ρ̄ (1 in the paper): V-trace without traces.
* 'epsilon_correction': no correction of the targets, but ε = 1e-6 added to
  π(a|x) inside the policy gradient's log, so that log π cannot get very
  small (GA3C's trick).
* 'no_correction': the targets and the gradient as if the data were
  on-policy.

The three non-V-trace targets are computed by the same V-trace code with all
importance weights set to 1 (the on-policy case, where V-trace is the n-step
return, equation 2); λ still applies to the traces.
"""

from typing import NamedTuple, Optional

import tensorflow as tf

from impala_tf.agent import vtrace
from impala_tf.choices import CORRECTIONS

# Added to π(a|x) inside the log by 'epsilon_correction' (paper.md §2).
EPSILON = 1e-6


class Targets(NamedTuple):
  """All ``[T, B]``: value targets v_s, policy-gradient advantages, and the
  log importance weights log π/μ of the taken actions (for statistics)."""
  vs: tf.Tensor
  pg_advantages: tf.Tensor
  log_rhos: tf.Tensor


def targets(correction: str, behaviour_policy_logits, target_policy_logits,
            actions, discounts, rewards, values, bootstrap_value,
            clip_rho_threshold: Optional[float] = 1.0,
            clip_c_threshold: Optional[float] = 1.0,
            clip_pg_rho_threshold: Optional[float] = 1.0,
            lambda_: float = 1.0) -> Targets:
  """Value targets and advantages under ``correction`` (see module doc).

  Shapes as `vtrace.from_logits`: logits ``[T, B, A]``, actions, discounts,
  rewards and values ``[T, B]``, bootstrap_value ``[B]``. The thresholds
  apply to 'vtrace'; 'one_step_is' uses ``clip_pg_rho_threshold`` only.
  """
  if correction not in CORRECTIONS:
    raise ValueError(f'Unknown off-policy correction {correction!r}; choose '
                     f'one of {CORRECTIONS}')
  log_rhos = (vtrace.action_log_probs(target_policy_logits, actions) -
              vtrace.action_log_probs(behaviour_policy_logits, actions))
  if correction == 'vtrace':
    returns = vtrace.from_importance_weights(
        log_rhos, discounts, rewards, values, bootstrap_value,
        clip_rho_threshold=clip_rho_threshold,
        clip_c_threshold=clip_c_threshold,
        clip_pg_rho_threshold=clip_pg_rho_threshold, lambda_=lambda_)
    return Targets(returns.vs, returns.pg_advantages, log_rhos)
  on_policy = vtrace.from_importance_weights(
      tf.zeros_like(log_rhos), discounts, rewards, values, bootstrap_value,
      clip_rho_threshold=None, clip_c_threshold=None,
      clip_pg_rho_threshold=None, lambda_=lambda_)
  pg_advantages = on_policy.pg_advantages
  if correction == 'one_step_is':
    rhos = tf.exp(log_rhos)
    if clip_pg_rho_threshold is not None:
      rhos = tf.minimum(tf.cast(clip_pg_rho_threshold, rhos.dtype), rhos)
    pg_advantages = tf.stop_gradient(rhos) * pg_advantages
  return Targets(on_policy.vs, pg_advantages, log_rhos)
