"""The benchmark runner still runs (a smoke test; the benchmarks themselves are not tests)."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_benchmarks_quick_op_overhead(tmp_path):
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--only", "op_overhead",
           "--out", str(tmp_path)]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    out = json.loads((tmp_path / "results.json").read_text())
    (row,) = out["results"]
    assert row["workload"] == "op_overhead"
    assert row["ratio"] > 0 and row["ratio"] == row["ember_s"] / row["torch_s"]
    assert out["machine"]["torch_threads"] == 2
    assert "| op_overhead |" in (tmp_path / "results.md").read_text()
