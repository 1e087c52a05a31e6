"""Config nodes defined in code and registered in Hydra's ConfigStore."""

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

# An empty node with struct mode off. configs/trainer/default.yaml starts from it, so the
# trainer node accepts any ``pl.Trainer`` argument from the command line without a ``+``.
# Hydra puts the whole config in struct mode after composing it, but a node's own flag wins
# over its parent's (Hydra 1.3, OmegaConf 2.3). fmnist.config_check catches misspelled keys.
OPEN_TRAINER_NODE = "open_trainer"


def register_configs() -> None:
    """Store the code-defined nodes. Call it before Hydra composes a config."""
    node = OmegaConf.create({})
    OmegaConf.set_struct(node, False)
    ConfigStore.instance().store(name=OPEN_TRAINER_NODE, node=node)
