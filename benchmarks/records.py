"""Per-epoch benchmark records, shared by the reference loops and the Lightning callback.

Every runner appends one JSON object per line to a record file: one ``"kind": "epoch"`` line
per training epoch, then one ``"kind": "end"`` line. Times are seconds: ``train_s`` is wall
time and ``train_cpu_s`` the CPU time of the whole process over the same span, which a busy
machine inflates less than wall time when the runner uses one thread. ``elapsed_s`` counts
from the moment the benchmark launched the runner's process (``BENCH_LAUNCHED_AT``, Unix time),
so it includes interpreter start-up, imports and data loading, but it leaves out the test-set
evaluations that exist only to draw the accuracy curve.
"""

import json
import os
import resource
import time
from pathlib import Path

import torch

LAUNCHED_AT_VARIABLE = "BENCH_LAUNCHED_AT"


def launched_at() -> float:
    """Return the Unix time the benchmark started this process, or now when run by hand."""
    return float(os.environ.get(LAUNCHED_AT_VARIABLE, time.time()))


def peak_rss_mib() -> float:
    """Return the peak resident set size of this process and its finished children, in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # Linux reports kibibytes.
    return max(own, children) / 1024


class RecordWriter:
    """Append benchmark records to a JSON-lines file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")

    def write(self, **record: object) -> None:
        with self.path.open("a") as stream:
            stream.write(json.dumps(record) + "\n")


def read_records(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line]


@torch.no_grad()
def accuracy(model: torch.nn.Module, batches) -> float:
    """Return the fraction of correct predictions over ``(images, labels)`` float batches."""
    was_training = model.training
    model.eval()
    correct = 0
    total = 0
    for images, labels in batches:
        correct += int((model(images).argmax(dim=1) == labels).sum())
        total += len(labels)
    model.train(was_training)
    return correct / total
