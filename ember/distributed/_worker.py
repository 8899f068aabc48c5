"""One rank started by ``python -m ember.distributed.run``: ``python -m
ember.distributed._worker RUN_DIR script.py args`` (or ``RUN_DIR -m module args``).

Writes ``RUN_DIR/rank<R>.pid`` (so the launcher can name a rank killed by a signal), runs the
script as ``__main__``, and on an exception or a non-zero exit writes the traceback to
``RUN_DIR/rank<R>.error`` (the launcher prints it) and aborts every rank with ``MPI_Abort``.
"""
from __future__ import annotations

import os
import runpy
import sys
import traceback
from pathlib import Path


def _fail(run_dir: Path, rank: str, text: str, code: int) -> None:
    """Record ``text`` for the launcher (which prints it) and abort every rank."""
    tmp = run_dir / f"rank{rank}.error.tmp"
    tmp.write_text(text)
    tmp.rename(run_dir / f"rank{rank}.error")  # whole, for the launcher
    sys.stdout.flush()
    sys.stderr.flush()
    from mpi4py import MPI

    from ember.distributed.process_group import linger

    linger(0.2)  # a peer timing out at the same time can still ask this rank where it is

    MPI.COMM_WORLD.Abort(code)


def main() -> None:
    run_dir = Path(sys.argv[1])
    rank = os.environ.get("RANK", "?")
    (run_dir / f"rank{rank}.pid").write_text(str(os.getpid()))
    from mpi4py import MPI  # noqa: F401  (MPI is up, so an early failure can still abort)

    if sys.argv[2] == "-m":
        sys.argv = [sys.argv[3], *sys.argv[4:]]
        target = ("module", sys.argv[0])
    else:
        sys.argv = sys.argv[2:]
        target = ("path", sys.argv[0])
        sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
    try:
        if target[0] == "module":
            runpy.run_module(target[1], run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(target[1], run_name="__main__")
    except SystemExit as e:
        if isinstance(e.code, int) and e.code != 0:
            _fail(run_dir, rank, f"exited with code {e.code}\n", e.code)
        if e.code is not None and not isinstance(e.code, int):  # sys.exit("why"): Python exits 1
            _fail(run_dir, rank, f"exited: {e.code}\n", 1)
        raise
    except BaseException as e:  # noqa: BLE001  (any failure must abort the other ranks)
        _fail(run_dir, rank, _user_traceback(e), 1)


def _user_traceback(e: BaseException) -> str:
    """The traceback without the frames of this module and runpy."""
    te = traceback.TracebackException.from_exception(e)
    frames = list(te.stack)
    while frames and (frames[0].filename == __file__ or "runpy" in frames[0].filename):
        frames.pop(0)
    te.stack = traceback.StackSummary.from_list(frames)
    return "".join(te.format())


if __name__ == "__main__":
    main()
