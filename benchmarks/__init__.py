"""ember vs PyTorch benchmarks: ``python -m benchmarks [--quick] [--only NAME]``."""
