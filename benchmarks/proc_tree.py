"""A process and its descendants, read from /proc (Linux): who they are,
their resident memory and the CPU time they used. For the benchmarks."""

import os

_TICKS_PER_SECOND = os.sysconf('SC_CLK_TCK')


def _stat_fields(pid):
  with open(f'/proc/{pid}/stat') as f:
    return f.read().rsplit(')', 1)[1].split()


def descendants(pid):
  """``pid`` and every live process below it."""
  children = {}
  for entry in os.listdir('/proc'):
    if entry.isdigit():
      try:
        parent = int(_stat_fields(entry)[1])
      except OSError:
        continue
      children.setdefault(parent, []).append(int(entry))
  found, todo = [], [pid]
  while todo:
    current = todo.pop()
    found.append(current)
    todo.extend(children.get(current, []))
  return found


def rss_mib(pids):
  """Resident memory of ``pids`` together, in MiB."""
  total_kib = 0
  for pid in pids:
    try:
      with open(f'/proc/{pid}/status') as f:
        for line in f:
          if line.startswith('VmRSS:'):
            total_kib += int(line.split()[1])
    except OSError:
      continue
  return total_kib / 1024


def cpu_seconds(pids):
  """User + system CPU seconds that ``pids`` have used so far."""
  ticks = 0
  for pid in pids:
    try:
      fields = _stat_fields(pid)
    except OSError:
      continue
    ticks += int(fields[11]) + int(fields[12])  # utime, stime.
  return ticks / _TICKS_PER_SECOND
