"""Running: environment groups, actors, batching, the pipeline, the fleets,
checkpoints and the trainer."""
