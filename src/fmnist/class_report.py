"""Per-class precision, recall and F1 from a confusion matrix, and their console table."""

from collections.abc import Sequence

import numpy as np
import torch


def safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Divide element-wise, with 0 where the denominator is 0 (no predictions or no samples)."""
    return np.divide(numerator, denominator, out=np.zeros(numerator.shape), where=denominator > 0)


def per_class_metrics(
    matrix: torch.Tensor | np.ndarray, class_names: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Return precision, recall, F1 and support per class name.

    ``matrix`` has true classes as rows and predicted classes as columns, as torchmetrics
    computes it. A class that is never predicted gets precision 0, and F1 is 0 when both
    precision and recall are 0.
    """
    counts = np.asarray(matrix.cpu() if isinstance(matrix, torch.Tensor) else matrix, np.float64)
    true_positives = np.diag(counts)
    support = counts.sum(axis=1)
    precision = safe_ratio(true_positives, counts.sum(axis=0))
    recall = safe_ratio(true_positives, support)
    f1 = safe_ratio(2 * precision * recall, precision + recall)
    return {
        name: {
            "precision": float(precision[index]),
            "recall": float(recall[index]),
            "f1": float(f1[index]),
            "support": int(support[index]),
        }
        for index, name in enumerate(class_names)
    }


def macro_average(report: dict[str, dict[str, float]]) -> dict[str, float]:
    """Return the unweighted mean precision, recall and F1 over the classes."""
    return {
        key: float(np.mean([scores[key] for scores in report.values()]))
        for key in ("precision", "recall", "f1")
    }


def format_table(report: dict[str, dict[str, float]], accuracy: float) -> str:
    """Render the report as an aligned plain-text table with a macro-average row."""
    width = max(len(name) for name in [*report, "Macro average"])
    header = f"{'Class':<{width}}  Precision  Recall      F1  Support"
    lines = [header, "-" * len(header)]
    for name, scores in report.items():
        lines.append(
            f"{name:<{width}}  {scores['precision']:9.4f}  {scores['recall']:6.4f}  "
            f"{scores['f1']:6.4f}  {scores['support']:7d}"
        )
    total = sum(scores["support"] for scores in report.values())
    macro = macro_average(report)
    lines.append("-" * len(header))
    lines.append(
        f"{'Macro average':<{width}}  {macro['precision']:9.4f}  {macro['recall']:6.4f}  "
        f"{macro['f1']:6.4f}  {total:7d}"
    )
    lines.append(f"Accuracy {accuracy:.4f} on {total} test images")
    return "\n".join(lines)


def format_markdown(report: dict[str, dict[str, float]]) -> str:
    """Render the report as a Markdown table, which TensorBoard's text tab displays."""
    lines = ["| Class | Precision | Recall | F1 | Support |", "|---|---|---|---|---|"]
    for name, scores in report.items():
        lines.append(
            f"| {name} | {scores['precision']:.4f} | {scores['recall']:.4f} | "
            f"{scores['f1']:.4f} | {scores['support']} |"
        )
    return "\n".join(lines)
