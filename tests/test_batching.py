"""Dynamic batching: rows go back to their callers; calls merge; errors spread."""

import threading
import time

import numpy as np
import pytest

from impala_tf.runtime.batching import BatcherClosedError, DynamicBatcher
from tests.conftest import wait_for


def run_concurrently(fn, args_list):
  results = [None] * len(args_list)
  errors = [None] * len(args_list)

  def call(i):
    try:
      results[i] = fn(*args_list[i])
    except Exception as error:  # pylint: disable=broad-except
      errors[i] = error

  threads = [threading.Thread(target=call, args=(i,))
             for i in range(len(args_list))]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join(timeout=30)
  return results, errors


def test_each_caller_gets_exactly_its_own_rows():
  calls, callers = [], []

  def fn(x, nest):
    # The first network call waits until every caller has come, so that the
    # others pile up behind it however slowly their threads start.
    wait_for(lambda: len(callers) == 8, 10, 'all 8 callers')
    calls.append(len(x))
    return {'double': x * 2, 'sum': x + nest['y']}, (nest['y'],)

  batcher = DynamicBatcher(fn, max_batch_size=64, timeout_s=0.2)

  def counted_batcher(*args):
    callers.append(1)
    return batcher(*args)

  args_list = [(np.arange(n) + 100 * i, {'y': np.full(n, i)})
               for i, n in enumerate([1, 3, 2, 5, 4, 1, 2, 3])]
  results, errors = run_concurrently(counted_batcher, args_list)
  batcher.close()
  assert errors == [None] * 8
  for (x, nest), (out, (y,)) in zip(args_list, results):
    np.testing.assert_array_equal(out['double'], x * 2)
    np.testing.assert_array_equal(out['sum'], x + nest['y'])
    np.testing.assert_array_equal(y, nest['y'])
  # Concurrent calls were merged: fewer network calls than callers.
  assert len(calls) < 8
  assert sum(calls) == 21


def test_batches_never_exceed_the_maximum():
  sizes = []

  def fn(x):
    sizes.append(len(x))
    time.sleep(0.01)
    return x

  batcher = DynamicBatcher(fn, max_batch_size=5, timeout_s=0.05)
  args_list = [(np.full(2, i),) for i in range(12)]
  results, errors = run_concurrently(batcher, args_list)
  batcher.close()
  assert errors == [None] * 12
  assert max(sizes) <= 5 and sum(sizes) == 24
  for (x,), result in zip(args_list, results):
    np.testing.assert_array_equal(result, x)
  # A single request larger than the maximum is still served.
  big = DynamicBatcher(lambda x: x + 1, max_batch_size=2, timeout_s=0.0)
  np.testing.assert_array_equal(big(np.arange(7)), np.arange(1, 8))
  big.close()


def test_timeout_bounds_the_wait_for_company():
  calls = []  # (when, rows) of each batched call.

  def fn(x):
    calls.append((time.monotonic(), len(x)))
    return x

  timeout = 0.5
  batcher = DynamicBatcher(fn, max_batch_size=100, timeout_s=timeout)
  # Alone, a call waits the whole timeout for company, then goes alone
  # (the upper bound leaves the scheduler a timeout's worth of slack).
  start = time.monotonic()
  np.testing.assert_array_equal(batcher(np.arange(3)), np.arange(3))
  assert [rows for _, rows in calls] == [3]
  assert timeout <= calls[0][0] - start < 2 * timeout

  # A call that comes within the timeout joins the first one's batch ...
  calls.clear()
  late = threading.Timer(timeout / 5, batcher, args=(np.arange(2),))
  late.start()
  np.testing.assert_array_equal(batcher(np.arange(3)), np.arange(3))
  late.join()
  assert [rows for _, rows in calls] == [5]
  # ... and one that comes after the batch went waits for a batch of its own.
  calls.clear()
  batcher(np.arange(3))
  batcher(np.arange(2))
  assert [rows for _, rows in calls] == [3, 2]
  batcher.close()


def test_an_exception_reaches_every_caller_of_the_batch():
  gate = threading.Event()

  def fn(x):
    gate.wait(5)
    raise RuntimeError(f'network failed on {len(x)} rows')

  batcher = DynamicBatcher(fn, max_batch_size=10, timeout_s=0.3)
  timer = threading.Timer(0.2, gate.set)
  timer.start()
  _, errors = run_concurrently(batcher, [(np.zeros(2),)] * 3)
  assert all(isinstance(e, RuntimeError) for e in errors), errors
  # The batcher keeps serving after an error.
  batcher._fn = lambda x: x * 3  # pylint: disable=protected-access
  np.testing.assert_array_equal(batcher(np.ones(2)), [3, 3])
  batcher.close()


def test_close_releases_waiting_and_later_callers():
  started = threading.Event()

  def fn(x):
    started.set()
    time.sleep(0.3)
    return x

  batcher = DynamicBatcher(fn, max_batch_size=2, timeout_s=0.0)
  results, errors = [], []

  def call():
    try:
      results.append(batcher(np.zeros(2)))
    except BatcherClosedError as error:
      errors.append(error)

  threads = [threading.Thread(target=call) for _ in range(4)]
  for thread in threads:
    thread.start()
  started.wait(5)
  batcher.close()
  for thread in threads:
    thread.join(timeout=10)
    assert not thread.is_alive()
  # Every caller got an answer (its rows, or the closed error); none hangs.
  assert len(results) + len(errors) == 4
  with pytest.raises(BatcherClosedError):
    batcher(np.zeros(1))


def test_bad_settings_are_named():
  with pytest.raises(ValueError, match='max_batch_size'):
    DynamicBatcher(lambda x: x, max_batch_size=0, timeout_s=0.0)
  with pytest.raises(ValueError, match='timeout_s'):
    DynamicBatcher(lambda x: x, max_batch_size=1, timeout_s=-1.0)
