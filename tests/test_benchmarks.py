"""Short runs of the loop-overhead benchmark. Timings vary with load, so only the table counts."""

import pytest

from conftest import ROOT, run_script

LOOP_OVERHEAD = ROOT / "benchmarks" / "loop_overhead.py"


def table_rows(output: str) -> dict[str, list[float]]:
    """Return the figures of each network's row in the printed Markdown table."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("| ") and cells[0] in ("linear", "ClassicCNN"):
            rows[cells[0]] = [float(cell) for cell in cells[1:]]
    return rows


def test_loop_overhead_prints_both_networks() -> None:
    result = run_script(LOOP_OVERHEAD, "--steps", "35", "--rounds", "1")
    assert result.returncode == 0, result.stderr[-3000:]

    rows = table_rows(result.stdout)
    assert set(rows) == {"linear", "ClassicCNN"}
    for plain_ms, fit_ms, added_ms, ratio in rows.values():
        assert plain_ms > 0
        assert fit_ms > 0
        assert abs(added_ms - (fit_ms - plain_ms)) < 0.002
        assert abs(ratio - plain_ms / fit_ms) < 0.01
    assert "Steps per run: 35" in result.stdout


def test_loop_overhead_too_few_steps_rejected() -> None:
    result = run_script(LOOP_OVERHEAD, "--steps", "5")
    assert result.returncode == 2
    assert "--steps 5" in result.stderr
    assert "steps must be at least 32" in result.stderr


@pytest.mark.parametrize("option", ["--rounds", "--batch-size"])
def test_loop_overhead_zero_count_rejected(option: str) -> None:
    result = run_script(LOOP_OVERHEAD, option, "0")
    assert result.returncode == 2
    assert f"{option} 0: use 1 or more." in result.stderr
