"""Population-based training (paper.md §6.4): the rules, the members and
the Ray Tune runner."""
