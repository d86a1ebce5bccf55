"""Sweeps: a list of configs, each trained into its own run directory.

A sweep file (paper_configs/sweep_*.py) defines ``get_sweep([argument])``
returning a `Sweep`: a base config and named overrides. Runs go one after
another on this machine, or in parallel as Ray tasks when a Ray address is
given. A run that reached its frame budget is marked done
(``sweep_done.json`` in its directory) and never run again; one that was
interrupted resumes from its checkpoint. So running the same command again
finishes an interrupted sweep. ``--runs`` picks some runs by name (shell
patterns), e.g. to finish a sweep whose other runs were done elsewhere.

    python -m impala_tf.sweep --sweep=paper_configs/sweep_rho_c.py \\
        --logdir=runs/sweep_rho_c [--ray_address=auto] [--runs='*c=1*' ...]
"""

import fnmatch
import itertools
import json
import os
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence

import ml_collections

DONE_FILE = 'sweep_done.json'


class Sweep(NamedTuple):
  """base: the config every run starts from; runs: run name → the fields
  it overrides (names become directory names)."""
  base: ml_collections.ConfigDict
  runs: Dict[str, Dict[str, Any]]


def grid(**axes: Iterable) -> List[Dict[str, Any]]:
  """Every combination of the axes' values, e.g.
  ``grid(a=[1, 2], b=[3])`` → ``[{'a': 1, 'b': 3}, {'a': 2, 'b': 3}]``."""
  names = list(axes)
  return [dict(zip(names, values))
          for values in itertools.product(*axes.values())]


def run_name(overrides: Dict[str, Any]) -> str:
  """A directory name that says what a run overrides: 'a=1,b=None'."""
  return ','.join(f'{k}={_short(v)}' for k, v in overrides.items())


def _short(value) -> str:
  if isinstance(value, float):
    return f'{value:g}'
  return str(value).replace('/', '_').replace(' ', '')


def run_config(sweep: Sweep, name: str) -> ml_collections.ConfigDict:
  config = sweep.base.copy_and_resolve_references()
  for field, value in sweep.runs[name].items():
    if field not in config:
      raise ValueError(f'sweep run {name!r}: unknown config field {field!r}')
    config[field] = value
  return config


def run_configs(sweep: Sweep) -> Dict[str, ml_collections.ConfigDict]:
  """Run name → its config, every one validated (ValueError naming the run
  and the field otherwise)."""
  # pylint: disable=g-import-not-at-top
  from impala_tf import config as config_lib
  configs = {name: run_config(sweep, name) for name in sweep.runs}
  for name, config in configs.items():
    try:
      config_lib.validate_config(config)
    except ValueError as error:
      raise ValueError(f'sweep run {name!r}: {error}') from None
  return configs


def is_done(run_dir: str) -> bool:
  return os.path.exists(os.path.join(run_dir, DONE_FILE))


def train_run(config: ml_collections.ConfigDict, run_dir: str) -> dict:
  """Trains (or resumes) one run; marks it done if it spent its budget."""
  # pylint: disable=g-import-not-at-top
  from impala_tf.runtime import training
  stats = training.train(config, run_dir)
  if stats.get('num_frames', 0) >= config.total_environment_frames:
    with open(os.path.join(run_dir, DONE_FILE), 'w') as f:
      json.dump(stats, f)
  return stats


def select_runs(sweep: Sweep, patterns: Sequence[str]) -> Sweep:
  """The runs of ``sweep`` whose names match any of the shell ``patterns``
  (all of them if none), in the sweep's order. A pattern that matches no run
  is a ValueError naming it and the runs there are."""
  if not patterns:
    return sweep
  for pattern in patterns:
    if not any(fnmatch.fnmatchcase(name, pattern) for name in sweep.runs):
      raise ValueError(f'--runs pattern {pattern!r} matches no run of the '
                       f'sweep; its runs are: {", ".join(sweep.runs)}')
  return sweep._replace(runs={
      name: overrides for name, overrides in sweep.runs.items()
      if any(fnmatch.fnmatchcase(name, p) for p in patterns)})


def run_sweep(sweep: Sweep, logdir: str, ray_address: Optional[str] = None,
              cpus_per_run: float = 1.0) -> Dict[str, bool]:
  """Runs every run of ``sweep`` that is not done yet.

  Every config is validated before the first run starts. Returns run name →
  whether it is done.
  """
  configs = run_configs(sweep)
  todo = [name for name in configs
          if not is_done(os.path.join(logdir, name))]
  if ray_address is None:
    for name in todo:
      train_run(configs[name], os.path.join(logdir, name))
      if not is_done(os.path.join(logdir, name)):
        break  # Stopped by SIGINT / SIGTERM (checkpointed): stop the sweep.
  else:
    import ray
    if not ray.is_initialized():
      ray.init(address=ray_address, log_to_driver=False)
    remote_train = ray.remote(num_cpus=cpus_per_run)(train_run)
    ray.get([remote_train.remote(configs[name], os.path.join(logdir, name))
             for name in todo])
  return {name: is_done(os.path.join(logdir, name)) for name in configs}


def load_sweep(path: str, argument: Optional[str] = None) -> Sweep:
  """``get_sweep([argument])`` of a sweep file (``path[:argument]``)."""
  # pylint: disable=g-import-not-at-top
  from impala_tf import config as config_lib
  if argument is None and ':' in path:
    path, argument = path.split(':', 1)
  return config_lib.call_file_function(path, 'get_sweep', argument)


def main(argv):
  # pylint: disable=g-import-not-at-top
  from absl import app
  from absl import flags
  from impala_tf import cli
  # pylint: enable=g-import-not-at-top
  args = flags.FLAGS
  with cli.reading_input():  # Every run's config, before the first starts.
    if len(argv) > 1:
      raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
    sweep = select_runs(load_sweep(args.sweep), args.runs)
    run_configs(sweep)
  done = run_sweep(sweep, args.logdir, args.ray_address, args.cpus_per_run)
  print(f'{sum(done.values())} of {len(done)} runs done in {args.logdir}')


if __name__ == '__main__':
  # pylint: disable=g-import-not-at-top
  from absl import flags as _flags
  # Flags live here, not at import: library modules must not claim names.
  _flags.DEFINE_string('sweep', None, 'A sweep file, path.py[:argument].')
  _flags.DEFINE_string('logdir', None, 'The sweep directory (one run '
                       'directory per run inside).')
  _flags.DEFINE_string('ray_address', None, 'Run in parallel on this Ray '
                       'cluster (auto: the local one); default: one after '
                       'another here.')
  _flags.DEFINE_float('cpus_per_run', 1.0, 'Ray CPUs each run reserves.')
  # Repeated, not comma-separated: run names hold commas.
  _flags.DEFINE_multi_string('runs', [], 'Only the runs whose names match '
                             'this shell pattern (repeat for more); '
                             'default: all.')
  _flags.mark_flags_as_required(['sweep', 'logdir'])
  from impala_tf import cli as _cli  # pylint: disable=g-import-not-at-top
  _cli.run(main)
