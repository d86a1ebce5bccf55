"""The agent's core: V-trace, the off-policy corrections, the losses, the
optimiser, the networks and the learner. TensorFlow, no runtime."""
