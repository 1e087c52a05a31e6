"""Fashion-MNIST classifiers trained with PyTorch Lightning and configured with Hydra."""

from fmnist import rundirs
from fmnist.config_store import register_configs
from fmnist.paths import register_resolvers

register_resolvers()
rundirs.register_resolvers()
register_configs()
