"""Fashion-MNIST classifiers trained with PyTorch Lightning and configured with Hydra."""

from fmnist.paths import register_resolvers

register_resolvers()
