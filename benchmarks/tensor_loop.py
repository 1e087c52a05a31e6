"""Reference (b): the same network and optimizer, looping over tensors held in memory.

The IDX files are decoded once into uint8 tensors; each step indexes a shuffled batch and
scales it to [0, 1], with no Dataset, DataLoader or PIL image in between.

    python benchmarks/tensor_loop.py --data-dir /usr/share/datasets/fashion-mnist --record b.jsonl
"""

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from records import RecordWriter, accuracy, launched_at, peak_rss_mib

from fmnist.idx import read_split
from fmnist.network import ClassicCNN
from fmnist.sources import SPLIT_FILES, find_files


def load_split(data_dir: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    files = find_files(data_dir)
    if files is None:
        raise SystemExit(f"Fashion-MNIST IDX files not found in {data_dir}")
    images_stem, labels_stem = SPLIT_FILES[split]
    return read_split(files[images_stem], files[labels_stem])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="folder with the IDX files")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument(
        "--channels-last", action="store_true", help="NHWC layout, like model.channels_last"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--record", required=True, help="JSON-lines file to write")
    args = parser.parse_args()

    started = launched_at()
    records = RecordWriter(args.record)
    torch.manual_seed(args.seed)

    train_images, train_labels = load_split(args.data_dir, "train")
    test_images, test_labels = load_split(args.data_dir, "test")
    test_batches = [
        (test_images[start : start + 1000].float().div_(255), test_labels[start : start + 1000])
        for start in range(0, len(test_labels), 1000)
    ]

    model = ClassicCNN()
    layout = torch.channels_last if args.channels_last else torch.contiguous_format
    model.to(memory_format=layout)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    evaluation_s = 0.0
    for epoch in range(args.epochs):
        epoch_started = time.perf_counter()
        epoch_cpu_started = time.process_time()
        order = torch.randperm(len(train_labels))
        for start in range(0, len(order), args.batch_size):
            index = order[start : start + args.batch_size]
            images = train_images.index_select(0, index).float().div_(255)
            images = images.contiguous(memory_format=layout)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), train_labels.index_select(0, index))
            loss.backward()
            optimizer.step()
        train_s = time.perf_counter() - epoch_started
        train_cpu_s = time.process_time() - epoch_cpu_started

        evaluation_started = time.perf_counter()
        test_acc = accuracy(model, test_batches)
        evaluation_s += time.perf_counter() - evaluation_started
        records.write(
            kind="epoch",
            epoch=epoch,
            images=len(order),
            train_s=train_s,
            train_cpu_s=train_cpu_s,
            test_acc=test_acc,
            elapsed_s=time.time() - started - evaluation_s,
        )

    records.write(kind="end", elapsed_s=time.time() - started, peak_rss_mib=peak_rss_mib())


if __name__ == "__main__":
    main()
