"""Training: the run configuration and presets, the one training loop, checkpoints, resuming,
data-parallel training, sweeps, and the device and precision a run uses."""
