"""Dynamic batching of policy calls (the original's ``dynamic_batching``).

Many actor threads call the policy at once; a `DynamicBatcher` gathers their
calls into one batched call of the network (one kernel launch per layer, a
large matrix product instead of many small ones) and hands each caller back
exactly its own rows.

A batch is formed from the first waiting call plus whatever arrives within
``timeout_s`` of it, up to ``max_batch_size`` rows; a call never waits longer
than that for company. An exception in the batched call is raised in every
caller of that batch.
"""

import collections
import concurrent.futures
import queue
import threading
import time
from typing import Callable, List, NamedTuple

import numpy as np
import tree

from impala_tf.runtime import zero_copy


class _Request(NamedTuple):
  args: tuple
  num_rows: int
  future: concurrent.futures.Future


class BatcherClosedError(RuntimeError):
  """Raised in callers once the batcher has been closed."""


class DynamicBatcher:
  """Wraps ``fn`` so that concurrent calls share one batched call.

  Args:
    fn: takes nests of arrays whose leaves share a leading batch axis and
      returns a nest of arrays (or tensors) with the same leading axis.
    max_batch_size: most rows in one call of ``fn``. A single request with
      more rows is still served, alone.
    timeout_s: how long the first request of a batch waits for others.
  """

  def __init__(self, fn: Callable, max_batch_size: int, timeout_s: float):
    if max_batch_size < 1:
      raise ValueError(f'max_batch_size must be positive, got {max_batch_size}')
    if timeout_s < 0:
      raise ValueError(f'timeout_s must be non-negative, got {timeout_s}')
    self._fn = fn
    self._max_batch_size = max_batch_size
    self._timeout_s = timeout_s
    self._requests = queue.Queue()
    self._closed = threading.Event()
    self._lock = threading.Lock()
    self._recent_batch_sizes = collections.deque(maxlen=1000)
    self._thread = threading.Thread(target=self._loop, name='dynamic_batcher',
                                    daemon=True)
    self._thread.start()

  def __call__(self, *args):
    """Blocks until the rows of ``args`` have been computed; returns them."""
    num_rows = len(tree.flatten(args)[0])
    future = concurrent.futures.Future()
    with self._lock:  # No request may slip in after close() drained them.
      if self._closed.is_set():
        raise BatcherClosedError('the dynamic batcher is closed')
      self._requests.put(_Request(args, num_rows, future))
    return future.result()

  def mean_batch_size(self) -> float:
    """Mean rows per batched call over the last 1000 calls (0 if none)."""
    sizes = list(self._recent_batch_sizes)
    return float(np.mean(sizes)) if sizes else 0.0

  def close(self) -> None:
    """Stops the batching thread; waiting and later callers get an error."""
    with self._lock:
      self._closed.set()
      self._requests.put(None)
    self._thread.join(timeout=10)
    while True:
      try:
        request = self._requests.get_nowait()
      except queue.Empty:
        break
      _fail(request)

  def _loop(self) -> None:
    carried = None  # A request that did not fit in the previous batch.
    while True:
      first = carried if carried is not None else self._requests.get()
      carried = None
      if first is None:
        return
      batch: List[_Request] = [first]
      num_rows = first.num_rows
      deadline = time.monotonic() + self._timeout_s
      while num_rows < self._max_batch_size:
        try:
          request = self._requests.get(
              timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
          break
        if request is None:
          self._requests.put(None)  # Let the outer loop see it too.
          break
        if num_rows + request.num_rows > self._max_batch_size:
          carried = request
          break
        batch.append(request)
        num_rows += request.num_rows
      self._run(batch, num_rows)

  def _run(self, batch: List[_Request], num_rows: int) -> None:
    self._recent_batch_sizes.append(num_rows)
    try:
      # Into aligned memory, which the policy can hand to TensorFlow as it
      # is (`zero_copy`).
      args = tree.map_structure(
          lambda *xs: zero_copy.aligned_concatenate(xs),
          *[request.args for request in batch])
      outputs = tree.map_structure(np.asarray, self._fn(*args))
    except Exception as error:  # pylint: disable=broad-except
      for request in batch:
        request.future.set_exception(error)
      return
    start = 0
    for request in batch:
      end = start + request.num_rows
      request.future.set_result(
          tree.map_structure(lambda x, s=start, e=end: x[s:e], outputs))
      start = end


def _fail(request) -> None:
  if request is not None:
    request.future.set_exception(
        BatcherClosedError('the dynamic batcher is closed'))
