"""The shape of the package, as a reviewer would check it from the source."""

import ast
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, 'impala_tf')


def modules():
  """{module name: path} of every module of the package."""
  found = {}
  for directory, _, files in os.walk(PACKAGE):
    for name in files:
      if name.endswith('.py'):
        path = os.path.join(directory, name)
        parts = os.path.relpath(path[:-3], REPO).split(os.sep)
        if parts[-1] == '__init__':
          parts = parts[:-1]
        found['.'.join(parts)] = path
  return found


def package_imports(path, known):
  """The package's modules that ``path`` imports anywhere (at the top or
  inside a function)."""
  imported = set()
  for node in ast.walk(ast.parse(open(path).read())):
    if isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module:
      names = [node.module] + [f'{node.module}.{alias.name}'
                               for alias in node.names]
    else:
      continue
    imported.update(name for name in names if name in known)
  return imported


def test_no_import_cycle_in_the_package():
  known = modules()
  graph = {name: package_imports(path, known) - {name}
           for name, path in known.items()}
  # Depth-first search for a back edge; report the cycle it closes.
  state, stack = {}, []

  def visit(name):
    state[name] = 'open'
    stack.append(name)
    for other in sorted(graph[name]):
      if state.get(other) == 'open':
        cycle = stack[stack.index(other):] + [other]
        raise AssertionError('import cycle: ' + ' -> '.join(cycle))
      if other not in state:
        visit(other)
    stack.pop()
    state[name] = 'done'

  for name in sorted(graph):
    if name not in state:
      visit(name)


# The package's floors, bottom first. A module may import from its own floor
# and the floors below it, never from one above (docs/architecture.md).
FLOORS = (
    ('base', ('impala_tf', 'impala_tf.types', 'impala_tf.cli',
              'impala_tf.choices')),
    ('environments', ('impala_tf.envs',)),
    ('configs', ('impala_tf.config', 'impala_tf.sweep_plan')),
    ('agent', ('impala_tf.agent',)),
    ('results', ('impala_tf.results',)),
    ('runtime', ('impala_tf.runtime',)),
    ('population', ('impala_tf.population',)),
    ('command lines', ('impala_tf.train', 'impala_tf.evaluate',
                       'impala_tf.sweep', 'impala_tf.pbt', 'impala_tf.curves',
                       'impala_tf.tables', 'impala_tf.analysis',
                       'impala_tf.export')),
)


def floor_of(module):
  """The index in `FLOORS` of ``module``'s floor; None if it has none."""
  for index, (_, prefixes) in enumerate(FLOORS):
    for prefix in prefixes:
      # The package itself is only its __init__, not every module below it.
      if module == prefix or (prefix != 'impala_tf' and
                              module.startswith(prefix + '.')):
        return index
  return None


def upward_imports(known):
  """'importer (floor) -> imported (floor)' for every import of a module on
  a higher floor than the importer's."""
  found = []
  for name, path in sorted(known.items()):
    for imported in sorted(package_imports(path, known) - {name}):
      if floor_of(imported) > floor_of(name):
        found.append(f'{name} ({FLOORS[floor_of(name)][0]}) -> {imported} '
                     f'({FLOORS[floor_of(imported)][0]})')
  return found


def test_every_module_has_a_floor():
  assert [name for name in modules() if floor_of(name) is None] == []


def test_imports_go_down_the_floors():
  assert upward_imports(modules()) == []


def test_the_floor_check_finds_an_upward_import(tmp_path):
  """An import of the runtime from the agent's core, as a change might
  slip in, is reported."""
  known = modules()
  learner = tmp_path / 'learner.py'
  learner.write_text(open(known['impala_tf.agent.learner']).read() +
                     '\nfrom impala_tf.runtime import fleet\n')
  known['impala_tf.agent.learner'] = str(learner)
  assert upward_imports(known) == [
      'impala_tf.agent.learner (agent) -> impala_tf.runtime (runtime)',
      'impala_tf.agent.learner (agent) -> impala_tf.runtime.fleet (runtime)']


def function_lengths(path):
  """(name, lines) of every function in ``path``, its docstring counted."""
  for node in ast.walk(ast.parse(open(path).read())):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
      yield node.name, node.end_lineno - node.lineno + 1


# Functions that are a literal config: one field a line, each with its
# comment, read as a table.
LITERAL_CONFIGS = {'impala_tf.config.base_config'}


def test_functions_are_short():
  too_long = [f'{name}.{function}: {lines} lines'
              for name, path in modules().items()
              for function, lines in function_lengths(path)
              if lines > 60 and f'{name}.{function}' not in LITERAL_CONFIGS]
  assert too_long == []


def test_no_import_is_hidden_in_a_function_without_a_reason():
  """An import inside a function hides a dependency; each one left has a
  comment on the line before it (or before the import it follows) saying
  why: an optional dependency, a costly import that only some runs need."""
  hidden = []
  for name, path in modules().items():
    lines = open(path).read().splitlines()
    for node in ast.walk(ast.parse('\n'.join(lines))):
      if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        continue
      for inner in ast.walk(node):
        if isinstance(inner, (ast.Import, ast.ImportFrom)):
          before = lines[inner.lineno - 2].strip()
          if not before.startswith(('#', 'import ', 'from ')):
            hidden.append(f'{name}:{inner.lineno}')
  assert hidden == []


def test_reading_run_directories_does_not_import_tensorflow():
  code = ('import sys\n'
          'import impala_tf.analysis, impala_tf.config, impala_tf.curves\n'
          'import impala_tf.results.rundir, impala_tf.tables\n'
          'print(sorted(m for m in sys.modules if m.split(".")[0] in '
          '("tensorflow", "sonnet")))')
  result = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                          capture_output=True, text=True, check=True)
  assert result.stdout.strip() == '[]'


def test_every_cited_section_of_docs_paper_exists():
  import re  # pylint: disable=g-import-not-at-top
  with open(os.path.join(REPO, 'docs', 'paper.md')) as f:
    sections = set(re.findall(r'^#{2,3} (\d+(?:\.\d+)?)\.? ', f.read(),
                              re.MULTILINE))
  cited = {}
  for top in ('impala_tf', 'paper_configs', 'tests', 'benchmarks',
              'notebooks'):
    for directory, _, files in os.walk(os.path.join(REPO, top)):
      for name in files:
        if name.endswith(('.py', '.ipynb', '.md')):
          path = os.path.join(directory, name)
          for section in re.findall(r'paper\.md §(\d+(?:\.\d+)?)',
                                    open(path).read()):
            cited.setdefault(section, os.path.relpath(path, REPO))
  assert len(cited) > 10
  missing = {s: path for s, path in cited.items() if s not in sections}
  assert not missing
