"""The benchmark runner still runs (a smoke test; the benchmarks themselves are not tests)."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_benchmarks_quick(tmp_path):
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--memory", "--only", "mlp_train",
           "--only", "op_overhead", "--out", str(tmp_path)]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180, check=False)
    assert res.returncode == 0, res.stderr
    out = json.loads((tmp_path / "results.json").read_text())
    mlp, op = out["results"]
    assert [mlp["workload"], op["workload"]] == ["mlp_train", "op_overhead"]
    assert op["ratio"] > 0 and op["ratio"] == op["ember_s"] / op["torch_s"]
    # both frameworks computed the same first loss from the same NumPy weights and data
    first = mlp["first_value"]
    assert abs(first["ember"] - first["torch"]) < 1e-4 * abs(first["torch"])
    assert mlp["memory"]["ember"]["peak_bytes"] > 0 and mlp["memory_ratio"] > 0
    assert out["machine"]["torch"]["threads"] == 2
    md = (tmp_path / "results.md").read_text()
    assert "| mlp_train |" in md and "| op_overhead |" in md


def test_benchmarks_quick_every_workload(tmp_path):
    """The smoke run of the whole suite: every workload builds and steps in both frameworks,
    from the same weights and data (the first values agree), and lands in both reports."""
    from benchmarks.run import RUNNERS

    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path)]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stderr
    rows = {r["workload"]: r for r in json.loads((tmp_path / "results.json").read_text())["results"]}
    assert set(rows) == set(RUNNERS)
    md = (tmp_path / "results.md").read_text()
    for name, row in rows.items():
        assert row["ember_s"] > 0 and row["torch_s"] > 0, name
        assert f"| {name} |" in md
        first = row.get("first_value")
        if first is not None:  # the step workloads; matmul's sums of 1024+ products: 1e-5
            assert abs(first["ember"] - first["torch"]) <= 1e-5 * max(1.0, abs(first["torch"])), name
