"""Find unknown config group choices on the command line before Hydra composes the config.

Hydra rejects ``model=foo`` too, but with a multi-line message that buries the options under
its config search path. This check returns one line with the available options instead.
"""

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException
from omegaconf import OmegaConf

CONFIG_SUFFIXES = (".yaml", ".yml")


def group_options(config_dir: Path) -> dict[str, list[str]]:
    """Map each config group under ``config_dir`` (``model``, ``trainer``...) to its options.

    Hydra's own ``hydra`` group and its subgroups are left out: their options live in Hydra
    and its plugins, not in this folder.
    """
    groups = {}
    for folder in sorted(path for path in config_dir.rglob("*") if path.is_dir()):
        group = folder.relative_to(config_dir).as_posix()
        if group == "hydra" or group.startswith("hydra/"):
            continue
        # Hydra also accepts options from subfolders: experiment=ablation/no_dropout.
        options = [
            path.relative_to(folder).with_suffix("").as_posix()
            for path in folder.rglob("*")
            if path.suffix in CONFIG_SUFFIXES
        ]
        groups[group] = sorted(options)
    return groups


def chosen_options(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        yield from (item for item in value if isinstance(item, str))


def primary_groups(config_dir: Path, config_name: str) -> list[str]:
    """Return the groups in the defaults list of ``config_name``, except Hydra's own."""
    config = OmegaConf.load(config_dir / f"{config_name}.yaml")
    groups = set()
    for entry in config.get("defaults") or []:
        if isinstance(entry, str) or not entry:
            continue
        key = str(next(iter(entry))).removeprefix("override ").lstrip("/").split("@")[0]
        if key != "hydra" and not key.startswith("hydra/"):
            groups.add(key)
    return sorted(groups)


def find_unknown_choice(
    arguments: Sequence[str], config_dir: Path, config_name: str | None = None
) -> str | None:
    """Return a one-line message for the first unknown group option in ``arguments``.

    With ``config_name``, a group that this primary config does not use is reported too,
    unless the override adds it with ``+``.
    """
    # Another search path may provide options this folder lacks, so leave those runs to Hydra.
    if any(arg.startswith(("--config-dir", "-cd", "hydra.searchpath")) for arg in arguments):
        return None

    groups = group_options(config_dir)
    used = primary_groups(config_dir, config_name) if config_name else list(groups)
    parser = OverridesParser.create()
    for argument in arguments:
        if argument.startswith("-") or "=" not in argument:
            continue
        try:
            override = parser.parse_overrides([argument])[0]
        except OverrideParseException:
            continue  # Hydra reports syntax errors itself.
        group = override.key_or_group
        if group not in groups or override.is_delete():
            continue
        if group not in used and not override.is_add():
            return (
                f"Unknown config group {group} in {argument}: the {config_name} config takes "
                f"the groups {', '.join(used) or 'none'}."
            )

        if override.is_sweep_override():
            if override.value_type is not None and override.value_type.name == "GLOB_CHOICE_SWEEP":
                continue
            values = list(override.sweep_string_iterator())
        else:
            values = list(chosen_options(override.value()))
        for value in values:
            if value not in groups[group]:
                available = ", ".join(groups[group]) or "none"
                return (
                    f"Unknown option {group}={value}: there is no "
                    f"{config_dir.name}/{group}/{value}.yaml; available options for {group}: "
                    f"{available}."
                )
    return None
