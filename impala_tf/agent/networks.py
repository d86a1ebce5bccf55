"""The IMPALA agent as Sonnet 2 modules (paper.md §5).

* `ShallowTorso`: the A3C network (Mnih et al., 2016): conv 16 8×8/4, conv
  32 4×4/2, FC 256 (paper.md §5.2; the paper's Fig. 3 left, 1.2 M parameters with
  the LSTM and language parts).
* `DeepTorso`: the residual network of the original release: three sections
  of (16, 32, 32) channels, each conv 3×3 → max-pool 3×3/2 → two residual
  blocks; FC 256 (paper.md §5.2; Fig. 3 right, 15 conv layers, 1.6 M parameters).
* `MLPTorso`: for small vector-observation environments used in tests and
  quick checks; not part of the paper.
* `InstructionEncoder`: DMLab's language channel: words hashed into 1000
  buckets, embedded in 20 dims, read by an LSTM of 64; its output at the last
  real word (zeros for an empty instruction).
* `ImpalaAgent`: torso ⊕ clipped last reward ⊕ one-hot last action (the
  paper's Fig. 3; the original release's Atari port leaves the action out,
  ``last_action_input=False``) (⊕ instruction) → LSTM 256 (reset inside the unroll wherever ``done`` is
  set), or no LSTM for the feed-forward Atari agents (paper.md §4.2) → policy
  logits and baseline; the action is sampled from the logits.

The agent has one code path: the actor's single-step call is an unroll of
length one, so actor and learner compute exactly the same function.
"""

from typing import Optional, Sequence, Tuple

import sonnet as snt
import tensorflow as tf
import tree

from impala_tf.choices import TORSOS
from impala_tf.types import AgentOutput, StepOutput


class ShallowTorso(snt.Module):
  """The A3C torso (paper.md §5.2). Frames ``[N, H, W, C]`` uint8 → ``[N, 256]``."""

  def __init__(self, name: str = 'shallow_torso'):
    super().__init__(name=name)
    self._conv_1 = snt.Conv2D(16, 8, stride=4, padding='VALID')
    self._conv_2 = snt.Conv2D(32, 4, stride=2, padding='VALID')
    self._linear = snt.Linear(256)

  def __call__(self, frames: tf.Tensor) -> tf.Tensor:
    x = tf.cast(frames, tf.float32) / 255.0
    x = tf.nn.relu(self._conv_1(x))
    x = tf.nn.relu(self._conv_2(x))
    return tf.nn.relu(self._linear(snt.Flatten()(x)))


class ResidualBlock(snt.Module):
  """ReLU → conv 3×3 → ReLU → conv 3×3, added to the input."""

  def __init__(self, channels: int, name: Optional[str] = None):
    super().__init__(name=name)
    self._conv_1 = snt.Conv2D(channels, 3, stride=1, padding='SAME')
    self._conv_2 = snt.Conv2D(channels, 3, stride=1, padding='SAME')

  def __call__(self, x: tf.Tensor) -> tf.Tensor:
    return x + self._conv_2(tf.nn.relu(self._conv_1(tf.nn.relu(x))))


class DeepTorso(snt.Module):
  """The residual torso (paper.md §5.2). Frames ``[N, H, W, C]`` → ``[N, 256]``."""

  def __init__(self,
               section_channels: Sequence[int] = (16, 32, 32),
               name: str = 'deep_torso'):
    super().__init__(name=name)
    self._sections = []
    for i, channels in enumerate(section_channels):
      self._sections.append((
          snt.Conv2D(channels, 3, stride=1, padding='SAME', name=f'conv_{i}'),
          ResidualBlock(channels, name=f'residual_{i}_0'),
          ResidualBlock(channels, name=f'residual_{i}_1'),
      ))
    self._linear = snt.Linear(256)

  def __call__(self, frames: tf.Tensor) -> tf.Tensor:
    x = tf.cast(frames, tf.float32) / 255.0
    for conv, block_1, block_2 in self._sections:
      x = conv(x)
      x = tf.nn.max_pool2d(x, ksize=3, strides=2, padding='SAME')
      x = block_2(block_1(x))
    x = tf.nn.relu(x)
    return tf.nn.relu(self._linear(snt.Flatten()(x)))


class MLPTorso(snt.Module):
  """For small test environments: observations ``[N, ...]`` → ``[N, 64]``.

  uint8 observations (pixels) are scaled to [0, 1] like the conv torsos do.
  """

  def __init__(self, hidden_sizes: Sequence[int] = (64, 64),
               name: str = 'mlp_torso'):
    super().__init__(name=name)
    self._mlp = snt.nets.MLP(hidden_sizes, activate_final=True)

  def __call__(self, observations: tf.Tensor) -> tf.Tensor:
    x = tf.cast(observations, tf.float32)
    if observations.dtype == tf.uint8:
      x = x / 255.0
    return self._mlp(snt.Flatten()(x))


class MinAtarTorso(snt.Module):
  """The network of the MinAtar paper (Young & Tian, 2019): one conv layer
  of 16 3×3 filters (stride 1, no padding) and a 128-unit linear layer.
  Frames ``[N, 10, 10, C]`` (bool or 0/1) → ``[N, 128]``."""

  def __init__(self, name: str = 'minatar_torso'):
    super().__init__(name=name)
    self._conv = snt.Conv2D(16, 3, stride=1, padding='VALID')
    self._linear = snt.Linear(128)

  def __call__(self, frames: tf.Tensor) -> tf.Tensor:
    x = tf.nn.relu(self._conv(tf.cast(frames, tf.float32)))
    return tf.nn.relu(self._linear(snt.Flatten()(x)))


def make_torso(name: str) -> snt.Module:
  """One of `TORSOS` by name."""
  if name == 'shallow':
    return ShallowTorso()
  if name == 'deep':
    return DeepTorso()
  if name == 'mlp':
    return MLPTorso()
  if name == 'minatar':
    return MinAtarTorso()
  raise ValueError(f'Unknown torso {name!r}; choose one of {TORSOS}')


class InstructionEncoder(snt.Module):
  """DMLab's language channel (paper.md §5.2). Strings ``[N]`` → ``[N, 64]``."""

  def __init__(self,
               num_hash_buckets: int = 1000,
               embedding_size: int = 20,
               hidden_size: int = 64,
               name: str = 'instruction_encoder'):
    super().__init__(name=name)
    self._num_hash_buckets = num_hash_buckets
    self._embed = snt.Embed(num_hash_buckets, embedding_size)
    self._lstm = snt.LSTM(hidden_size, name='language_lstm')

  def __call__(self, instructions: tf.Tensor) -> tf.Tensor:
    words = tf.strings.split(instructions)  # Ragged [N, (words)].
    lengths = words.row_lengths()
    # Hash buckets as in the original (FarmHash); collisions are tolerated.
    buckets = tf.strings.to_hash_bucket_fast(
        words.to_tensor(default_value=''), self._num_hash_buckets)
    embeddings = self._embed(buckets)  # [N, L, E]
    # One padding step so that a batch of empty instructions still unrolls;
    # sequence_length keeps the state of each row at its last real word.
    embeddings = tf.pad(embeddings, [[0, 0], [0, 1], [0, 0]])
    _, final_state = snt.dynamic_unroll(
        self._lstm,
        tf.transpose(embeddings, [1, 0, 2]),
        self._lstm.initial_state(tf.shape(instructions)[0]),
        sequence_length=tf.cast(lengths, tf.int32))
    return final_state.hidden


class ResettingCore(snt.RNNCore):
  """Wraps a core so that its state is zeroed where ``done`` is set.

  Inputs are ``(x [B, ...], done [B])``. The reset happens before the step,
  because a set ``done`` means the observation starts a new episode.
  """

  def __init__(self, core: snt.RNNCore, name: str = 'resetting_core'):
    super().__init__(name=name)
    self._core = core

  def initial_state(self, batch_size):
    return self._core.initial_state(batch_size)

  def __call__(self, inputs, prev_state):
    x, done = inputs
    initial = self._core.initial_state(tf.shape(done)[0])
    state = tree.map_structure(
        lambda zero, s: tf.where(_expand_to(done, s), zero, s), initial,
        prev_state)
    return self._core(x, state)


def _expand_to(mask: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
  """Reshapes mask ``[B]`` so that it broadcasts against ``x [B, ...]``."""
  return tf.reshape(mask, [-1] + [1] * (x.shape.rank - 1))


class ImpalaAgent(snt.Module):
  """The IMPALA agent.

  Args:
    num_actions: size of the discrete action set.
    torso: 'shallow', 'deep' or 'mlp'.
    use_lstm: LSTM core (DMLab) or feed-forward (Atari, paper.md §4.2).
    use_instruction: read ``(frame, instruction)`` observations (DMLab).
    lstm_size: units of the core LSTM (256 in the paper).
    last_action_input: feed the one-hot last action to the core (Fig. 3);
      False feeds the clipped last reward alone, as the original release's
      Atari port does.
  """

  def __init__(self,
               num_actions: int,
               torso: str = 'shallow',
               use_lstm: bool = True,
               use_instruction: bool = False,
               lstm_size: int = 256,
               last_action_input: bool = True,
               name: str = 'impala_agent'):
    super().__init__(name=name)
    if num_actions < 1:
      raise ValueError(f'num_actions must be positive, got {num_actions}')
    self._num_actions = num_actions
    self._last_action_input = last_action_input
    self._torso = make_torso(torso)
    self._instruction_encoder = (
        InstructionEncoder() if use_instruction else None)
    self._core = (
        ResettingCore(snt.LSTM(lstm_size, name='core_lstm'))
        if use_lstm else None)
    self._policy_logits = snt.Linear(num_actions, name='policy_logits')
    self._baseline = snt.Linear(1, name='baseline')

  @property
  def num_actions(self) -> int:
    return self._num_actions

  def initial_state(self, batch_size):
    """The core state at an episode start; ``()`` for feed-forward agents."""
    if self._core is None:
      return ()
    return self._core.initial_state(batch_size)

  def state_spec(self):
    """`tf.TensorSpec` nest of one agent's core state (no batch axis)."""
    return tree.map_structure(lambda t: tf.TensorSpec(t.shape[1:], t.dtype),
                              self.initial_state(1))

  def __call__(self, prev_action: tf.Tensor, env_output: StepOutput,
               core_state) -> Tuple[AgentOutput, object]:
    """One step for a batch of actors: leaves ``[B, ...]`` → ``[B, ...]``."""
    add_time = lambda t: tf.expand_dims(t, 0)
    outputs, core_state = self.unroll(
        add_time(prev_action), tree.map_structure(add_time, env_output),
        core_state)
    return tree.map_structure(lambda t: tf.squeeze(t, 0), outputs), core_state

  def unroll(self, prev_actions: tf.Tensor, env_outputs: StepOutput,
             core_state) -> Tuple[AgentOutput, object]:
    """Runs the agent over ``[T, B]`` steps.

    Args:
      prev_actions: int32 ``[T, B]``, the action that led to each env output.
      env_outputs: `StepOutput` with leaves ``[T, B, ...]``.
      core_state: the state before step 0 (``[B, ...]`` leaves, or ``()``).

    Returns:
      `AgentOutput` with leaves ``[T, B, ...]`` (logits ``[T, B, A]``), and
      the core state after the last step.
    """
    reward = tf.clip_by_value(tf.cast(env_outputs.reward, tf.float32), -1., 1.)
    if self._instruction_encoder is not None:
      frames, instructions = env_outputs.observation
    else:
      frames, instructions = env_outputs.observation, None
    features = [snt.BatchApply(self._torso)(frames), reward[..., None]]
    if self._last_action_input:
      features.append(tf.one_hot(prev_actions, self._num_actions))
    if instructions is not None:
      features.append(snt.BatchApply(self._instruction_encoder)(instructions))
    core_input = tf.concat(features, axis=-1)

    if self._core is None:
      core_output = core_input
    else:
      inputs = (core_input, tf.cast(env_outputs.done, tf.bool))
      if core_input.shape[0] is not None:
        core_output, core_state = snt.static_unroll(self._core, inputs,
                                                    core_state)
      else:
        core_output, core_state = snt.dynamic_unroll(self._core, inputs,
                                                     core_state)

    policy_logits = snt.BatchApply(self._policy_logits)(core_output)
    baseline = tf.squeeze(snt.BatchApply(self._baseline)(core_output), -1)
    flat_logits = tf.reshape(policy_logits, [-1, self._num_actions])
    action = tf.reshape(
        tf.random.categorical(flat_logits, 1, dtype=tf.int32),
        tf.shape(policy_logits)[:-1])
    return AgentOutput(action, policy_logits, baseline), core_state
