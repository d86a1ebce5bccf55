"""The summary of benchmarks/throughput.py's cycles: each part's median and
spread, the ceiling, system/ceiling and the backends' ratios.

A module of its own, without flags, so that tests can import it (the script
defines absl flags, which may be defined once per process).

A cycle is a dict from a part's name ('system/<backend>', 'E/<backend>',
'I', 'L', and optionally 'system/free', 'L/torch') to its measurement:
a dict with 'fps' and 'frames_per_cpu_second', and for a system part also
'learner_idle' and 'inference_batch_size'.
"""

import numpy as np


def median_and_spread(values):
  """[median, min, max], rounded to what the noise allows."""
  digits = 3 if max(values) < 10 else 0
  return [round(float(f(values)), digits) for f in (np.median, min, max)]


def summarise(cycles, backends):
  """Medians and spreads of every part, of the ceiling and of
  system/ceiling per backend, and the backends' ratios."""
  out = {}
  for name in cycles[0]:
    out[f'{name} fps'] = median_and_spread([c[name]['fps'] for c in cycles])
    out[f'{name} frames/CPU-s'] = median_and_spread(
        [c[name]['frames_per_cpu_second'] for c in cycles])
  ceilings = {backend: [ceiling(c, backend) for c in cycles]
              for backend in backends}
  for backend in backends:
    ratios = [c[f'system/{backend}']['fps'] / c_ceiling
              for c, c_ceiling in zip(cycles, ceilings[backend])]
    out[f'ceiling/{backend} fps'] = median_and_spread(ceilings[backend])
    out[f'system/ceiling/{backend}'] = median_and_spread(ratios)
    out[f'learner_idle/{backend}'] = median_and_spread(
        [c[f'system/{backend}']['learner_idle'] for c in cycles])
    out[f'inference_batch_size/{backend}'] = median_and_spread(
        [c[f'system/{backend}']['inference_batch_size'] for c in cycles])
  if 'L/torch' in cycles[0]:
    out['L tf/torch'] = median_and_spread(
        [c['L']['fps'] / c['L/torch']['fps'] for c in cycles])
  if 'system/free' in cycles[0]:
    for backend in backends:
      out[f'system free/{backend}'] = median_and_spread(
          [c['system/free']['fps'] / c[f'system/{backend}']['fps']
           for c in cycles])
  if len(backends) == 2:
    first, second = backends
    for part in ('E', 'system'):
      out[f'{part} {second}/{first}'] = median_and_spread(
          [c[f'{part}/{second}']['fps'] / c[f'{part}/{first}']['fps']
           for c in cycles])
    # What the system ratio could be if both backends' systems reached the
    # same fraction of their ceilings: the network's cost, which both pay,
    # bounds how much a faster environment side can give.
    out[f'ceiling {second}/{first}'] = median_and_spread(
        [b / a for a, b in zip(ceilings[first], ceilings[second])])
  return out


def ceiling(cycle, backend):
  """The system's frames/s if E, I and L shared the CPUs without loss:
  each frame costs 1/E + 1/I + 1/L seconds of the whole machine."""
  return 1.0 / (1.0 / cycle[f'E/{backend}']['fps'] + 1.0 / cycle['I']['fps'] +
                1.0 / cycle['L']['fps'])
