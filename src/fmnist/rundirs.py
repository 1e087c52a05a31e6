"""Run and sweep folders that are never shared: a taken name gets a ``~2``, ``~3`` ... suffix.

Two runs or sweeps started in the same second, or two sweep jobs with the same overrides,
would otherwise write checkpoints and event files into one folder. The resolvers below create
the folder when they first resolve, so the check and the claim are one atomic ``mkdir``.
They are registered with ``use_cache=True``: OmegaConf keeps the result in the config, and
Hydra copies that cache into every job's config, so a sweep folder resolves to the same path
in every job, also in joblib worker processes.

Hydra resolves the run folder several times per launch, in separate copies of the config,
and also while it merges the config files, before the command-line overrides apply. So one
process claims a requested path only once, and the folders it claimed but left empty are
removed when it exits.
"""

import atexit
from pathlib import Path

from omegaconf import OmegaConf

# File systems reject names over 255 bytes; leave room for the ``~N`` suffix.
MAX_NAME_BYTES = 200

# Folders ``unique_dir`` claimed in this process, by the path it was asked for.
claimed_dirs: dict[Path, Path] = {}


def claim_dir(path: Path) -> Path:
    """Create ``path``, or the first free ``path~2``, ``path~3`` ...; return the one created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path
    number = 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            number += 1
            candidate = path.with_name(f"{path.name}~{number}")


def unique_dir(path: str) -> str:
    """Resolve ``${unique_dir:PATH}``: claim a fresh folder at PATH and return its path.

    Where no folder can be created, PATH is returned as it is, so the output folder check
    reports the problem in one line instead of Hydra's interpolation traceback.
    """
    requested = Path(path)
    folder = claimed_dirs.get(requested)
    if folder is not None and folder.is_dir():
        return str(folder)
    try:
        folder = claim_dir(requested)
    except OSError:
        return path
    claimed_dirs[requested] = folder
    return str(folder)


def release_unused_dirs(keep: str | None = None) -> None:
    """Remove the folders ``unique_dir`` claimed, other than ``keep``, that are still empty."""
    kept_dir = Path(keep).absolute() if keep else None
    for requested, folder in list(claimed_dirs.items()):
        if folder.absolute() == kept_dir:
            continue
        try:
            folder.rmdir()
        except OSError:
            continue  # Not empty or already gone: something uses it, so it stays.
        del claimed_dirs[requested]


def job_subdir_name(override_dirname: str, job_num: int) -> str:
    """Name a sweep job's folder by its overrides (``job_N`` without any) as one path part."""
    name = override_dirname.replace("/", "_") or f"job_{job_num}"
    if len(name.encode()) > MAX_NAME_BYTES:
        name = name.encode()[: MAX_NAME_BYTES - 20].decode(errors="ignore") + f"..job_{job_num}"
    return name


def job_subdir(sweep_dir: str, override_dirname: str, job_num: int) -> str:
    """Resolve ``${job_subdir:SWEEP_DIR,OVERRIDES,NUM}``: claim a job folder, return its name."""
    name = job_subdir_name(str(override_dirname), int(job_num))
    return claim_dir(Path(sweep_dir) / name).name


def register_resolvers() -> None:
    """Register ``${unique_dir:}`` and ``${job_subdir:}`` for the Hydra configs."""
    OmegaConf.register_new_resolver("unique_dir", unique_dir, use_cache=True, replace=True)
    OmegaConf.register_new_resolver("job_subdir", job_subdir, use_cache=True, replace=True)


# Launches that stop before writing anything (--help, --cfg job, a rejected setting) leave no
# empty folder behind, and neither do the claims Hydra made before the overrides applied.
atexit.register(release_unused_dirs)
