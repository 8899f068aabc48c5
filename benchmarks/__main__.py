"""Entry point: pin the BLAS and OpenMP threads to 2 before NumPy or torch is imported."""
import os
import sys


def main() -> int:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "2")
    from benchmarks.run import main as run_main  # after the thread variables are set
    return run_main()


if __name__ == "__main__":
    sys.exit(main())
