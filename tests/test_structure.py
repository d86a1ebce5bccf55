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


def test_runtime_functions_are_short():
  too_long = []
  for name, path in modules().items():
    if not name.startswith('impala_tf.runtime'):
      continue
    for node in ast.walk(ast.parse(open(path).read())):
      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        lines = node.end_lineno - node.lineno + 1
        if lines > 60:
          too_long.append(f'{name}.{node.name}: {lines} lines')
  assert not too_long


def test_reading_run_directories_does_not_import_tensorflow():
  code = ('import sys\n'
          'import impala_tf.analysis, impala_tf.config, impala_tf.curves\n'
          'import impala_tf.rundir, impala_tf.tables\n'
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
