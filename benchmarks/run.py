"""Compare training speed: the classic recipe, a plain tensor loop, and this project's train.py.

    python benchmarks/run.py --epochs 10            # what `make bench` runs
    python benchmarks/run.py --epochs 2 --rounds 2  # a quick check, each runner twice

Runners, each a separate process started from this one, one at a time:

- (a) ``classic_recipe.py``: torchvision ``FashionMNIST`` + ``ToTensor`` + ``DataLoader``.
- (b) ``tensor_loop.py``: a plain loop over uint8 tensors held in memory.
- (c) ``src/fmnist/train.py experiment=classic_recipe`` with its default callbacks and logger,
  timed from the inside by ``epoch_clock.EpochClock``.
- (d) ``train.py`` with its default config (batch 64, lr 0.002, normalized inputs, cosine
  schedule), to see when its validation accuracy first reaches ``--val-target``.

(a), (b) and (c) train ``ClassicCNN`` with Adam at lr 0.01 and batch 100 for the same number
of epochs. Round one runs the runners in the order given and round two in reverse, and so on,
so that a change in the machine's load while the benchmark runs affects each runner alike.
Outputs go to ``--output-dir``: ``results.json``, ``results.md`` (the table) and
``accuracy_vs_time.png``.
"""

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from records import LAUNCHED_AT_VARIABLE, read_records

from fmnist.paths import repository_root
from fmnist.sources import FILE_STEMS, SYSTEM_DIRS, locate

ROOT = Path(repository_root())
BENCHMARKS = Path(__file__).resolve().parent
LABELS = {
    "a": "(a) torchvision + DataLoader",
    "b": "(b) plain loop, in-memory tensors",
    "c": "(c) train.py (Lightning)",
    "d": "(d) train.py, default config",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="training epochs per runner")
    parser.add_argument("--rounds", type=int, default=1, help="times each runner runs")
    parser.add_argument(
        "--runners",
        default="abcd",
        help="which runners, in the order of odd rounds, e.g. abcd (all) or bc",
    )
    parser.add_argument(
        "--val-target",
        type=float,
        default=0.88,
        help="report when (c) and (d) first reach this validation accuracy",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="OMP_NUM_THREADS for every runner (default: torch's choice, one per core)",
    )
    parser.add_argument(
        "--no-channels-last",
        dest="channels_last",
        action="store_false",
        help="contiguous NCHW in (b) and (c) instead of channels-last",
    )
    parser.add_argument(
        "--data-dir", default=str(ROOT / "data"), help="searched before the system copy"
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=ROOT / "logs" / "bench" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S"),
    )
    parser.add_argument("--plot", type=Path, default=None, help="also save the plot here")
    return parser.parse_args()


def torchvision_root(files: dict[str, Path], folder: Path) -> Path:
    """Lay out uncompressed IDX files where torchvision's FashionMNIST looks for them."""
    raw = folder / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in FILE_STEMS:
        source = files[stem]
        if source.suffix == ".gz":
            with gzip.open(source, "rb") as packed, (raw / stem).open("wb") as plain:
                shutil.copyfileobj(packed, plain)
        else:
            (raw / stem).symlink_to(source)
    return folder


def runner_command(name: str, args: argparse.Namespace, data: dict, record: Path) -> list[str]:
    """Return the command line of runner ``name``: "a", "b", "c" or "d"."""
    if name == "a":
        script = [str(BENCHMARKS / "classic_recipe.py"), "--root", str(data["torchvision_root"])]
        return [sys.executable, *script, "--epochs", str(args.epochs), "--record", str(record)]
    if name == "b":
        script = [str(BENCHMARKS / "tensor_loop.py"), "--data-dir", str(data["folder"])]
        layout = ["--channels-last"] if args.channels_last else []
        return [
            sys.executable,
            *script,
            *layout,
            "--epochs",
            str(args.epochs),
            "--record",
            str(record),
        ]
    recipe = ["experiment=classic_recipe"] if name == "c" else []
    return [
        sys.executable,
        str(ROOT / "src" / "fmnist" / "train.py"),
        *recipe,
        f"trainer.max_epochs={args.epochs}",
        f"data.data_dir={data['folder']}",
        f"model.channels_last={str(args.channels_last).lower()}",
        f"paths.log_dir={args.output_dir / 'train_logs'}",
        "+callbacks.epoch_clock._target_=epoch_clock.EpochClock",
        f"+callbacks.epoch_clock.record_path={record}",
    ]


def run_one(name: str, round_index: int, args: argparse.Namespace, data: dict) -> dict:
    """Run one runner to completion and return its records, wall time and peak RSS."""
    record = args.output_dir / f"{name}{round_index}.jsonl"
    log_path = args.output_dir / f"{name}{round_index}.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), str(BENCHMARKS), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)

    print(f"round {round_index + 1}: {LABELS[name]} ...", flush=True)
    started = time.time()
    env[LAUNCHED_AT_VARIABLE] = repr(started)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            runner_command(name, args, data, record), env=env, stdout=log, stderr=log
        )
        # wait4 returns the resource usage of this child alone, peak RSS included.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall_s = time.time() - started
    if process.returncode != 0:
        raise SystemExit(
            f"{LABELS[name]} failed with exit status {process.returncode}; see {log_path}"
        )

    records = read_records(record)
    epochs = [entry for entry in records if entry["kind"] == "epoch"]
    print(
        f"  {sum(entry['train_s'] for entry in epochs):.1f} s training, {wall_s:.1f} s wall, "
        f"final test accuracy {epochs[-1]['test_acc']:.4f}",
        flush=True,
    )
    # ru_maxrss is in KiB on Linux.
    return {"epochs": epochs, "wall_s": wall_s, "peak_rss_mib": usage.ru_maxrss / 1024}


def first_reached(run: dict, target: float) -> float | None:
    """Return the elapsed seconds at the first epoch whose validation accuracy reaches target."""
    for epoch in run["epochs"]:
        if epoch.get("val_acc") is not None and epoch["val_acc"] >= target:
            return epoch["elapsed_s"]
    return None


def summarize(runs: list[dict], val_target: float) -> dict:
    """Pool every epoch of every round of one runner into the figures of the table.

    Throughput is the median over epochs, so one epoch slowed down by another job on the
    machine does not dominate it.
    """
    epochs = [epoch for run in runs for epoch in run["epochs"]]
    return {
        "images_per_s": statistics.median(epoch["images"] / epoch["train_s"] for epoch in epochs),
        "images_per_cpu_s": statistics.median(
            epoch["images"] / epoch["train_cpu_s"] for epoch in epochs
        ),
        "epoch_s_median": statistics.median(epoch["train_s"] for epoch in epochs),
        "images_per_epoch": epochs[0]["images"],
        "wall_s_mean": statistics.mean(run["wall_s"] for run in runs),
        "peak_rss_mib": max(run["peak_rss_mib"] for run in runs),
        "test_acc_final": [run["epochs"][-1]["test_acc"] for run in runs],
        "val_target_s": [first_reached(run, val_target) for run in runs],
        "curve": [(epoch["elapsed_s"], epoch["test_acc"]) for epoch in runs[0]["epochs"]],
    }


def table(summary: dict, args: argparse.Namespace) -> str:
    rows = [
        "| runner | images/s | images per CPU s | train s per epoch | images per epoch "
        "| wall s (total) | peak RSS MiB | test acc after last epoch |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, figures in summary.items():
        accuracy = ", ".join(f"{value:.4f}" for value in figures["test_acc_final"])
        rows.append(
            f"| {LABELS[name]} | {figures['images_per_s']:,.0f} "
            f"| {figures['images_per_cpu_s']:,.0f} | {figures['epoch_s_median']:.2f} "
            f"| {figures['images_per_epoch']:,} | {figures['wall_s_mean']:.1f} "
            f"| {figures['peak_rss_mib']:.0f} | {accuracy} |"
        )
    rows.append("")
    for key, unit in (("images_per_s", "images/s"), ("images_per_cpu_s", "images per CPU s")):
        if all(name in summary for name in "abc"):
            c_speed = summary["c"][key]
            rows.append(
                f"Ratios in {unit}: (c)/(a) {c_speed / summary['a'][key]:.2f}x, "
                f"(c)/(b) {c_speed / summary['b'][key]:.2f}x."
            )
    for name in "cd":
        if name in summary:
            reached = ", ".join(
                "not reached" if seconds is None else f"{seconds:.1f} s"
                for seconds in summary[name]["val_target_s"]
            )
            rows.append(
                f"{LABELS[name]} first reached val/acc >= {args.val_target} after: {reached} "
                "(wall time since process start)."
            )
    rows += [
        "images/s, images per CPU s and train s per epoch are medians over epochs; wall s is "
        "the mean over rounds, from process start to exit.",
        f"Epochs per runner: {args.epochs}, rounds: {args.rounds}, "
        f"OMP_NUM_THREADS={args.threads or 'unset'}, channels-last in (b) and (c): "
        f"{'on' if args.channels_last else 'off'}.",
    ]
    return "\n".join(rows)


def plot(summary: dict, paths: list[Path]) -> None:
    """Draw test accuracy against wall time since process start for (a), (c) and (d)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for name, style in (("a", "o-"), ("c", "s-"), ("d", "^--")):
        if name not in summary:
            continue
        seconds, accuracy = zip(*summary[name]["curve"], strict=True)
        axes.plot(seconds, accuracy, style, label=LABELS[name])
    axes.set_xlabel("wall time since process start (s), plot-only test evaluations excluded")
    axes.set_ylabel("test accuracy after each epoch")
    axes.set_title("ClassicCNN on Fashion-MNIST, one process per curve")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100)
    plt.close(figure)


def main() -> None:
    args = parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    files = locate(args.data_dir, SYSTEM_DIRS)
    folder = next(iter(files.values())).parent
    print(f"Fashion-MNIST from {folder}; results in {args.output_dir}", flush=True)

    runners = list(dict.fromkeys(args.runners))
    unknown = [name for name in runners if name not in LABELS]
    if unknown:
        raise SystemExit(
            f"Unknown runner(s) {unknown} in --runners={args.runners}; use a, b, c, d."
        )
    runs: dict[str, list[dict]] = {name: [] for name in runners}
    with tempfile.TemporaryDirectory(prefix="fmnist-bench-") as temp:
        data = {"folder": folder, "torchvision_root": torchvision_root(files, Path(temp))}
        for round_index in range(args.rounds):
            order = runners if round_index % 2 == 0 else runners[::-1]
            for name in order:
                runs[name].append(run_one(name, round_index, args, data))

    summary = {name: summarize(runs[name], args.val_target) for name in runners}
    text = table(summary, args)
    print("\n" + text)
    (args.output_dir / "results.md").write_text(text + "\n")
    (args.output_dir / "results.json").write_text(
        json.dumps(
            {
                "args": vars(args) | {"output_dir": str(args.output_dir), "plot": str(args.plot)},
                "runs": runs,
                "summary": summary,
            },
            indent=2,
        )
        + "\n"
    )
    plot(summary, [args.output_dir / "accuracy_vs_time.png", *([args.plot] if args.plot else [])])


if __name__ == "__main__":
    main()
