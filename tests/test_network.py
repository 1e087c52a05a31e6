"""The classic network's shape and its configurable widths."""

import pytest
import torch

from fmnist.errors import UserInputError
from fmnist.network import ClassicCNN


def test_default_layers_match_classic_shape() -> None:
    net = ClassicCNN()
    convs = [layer for layer in net.features if isinstance(layer, torch.nn.Conv2d)]
    linears = [layer for layer in net.classifier if isinstance(layer, torch.nn.Linear)]
    assert [(conv.in_channels, conv.out_channels) for conv in convs] == [(1, 6), (6, 12)]
    assert [conv.kernel_size for conv in convs] == [(5, 5), (5, 5)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [
        (192, 120),
        (120, 60),
        (60, 10),
    ]


def test_output_shape() -> None:
    logits = ClassicCNN()(torch.zeros(7, 1, 28, 28))
    assert logits.shape == (7, 10)


def test_wider_padded_network_output_shape() -> None:
    net = ClassicCNN(channels=(32, 64), hidden=(256, 128), padding=2, batch_norm=True, dropout=0.2)
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_wrong_width_count_rejected() -> None:
    with pytest.raises(UserInputError, match="give two convolution widths"):
        ClassicCNN(channels=(6, 12, 24))


def test_oversized_kernel_rejected() -> None:
    with pytest.raises(UserInputError, match="kernel_size=13"):
        ClassicCNN(kernel_size=13)
