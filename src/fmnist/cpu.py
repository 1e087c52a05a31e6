"""CPU thread settings for a run."""

import logging

import torch

from fmnist.errors import UserInputError

log = logging.getLogger(__name__)


def set_cpu_threads(count: int | None) -> None:
    """Set torch's intra-op thread count; None keeps torch's default of one per core.

    Torch reads ``OMP_NUM_THREADS`` for its default, so that variable also works when this
    setting is null.
    """
    if count is None:
        return
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise UserInputError(
            f"Invalid cpu_threads={count!r}: use a whole number of threads of at least 1, "
            "or null for torch's default of one per core."
        )
    torch.set_num_threads(count)
    log.info("CPU threads for torch: %d", count)
