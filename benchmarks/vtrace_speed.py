"""Time per call of V-trace: our default path beside a reverse `tf.scan`.

The reverse scan is written here in the shape of the original release's
vtrace.py (a sequential recursion over time). Both are timed eagerly, under
`tf.function` and under `tf.function(jit_compile=True)` (XLA), for the two
shapes the paper uses: DMLab [T=100, B=32] and Atari [T=20, B=256].

Prints one JSON object. `speedup_vs_scan` divides the scan's best time by
ours, mode by mode; above 1 means ours is faster.

  python benchmarks/vtrace_speed.py [--repeats 200]
"""

import argparse
import json
import os
import platform
import timeit

# Before TensorFlow: the package turns on its oneDNN kernels (its __init__).
from impala_tf.agent import vtrace  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top

SHAPES = ((100, 32), (20, 256))


def scan_vtrace(log_rhos, discounts, rewards, values, bootstrap_value,
                clip_rho_threshold=1.0, clip_pg_rho_threshold=1.0):
  """Reverse-scan V-trace, the shape of the original release (c̄ = 1)."""
  rhos = tf.exp(log_rhos)
  clipped_rhos = tf.minimum(clip_rho_threshold, rhos)
  cs = tf.minimum(1.0, rhos)
  values_t_plus_1 = tf.concat([values[1:], bootstrap_value[None]], axis=0)
  deltas = clipped_rhos * (rewards + discounts * values_t_plus_1 - values)

  def step(acc, sequence_item):
    discount_t, c_t, delta_t = sequence_item
    return delta_t + discount_t * c_t * acc

  vs_minus_v = tf.scan(
      fn=step,
      elems=(discounts, cs, deltas),
      initializer=tf.zeros_like(bootstrap_value),
      parallel_iterations=1,
      reverse=True)
  vs = vs_minus_v + values
  vs_t_plus_1 = tf.concat([vs[1:], bootstrap_value[None]], axis=0)
  pg_advantages = tf.minimum(clip_pg_rho_threshold, rhos) * (
      rewards + discounts * vs_t_plus_1 - values)
  return tf.stop_gradient(vs), tf.stop_gradient(pg_advantages)


def ours(log_rhos, discounts, rewards, values, bootstrap_value):
  returns = vtrace.from_importance_weights(log_rhos, discounts, rewards, values,
                                          bootstrap_value)
  return returns.vs, returns.pg_advantages


def make_inputs(num_steps, batch_size, seed=0):
  rng = np.random.default_rng(seed)
  shape = (num_steps, batch_size)
  discounts = 0.99 * (rng.random(shape) > 0.05)
  return [
      tf.constant(x, tf.float32) for x in (
          rng.normal(0.0, 0.5, shape), discounts, rng.normal(size=shape),
          rng.normal(size=shape), rng.normal(size=(batch_size,)))
  ]


def time_per_call_us(fn, inputs, repeats):
  fn(*inputs)  # Trace / compile outside the timing.
  timer = timeit.Timer(lambda: [t.numpy() for t in fn(*inputs)])
  # Best of 5 rounds: these machines are shared, the minimum is the signal.
  return min(timer.repeat(repeat=5, number=repeats)) / repeats * 1e6


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--repeats', type=int, default=100)
  args = parser.parse_args()

  results = {
      'benchmark': 'vtrace_speed',
      'unit': 'microseconds per call (best of 5 rounds)',
      'machine': f'{platform.machine()}, {os.cpu_count()} cores',
      'tensorflow': tf.__version__,
      'shapes': {},
  }
  for num_steps, batch_size in SHAPES:
    inputs = make_inputs(num_steps, batch_size)
    max_abs_diff = float(tf.reduce_max(tf.abs(ours(*inputs)[0] -
                                              scan_vtrace(*inputs)[0])))
    timings = {}
    for impl_name, impl in (('ours', ours), ('reverse_scan', scan_vtrace)):
      modes = {
          'eager': impl,
          'tf_function': tf.function(impl),
          'xla': tf.function(impl, jit_compile=True),
      }
      timings[impl_name] = {
          mode: round(time_per_call_us(fn, inputs, args.repeats), 1)
          for mode, fn in modes.items()
      }
    results['shapes'][f'T={num_steps},B={batch_size}'] = {
        **timings,
        'speedup_vs_scan': {
            mode: round(timings['reverse_scan'][mode] / timings['ours'][mode], 2)
            for mode in timings['ours']
        },
        'ours_default_is_fastest_overall': min(timings['ours'].values()) <= min(
            timings['reverse_scan'].values()),
        'max_abs_diff_vs_scan': max_abs_diff,
    }
  print(json.dumps(results, indent=2))


if __name__ == '__main__':
  main()
