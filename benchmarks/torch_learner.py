"""Our shallow Atari learner step, written in PyTorch: the yardstick for L.

The same network as `impala_tf.agent.networks.ImpalaAgent` with the shallow torso
and no LSTM (conv 16×8×8/4 → conv 32×4×4/2 → 256 → policy and baseline over
the torso output, the clipped reward and the one-hot last action), the same
batch ([T + 1, B] frames of 84×84×4 uint8), V-trace targets at ρ̄ = c̄ = 1,
the summed losses (baseline 0.5, entropy 0.01), global-norm clipping at 40
and RMSProp (decay 0.99, ε 0.01). It is what TorchBeast's monobeast learner
computes for this network, in a few lines, so that our TensorFlow train step
can be held against PyTorch's on the same machine and batch shape.

It imports only torch and numpy (never TensorFlow), so it runs in any
interpreter that has torch:

  /path/to/torch-venv/bin/python benchmarks/torch_learner.py --seconds=20

`benchmarks/throughput.py --torch_python=/path/to/torch-venv/bin/python`
runs it in every cycle beside our L. Prints one JSON object: fps (frames/s,
4 frames per agent step) and frames per CPU-second.
"""

import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

FRAMES_PER_STEP = 4  # Action repeats.


class ShallowAgent(nn.Module):
  """Frames ``[N, 4, 84, 84]`` uint8 → policy logits ``[N, A]``, values ``[N]``."""

  def __init__(self, num_actions: int):
    super().__init__()
    self.num_actions = num_actions
    self.conv_1 = nn.Conv2d(4, 16, 8, stride=4)
    self.conv_2 = nn.Conv2d(16, 32, 4, stride=2)
    self.linear = nn.Linear(32 * 9 * 9, 256)
    self.policy = nn.Linear(256 + 1 + num_actions, num_actions)
    self.baseline = nn.Linear(256 + 1 + num_actions, 1)

  def forward(self, frames, rewards, last_actions):
    x = frames.float() / 255.0
    x = F.relu(self.conv_2(F.relu(self.conv_1(x))))
    x = F.relu(self.linear(x.flatten(1)))
    x = torch.cat([x, rewards.clamp(-1, 1)[:, None],
                   F.one_hot(last_actions, self.num_actions).float()], 1)
    return self.policy(x), self.baseline(x).squeeze(1)


def vtrace_targets(log_rhos, discounts, rewards, values, bootstrap_value):
  """V-trace at ρ̄ = c̄ = 1 (paper eq. 1); all ``[T, B]``, bootstrap ``[B]``."""
  rhos = log_rhos.exp().clamp(max=1.0)
  values_next = torch.cat([values[1:], bootstrap_value[None]], 0)
  deltas = rhos * (rewards + discounts * values_next - values)
  corrections, accumulated = [], torch.zeros_like(bootstrap_value)
  for t in reversed(range(len(deltas))):
    accumulated = deltas[t] + discounts[t] * rhos[t] * accumulated
    corrections.append(accumulated)
  vs = values + torch.stack(corrections[::-1])
  vs_next = torch.cat([vs[1:], bootstrap_value[None]], 0)
  return vs, rhos * (rewards + discounts * vs_next - values)


def train_step(agent, optimiser, batch, unroll_length, batch_size):
  frames, rewards, actions, behaviour_logits, discounts = batch
  n = (unroll_length + 1) * batch_size
  logits, values = agent(frames.reshape(n, 4, 84, 84), rewards.reshape(n),
                         actions.reshape(n))
  logits = logits.reshape(unroll_length + 1, batch_size, -1)
  values = values.reshape(unroll_length + 1, batch_size)
  # Step t's action is taken at step t and rewarded at t + 1.
  logits, bootstrap, values = logits[:-1], values[-1], values[:-1]
  taken, rewards_ = actions[1:], rewards[1:]
  log_pi = F.log_softmax(logits, -1)
  log_pi_taken = log_pi.gather(-1, taken[..., None]).squeeze(-1)
  log_mu_taken = F.log_softmax(behaviour_logits[:-1], -1).gather(
      -1, taken[..., None]).squeeze(-1)
  with torch.no_grad():
    vs, advantages = vtrace_targets(log_pi_taken - log_mu_taken,
                                    discounts[1:] * 0.99, rewards_.clamp(-1, 1),
                                    values, bootstrap)
  loss = (-(log_pi_taken * advantages).sum() +
          0.5 * 0.5 * ((vs - values) ** 2).sum() +
          0.01 * (log_pi.exp() * log_pi).sum())
  optimiser.zero_grad()
  loss.backward()
  nn.utils.clip_grad_norm_(agent.parameters(), 40.0)
  optimiser.step()
  return loss


def random_batch(rng, unroll_length, batch_size, num_actions):
  shape = (unroll_length + 1, batch_size)
  return (torch.from_numpy(rng.integers(0, 256, shape + (4, 84, 84),
                                        dtype=np.uint8)),
          torch.from_numpy(rng.normal(size=shape).astype(np.float32)),
          torch.from_numpy(rng.integers(0, num_actions, shape)),
          torch.from_numpy(rng.normal(size=shape + (num_actions,)).astype(
              np.float32)),
          torch.from_numpy((rng.random(shape) > 0.01).astype(np.float32)))


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--seconds', type=float, default=20.0)
  parser.add_argument('--unroll_length', type=int, default=20)
  parser.add_argument('--batch_size', type=int, default=32)
  parser.add_argument('--num_actions', type=int, default=6)  # Pong's set.
  args = parser.parse_args()
  # As many threads as the cores this process may use (TensorFlow's default).
  torch.set_num_threads(len(os.sched_getaffinity(0)))
  torch.manual_seed(0)
  agent = ShallowAgent(args.num_actions)
  optimiser = torch.optim.RMSprop(agent.parameters(), lr=6e-4, alpha=0.99,
                                  eps=0.01)
  batch = random_batch(np.random.default_rng(0), args.unroll_length,
                       args.batch_size, args.num_actions)
  for _ in range(3):  # Warm-up: allocator and kernels.
    train_step(agent, optimiser, batch, args.unroll_length, args.batch_size)
  updates, start, start_cpu = 0, time.monotonic(), time.process_time()
  while time.monotonic() - start < args.seconds:
    train_step(agent, optimiser, batch, args.unroll_length, args.batch_size)
    updates += 1
  frames = updates * args.unroll_length * args.batch_size * FRAMES_PER_STEP
  print(json.dumps(dict(
      fps=frames / (time.monotonic() - start),
      frames_per_cpu_second=frames / max(time.process_time() - start_cpu,
                                         1e-9),
      torch=torch.__version__, threads=torch.get_num_threads())))


if __name__ == '__main__':
  main()
