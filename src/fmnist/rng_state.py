"""Keep the random number generators' states in checkpoints, so a resumed run continues them.

Lightning saves model, optimizer, scheduler, loop and callback states but not the global
Python, NumPy and torch generators, which drive dropout and the DataLoader's base seed.
"""

import logging
import random
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch

log = logging.getLogger(__name__)


def collect_rng_states() -> dict[str, Any]:
    """Return the global generator states as tensors and plain types (``weights_only`` safe)."""
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (
            kind,
            torch.from_numpy(keys.astype(np.int64)),
            position,
            has_gauss,
            cached_gaussian,
        ),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Set the global generators from ``collect_rng_states`` output; absent entries are skipped."""
    if "python" in states:
        version, internal, gauss_next = states["python"]
        random.setstate((version, tuple(internal), gauss_next))
    if "numpy" in states:
        kind, keys, position, has_gauss, cached_gaussian = states["numpy"]
        np.random.set_state(
            (kind, keys.numpy().astype(np.uint32), position, has_gauss, cached_gaussian)
        )
    if "torch" in states:
        torch.set_rng_state(states["torch"])
    cuda_states = states.get("cuda")
    if cuda_states and torch.cuda.is_available():
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
        else:
            log.warning(
                "The checkpoint contains CUDA random states for %d devices but %d are visible, "
                "so the CUDA generators are not restored.",
                len(cuda_states),
                torch.cuda.device_count(),
            )


class RNGStateCheckpoint(pl.Callback):
    """Store the global random states in every checkpoint and restore them on resume.

    Lightning restores callback states before the sanity check, which it runs with the
    generators isolated, so the first training batch after a resume draws the same numbers
    as it would have in a run that never stopped.
    """

    @property
    def state_key(self) -> str:
        return "RNGStateCheckpoint"

    def state_dict(self) -> dict[str, Any]:
        return collect_rng_states()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        restore_rng_states(state_dict)
