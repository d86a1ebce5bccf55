"""The V-trace study's λ = 0.9 runs (issue 20): V-trace at ρ̄ = 1 with
c̄ ∈ {0.5, 1} and λ = 0.9, without and with the paper's replay, on one game
and one seed per sweep: 4 runs, to set beside the study's λ = 1 cells.

  for seed in 0 1 2; do
    python -m impala_tf.sweep \\
        --sweep=paper_configs/sweep_vtrace_lambda.py:paper_configs/minatar.py:breakout,$seed \\
        --logdir=runs/vtrace_study/breakout/seed_$seed
  done

The runs go into the study's run directories (their names say
``vtrace_lambda=0.9``), so that notebooks/vtrace_study.ipynb compares them
with the λ = 1 runs of the same game and seed. λ multiplies every trace
coefficient (c_s becomes λ·min(c̄, ρ_s), paper.md §7), so λ = 0.9 shortens
the traces further where c̄ = 1 and on top of c̄ = 0.5. ρ̄ = 1 is the
paper's choice and the study's best ρ̄ on Breakout (the mean over c̄ and
seeds, with and without replay). Same frames, annealing and base config as
`sweep_vtrace_study.py`.
"""

import os

from impala_tf import sweep_plan

RHO = 1.0
TRACE_CUTS = (0.5, 1.0)  # c̄.
LAMBDA = 0.9
REPLAY_FRACTIONS = (0.0, 0.5)
STUDY = os.path.join(os.path.dirname(__file__), 'sweep_vtrace_study.py')


def get_sweep(base: str = os.path.join(os.path.dirname(__file__),
                                       'minatar.py:breakout')):
  # The study's base config, frames and annealing, so that the runs compare.
  config = sweep_plan.load_sweep(STUDY, base).base
  runs = {}
  for replay_fraction in REPLAY_FRACTIONS:
    for c in TRACE_CUTS:
      values = dict(clip_rho_threshold=RHO, clip_c_threshold=c,
                    vtrace_lambda=LAMBDA, replay_fraction=replay_fraction)
      runs[sweep_plan.run_name(values)] = dict(values,
                                               clip_pg_rho_threshold=RHO)
  return sweep_plan.Sweep(config, runs)
