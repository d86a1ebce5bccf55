"""RMSProp with the semantics of TF1's `tf.train.RMSPropOptimizer`.

The paper's and the original release's learning rates were tuned with TF1's
RMSProp, which differs from Keras' in two ways that matter early in training:

    ms  ← decay · ms + (1 − decay) · g²        ms starts at 1.0, not 0
    mom ← momentum · mom + lr · g / √(ms + ε)  ε inside the square root
    θ   ← θ − mom

Sonnet's RMSProp puts ε inside the root but starts ``ms`` at 0 and refuses
MirroredStrategy, so this small module is our own. It updates variables in
cross-replica context, which works under any `tf.distribute` strategy.

``style='torch'`` gives PyTorch's RMSprop instead, which TorchBeast and
other peers train with, for comparing against them (not the paper's):

    ms  ← decay · ms + (1 − decay) · g²        ms starts at 0
    mom ← momentum · mom + g / (√ms + ε)       ε outside the square root
    θ   ← θ − lr · mom
"""

from typing import Sequence

import tensorflow as tf

from impala_tf.choices import RMSPROP_STYLES


class RMSProp(tf.Module):
  """TF1-style RMSProp over a fixed list of variables.

  Args:
    variables: the trainable variables it will update; slots are created
      at once (under the caller's strategy scope) so that checkpoints hold them.
    decay: the mean-square decay (0.99 in the original release, paper.md §6.2).
    momentum: 0 in the paper (Tables D.3, G.1).
    epsilon: ε inside the square root ('tf1') or added to it ('torch'); a
      variable so that PBT can evolve it.
    style: 'tf1' (the paper's) or 'torch' (see the module docstring).
  """

  def __init__(self,
               variables: Sequence[tf.Variable],
               decay: float = 0.99,
               momentum: float = 0.0,
               epsilon: float = 0.1,
               style: str = 'tf1',
               name: str = 'rmsprop'):
    super().__init__(name=name)
    if style not in RMSPROP_STYLES:
      raise ValueError(f'Unknown RMSProp style {style!r}; choose one of '
                       f'{RMSPROP_STYLES}')
    self.style = style
    self._variables = list(variables)
    self.decay = decay
    self.momentum = momentum
    self.epsilon = tf.Variable(epsilon, dtype=tf.float32, trainable=False,
                               name='epsilon')
    with tf.name_scope(name):
      self.mean_square = [
          tf.Variable(tf.ones_like(v) if style == 'tf1' else tf.zeros_like(v),
                      trainable=False, name='ms')
          for v in self._variables
      ]
      self.moment = [
          tf.Variable(tf.zeros_like(v), trainable=False, name='mom')
          for v in self._variables
      ]

  def apply(self, gradients: Sequence[tf.Tensor], learning_rate) -> None:
    """One update of every variable; a gradient of None leaves it alone."""
    if len(gradients) != len(self._variables):
      raise ValueError(f'Got {len(gradients)} gradients for '
                       f'{len(self._variables)} variables')
    for grad, var, ms, mom in zip(gradients, self._variables, self.mean_square,
                                  self.moment):
      if grad is None:
        continue
      lr = tf.cast(learning_rate, grad.dtype)
      epsilon = tf.cast(self.epsilon, grad.dtype)
      new_ms = self.decay * ms + (1.0 - self.decay) * tf.square(grad)
      ms.assign(new_ms)
      if self.style == 'tf1':
        new_mom = self.momentum * mom + lr * grad * tf.math.rsqrt(
            new_ms + epsilon)
        mom.assign(new_mom)
        var.assign_sub(new_mom)
      else:
        new_mom = self.momentum * mom + grad / (tf.sqrt(new_ms) + epsilon)
        mom.assign(new_mom)
        var.assign_sub(lr * new_mom)
