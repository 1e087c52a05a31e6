"""Fashion-MNIST classifiers trained with PyTorch Lightning and configured with Hydra."""

from fmnist import rundirs
from fmnist.paths import register_resolvers

register_resolvers()
rundirs.register_resolvers()
