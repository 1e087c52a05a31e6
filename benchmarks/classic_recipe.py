"""Reference (a): the classic plain-PyTorch recipe for Fashion-MNIST.

torchvision's ``FashionMNIST`` dataset with ``ToTensor``, so every image goes through PIL on
every step, a shuffling ``DataLoader`` with batch 100, ``ClassicCNN`` and Adam at lr 0.01.

    python benchmarks/classic_recipe.py --root ROOT --epochs 10 --record a.jsonl

ROOT must contain ``FashionMNIST/raw`` with the four uncompressed IDX files, which is where
torchvision looks before it tries to download; ``benchmarks/run.py`` prepares such a folder.
"""

import argparse
import time

import torch
import torch.nn.functional as F
from records import RecordWriter, accuracy, launched_at, peak_rss_mib
from torch.utils.data import DataLoader
from torchvision.datasets import FashionMNIST
from torchvision.transforms import ToTensor

from fmnist.network import ClassicCNN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="folder that holds FashionMNIST/raw")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--record", required=True, help="JSON-lines file to write")
    args = parser.parse_args()

    started = launched_at()
    records = RecordWriter(args.record)
    torch.manual_seed(args.seed)

    train_set = FashionMNIST(args.root, train=True, transform=ToTensor(), download=False)
    test_set = FashionMNIST(args.root, train=False, transform=ToTensor(), download=False)
    train_loader = DataLoader(
        train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.num_workers
    )
    test_loader = DataLoader(test_set, batch_size=1000, num_workers=args.num_workers)

    model = ClassicCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    evaluation_s = 0.0
    for epoch in range(args.epochs):
        epoch_started = time.perf_counter()
        epoch_cpu_started = time.process_time()
        images_seen = 0
        for images, labels in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            images_seen += len(labels)
        train_s = time.perf_counter() - epoch_started
        train_cpu_s = time.process_time() - epoch_cpu_started

        evaluation_started = time.perf_counter()
        test_acc = accuracy(model, test_loader)
        evaluation_s += time.perf_counter() - evaluation_started
        records.write(
            kind="epoch",
            epoch=epoch,
            images=images_seen,
            train_s=train_s,
            train_cpu_s=train_cpu_s,
            test_acc=test_acc,
            elapsed_s=time.time() - started - evaluation_s,
        )

    records.write(kind="end", elapsed_s=time.time() - started, peak_rss_mib=peak_rss_mib())


if __name__ == "__main__":
    main()
