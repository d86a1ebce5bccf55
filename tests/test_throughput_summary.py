"""benchmarks/throughput_summary.py: the ceiling, system/ceiling and the
backends' ratios, from hand-made cycles whose answers are known."""

import pytest

from benchmarks import throughput_summary


def cycle(system_gym, system_vec, e_gym, e_vec, i, l):
  part = lambda fps: dict(fps=fps, frames_per_cpu_second=fps / 2)
  system = lambda fps: dict(part(fps), learner_idle=0.5,
                            inference_batch_size=32)
  return {'system/gymnasium': system(system_gym),
          'E/gymnasium': part(e_gym),
          'system/vector': system(system_vec),
          'E/vector': part(e_vec),
          'I': part(i), 'L': part(l)}


def test_the_ceiling_is_the_parts_costs_added():
  # Each frame costs 1/E + 1/I + 1/L: (10 + 1 + 4) / 40000 s.
  one_cycle = cycle(1, 1, 4000, 8000, 40000, 10000)
  assert throughput_summary.ceiling(one_cycle, 'gymnasium') == pytest.approx(
      40000 / 15)


def test_summary_gives_medians_spreads_and_the_ceiling_ratio():
  cycles = [cycle(2000, 2400, 4000, 8000, 40000, 10000),
            cycle(2200, 2500, 4000, 6000, 40000, 10000),
            cycle(1800, 2600, 4000, 7000, 40000, 10000)]
  out = throughput_summary.summarise(cycles, ['gymnasium', 'vector'])
  assert out['system/gymnasium fps'] == [2000, 1800, 2200]
  assert out['E vector/gymnasium'] == [1.75, 1.5, 2.0]
  # Ratios per cycle (1.2, 1.136, 1.444), then [median, min, max].
  assert out['system vector/gymnasium'] == pytest.approx(
      [2400 / 2000, 2500 / 2200, 2600 / 1800], abs=1e-3)
  ceiling_gym = 40000 / 15
  ceiling_vec = [1 / (1 / e + 1 / 40000 + 1 / 10000)
                 for e in (8000, 6000, 7000)]
  assert out['ceiling vector/gymnasium'] == pytest.approx(
      [ceiling_vec[2] / ceiling_gym, ceiling_vec[1] / ceiling_gym,
       ceiling_vec[0] / ceiling_gym], abs=1e-3)
  assert out['system/ceiling/gymnasium'] == pytest.approx(
      [2000 / ceiling_gym, 1800 / ceiling_gym, 2200 / ceiling_gym], abs=1e-3)
