"""Summarize a sweep folder: one row per job in ``summary.csv`` and ``summary.md``, and a
``summary.png`` heatmap of ``val/acc_best`` when the sweep varies exactly two parameters.

The report reads only the job folders (``.hydra/overrides.yaml`` and ``metrics.json``), so it
can be rebuilt at any time, also for a sweep that was interrupted:

    fmnist-report logs/train/multiruns/2025-01-31_12-00-00
    python -m fmnist.report logs/train/multiruns/2025-01-31_12-00-00
"""

import argparse
import csv
import json
import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from fmnist.errors import UserInputError
from fmnist.plots import sweep_heatmap_figure

log = logging.getLogger(__name__)

OBJECTIVE = "val/acc_best"
METRIC_COLUMNS = ("val/acc_best", "test/acc", "test/loss", "epochs", "wall_time_s")
STATUS_ORDER = {"completed": 0, "failed": 1, "incomplete": 2}
INCOMPLETE_REASON = "no metrics.json: the job was interrupted or is still running"


@dataclass
class JobResult:
    """One sweep job as read from its folder."""

    name: str
    overrides: dict[str, str]
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.metrics.get("status", "incomplete")

    @property
    def reason(self) -> str:
        if not self.metrics:
            return INCOMPLETE_REASON
        return self.metrics.get("reason") or ""

    @property
    def objective(self) -> float:
        value = self.metrics.get(OBJECTIVE)
        return math.nan if value is None else float(value)


@dataclass
class SweepReport:
    """The jobs of one sweep, best first, and the parameters that differ between them."""

    sweep_dir: Path
    jobs: list[JobResult]
    varied: list[str]

    def count(self, status: str) -> int:
        return sum(job.status == status for job in self.jobs)

    @property
    def all_completed(self) -> bool:
        return self.count("completed") == len(self.jobs)


def parse_overrides(lines: list[str]) -> dict[str, str]:
    """Map each ``key=value`` override to its value, as typed (``+key`` counts as ``key``)."""
    overrides = {}
    for line in lines:
        key, _, value = str(line).partition("=")
        overrides[key.lstrip("+~")] = value
    return overrides


def read_job(job_dir: Path) -> JobResult:
    """Read one job folder; a folder without ``metrics.json`` is an incomplete job."""
    overrides_file = job_dir / ".hydra" / "overrides.yaml"
    lines = yaml.safe_load(overrides_file.read_text()) if overrides_file.is_file() else []
    metrics_file = job_dir / "metrics.json"
    metrics: dict[str, Any] = {}
    if metrics_file.is_file():
        try:
            metrics = json.loads(metrics_file.read_text())
        except json.JSONDecodeError as error:
            metrics = {"status": "failed", "reason": f"unreadable metrics.json: {error}"}
    return JobResult(job_dir.name, parse_overrides(lines or []), metrics)


def is_job_dir(path: Path) -> bool:
    return path.is_dir() and (
        (path / ".hydra" / "overrides.yaml").is_file() or (path / "metrics.json").is_file()
    )


def varied_parameters(jobs: list[JobResult]) -> list[str]:
    """Return the override keys whose value differs between jobs (or is missing in some)."""
    keys = sorted({key for job in jobs for key in job.overrides})
    return [key for key in keys if len({job.overrides.get(key) for job in jobs}) > 1]


def sort_key(job: JobResult) -> tuple[int, float, str]:
    objective = job.objective
    return (
        STATUS_ORDER.get(job.status, len(STATUS_ORDER)),
        -objective if not math.isnan(objective) else math.inf,
        job.name,
    )


def collect(sweep_dir: Path) -> SweepReport:
    """Read every job folder of ``sweep_dir``, best ``val/acc_best`` first."""
    if not sweep_dir.is_dir():
        raise UserInputError(f"Sweep folder not found: {sweep_dir}. Pass a multirun folder.")
    jobs = [read_job(path) for path in sorted(sweep_dir.iterdir()) if is_job_dir(path)]
    if not jobs:
        raise UserInputError(
            f"No sweep jobs in {sweep_dir}: expected subfolders with .hydra/overrides.yaml or "
            "metrics.json, e.g. logs/train/multiruns/<date>_<time>."
        )
    jobs.sort(key=sort_key)
    return SweepReport(sweep_dir, jobs, varied_parameters(jobs))


def table_rows(report: SweepReport) -> tuple[list[str], list[list[Any]]]:
    """Return the header and one row per job: name, varied values, metrics, status, reason."""
    header = ["job", *report.varied, *METRIC_COLUMNS, "status", "reason"]
    rows = []
    for job in report.jobs:
        values = [job.overrides.get(key, "") for key in report.varied]
        metrics = [job.metrics.get(column) for column in METRIC_COLUMNS]
        reason = job.reason if job.status != "completed" else ""
        rows.append([job.name, *values, *metrics, job.status, reason])
    return header, rows


def format_cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}" if column == "wall_time_s" else f"{value:.4f}"
    return str(value).replace("|", "\\|")


def markdown_table(report: SweepReport) -> str:
    header, rows = table_rows(report)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [format_cell(column, value) for column, value in zip(header, row, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_csv(report: SweepReport, path: Path) -> None:
    header, rows = table_rows(report)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows([["" if value is None else value for value in row] for row in rows])


def write_markdown(report: SweepReport, path: Path) -> None:
    counts = ", ".join(f"{report.count(status)} {status}" for status in STATUS_ORDER)
    lines = [f"# Sweep {report.sweep_dir.name}", "", f"{len(report.jobs)} jobs: {counts}."]
    best = report.jobs[0]
    if best.status == "completed":
        lines.append(f"Best {OBJECTIVE}: {best.objective:.4f} ({best.name}).")
    lines += ["", markdown_table(report), ""]
    path.write_text("\n".join(lines))


def numeric_order(labels: set[str]) -> list[str]:
    """Sort values numerically when they all are numbers, else as text."""
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


def write_heatmap(report: SweepReport, path: Path) -> bool:
    """Draw ``val/acc_best`` over the grid of the two varied parameters; False if not two."""
    if len(report.varied) != 2:
        return False
    row_name, column_name = report.varied
    row_labels = numeric_order({job.overrides.get(row_name, "") for job in report.jobs})
    column_labels = numeric_order({job.overrides.get(column_name, "") for job in report.jobs})

    values = np.full((len(row_labels), len(column_labels)), np.nan)
    notes: dict[tuple[int, int], str] = {}
    for job in report.jobs:
        cell = (
            row_labels.index(job.overrides.get(row_name, "")),
            column_labels.index(job.overrides.get(column_name, "")),
        )
        if job.status == "completed":
            # Repeated settings (jobs named ...~2) share a cell, which shows the best of them.
            values[cell] = np.fmax(values[cell], job.objective)
        elif math.isnan(values[cell]):
            notes[cell] = job.status

    figure = sweep_heatmap_figure(
        values, row_name, row_labels, column_name, column_labels, OBJECTIVE, notes
    )
    figure.savefig(path, dpi=100)
    return True


def write_report(sweep_dir: Path) -> SweepReport:
    """Write ``summary.csv``, ``summary.md`` and, for two varied parameters, ``summary.png``."""
    report = collect(Path(sweep_dir))
    write_csv(report, report.sweep_dir / "summary.csv")
    write_markdown(report, report.sweep_dir / "summary.md")
    stale_png = report.sweep_dir / "summary.png"
    if not write_heatmap(report, stale_png) and stale_png.exists():
        stale_png.unlink()
    return report


def main(argv: list[str] | None = None) -> int:
    """Command line: rebuild the summary files of one sweep folder and print the table."""
    parser = argparse.ArgumentParser(
        prog="fmnist-report",
        description="Write summary.csv, summary.md and summary.png for a sweep folder.",
    )
    parser.add_argument("sweep_dir", type=Path, help="a folder under logs/train/multiruns/")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        report = write_report(args.sweep_dir)
    except UserInputError as error:
        log.error("%s", error)
        return 2
    print(markdown_table(report))
    written = "summary.csv, summary.md" + (", summary.png" if len(report.varied) == 2 else "")
    print(f"\nWrote {written} in {report.sweep_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
