"""Reading what runs leave: run directories, learning curves, scores, the
paper's tables, PBT ancestry. No TensorFlow."""
