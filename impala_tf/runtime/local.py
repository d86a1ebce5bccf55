"""The local fleet: actor threads in the learner's process.

    EnvironmentGroup (process) ⇄ Actor (thread) ─┐ policy calls
    EnvironmentGroup (process) ⇄ Actor (thread) ─┼──▶ DynamicBatcher ──▶ agent
    ...                                          │      (live learner variables)
                         trajectories ──▶ on_trajectory (the learner's queue)

The actors call the network the learner trains, so an update can land in the
middle of an unroll, as in the original release; every agent output carries
the learner version it was computed with.
"""

import threading
from typing import Dict

from impala_tf.runtime import agents
from impala_tf.runtime import fleet
from impala_tf.runtime.batching import DynamicBatcher


class LocalActors:
  """Actor threads, each driving one `EnvironmentGroup`, their policy calls
  batched by a `DynamicBatcher` (if ``config.dynamic_batching``). A
  `fleet.Fleet`.

  The actors read the live variables of ``setup.agent``.
  """

  def __init__(self, setup: fleet.FleetSetup):
    config = setup.config
    policy = agents.make_inference(setup.agent, setup.version)
    self._batcher = None
    if config.dynamic_batching:
      self._batcher = DynamicBatcher(policy, config.max_inference_batch_size,
                                     config.inference_timeout_ms / 1000.0)
      policy = self._batcher
    self._groups = setup.make_groups(config, setup.training, None)
    self._actors = [fleet.make_actor(setup, group, policy)
                    for group in self._groups]
    self._threads = []

  def start(self, stop: threading.Event) -> None:
    self._threads = [
        threading.Thread(target=actor.run, args=(stop,), name=f'actor_{i}',
                         daemon=True) for i, actor in enumerate(self._actors)
    ]
    for thread in self._threads:
      thread.start()

  def after_update(self, version: int) -> None:
    del version  # The actors read the live variables.

  def metrics(self) -> Dict[str, float]:
    return dict(
        inference_batch_size=(self._batcher.mean_batch_size()
                              if self._batcher else 0.0),
        actor_errors=sum(actor.num_errors for actor in self._actors),
        dropped_steps=sum(actor.num_dropped_steps for actor in self._actors),
        environment_errors=sum(g.num_env_errors for g in self._groups),
        environment_restarts=sum(group.num_restarts for group in self._groups))

  def close(self) -> None:
    if self._batcher is not None:
      self._batcher.close()
    for thread in self._threads:
      thread.join(timeout=30)
    for group in self._groups:
      group.close()
