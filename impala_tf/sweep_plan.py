"""What a sweep is: a base config and named runs that override some of its
fields, loaded from a sweep file.

A sweep file (paper_configs/sweep_*.py) defines ``get_sweep([argument])``
returning a `Sweep`; `impala_tf.sweep` trains its runs, and
`results.curves` rebuilds a run's config from the sweep named in its curve.
Importing this module does not import TensorFlow.
"""

import fnmatch
import itertools
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence

import ml_collections

from impala_tf import config as config_lib


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
  configs = {name: run_config(sweep, name) for name in sweep.runs}
  for name, config in configs.items():
    try:
      config_lib.validate_config(config)
    except ValueError as error:
      raise ValueError(f'sweep run {name!r}: {error}') from None
  return configs


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


def load_sweep(path: str, argument: Optional[str] = None) -> Sweep:
  """``get_sweep([argument])`` of a sweep file (``path[:argument]``)."""
  if argument is None and ':' in path:
    path, argument = path.split(':', 1)
  return config_lib.call_file_function(path, 'get_sweep', argument)
