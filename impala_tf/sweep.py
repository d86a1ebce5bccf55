"""Runs a sweep (`sweep_plan.Sweep`): each config trained into its own run
directory. Runs go one after another on this machine, or in parallel as Ray
tasks when a Ray address is given. A run that reached its frame budget is marked done
(``sweep_done.json`` in its directory) and never run again; one that was
interrupted resumes from its checkpoint. So running the same command again
finishes an interrupted sweep. ``--runs`` picks some runs by name (shell
patterns), e.g. to finish a sweep whose other runs were done elsewhere.

    python -m impala_tf.sweep --sweep=paper_configs/sweep_rho_c.py \\
        --logdir=runs/sweep_rho_c [--ray_address=auto] [--runs='*c=1*' ...]
"""

import json
import os
from typing import Dict, Optional

from absl import app
from absl import flags
import ml_collections
import ray

from impala_tf import cli
from impala_tf.results import rundir
from impala_tf.runtime import training
from impala_tf.sweep_plan import Sweep, load_sweep, run_configs, select_runs


def train_run(config: ml_collections.ConfigDict, run_dir: str) -> dict:
  """Trains (or resumes) one run; marks it done if it spent its budget."""
  stats = training.train(config, run_dir)
  if stats.get('num_frames', 0) >= config.total_environment_frames:
    with open(os.path.join(run_dir, rundir.SWEEP_DONE_FILE), 'w') as f:
      json.dump(stats, f)
  return stats


def run_sweep(sweep: Sweep, logdir: str, ray_address: Optional[str] = None,
              cpus_per_run: float = 1.0) -> Dict[str, bool]:
  """Runs every run of ``sweep`` that is not done yet.

  Every config is validated before the first run starts. Returns run name →
  whether it is done.
  """
  configs = run_configs(sweep)
  todo = [name for name in configs
          if not rundir.is_sweep_run_done(os.path.join(logdir, name))]
  if ray_address is None:
    for name in todo:
      train_run(configs[name], os.path.join(logdir, name))
      if not rundir.is_sweep_run_done(os.path.join(logdir, name)):
        break  # Stopped by SIGINT / SIGTERM (checkpointed): stop the sweep.
  else:
    if not ray.is_initialized():
      ray.init(address=ray_address, log_to_driver=False)
    remote_train = ray.remote(num_cpus=cpus_per_run)(train_run)
    ray.get([remote_train.remote(configs[name], os.path.join(logdir, name))
             for name in todo])
  return {name: rundir.is_sweep_run_done(os.path.join(logdir, name))
          for name in configs}


def main(argv):
  args = flags.FLAGS
  with cli.reading_input():  # Every run's config, before the first starts.
    if len(argv) > 1:
      raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
    sweep = select_runs(load_sweep(args.sweep), args.runs)
    run_configs(sweep)
  done = run_sweep(sweep, args.logdir, args.ray_address, args.cpus_per_run)
  print(f'{sum(done.values())} of {len(done)} runs done in {args.logdir}')


if __name__ == '__main__':
  # Flags live here, not at import: library modules must not claim names.
  flags.DEFINE_string('sweep', None, 'A sweep file, path.py[:argument].')
  flags.DEFINE_string('logdir', None, 'The sweep directory (one run '
                       'directory per run inside).')
  flags.DEFINE_string('ray_address', None, 'Run in parallel on this Ray '
                       'cluster (auto: the local one); default: one after '
                       'another here.')
  flags.DEFINE_float('cpus_per_run', 1.0, 'Ray CPUs each run reserves.')
  # Repeated, not comma-separated: run names hold commas.
  flags.DEFINE_multi_string('runs', [], 'Only the runs whose names match '
                             'this shell pattern (repeat for more); '
                             'default: all.')
  flags.mark_flags_as_required(['sweep', 'logdir'])
  cli.run(main)
