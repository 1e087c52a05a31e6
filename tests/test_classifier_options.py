"""Classifier options: flip test-time augmentation and the channels-last layout."""

import torch

from fmnist.classifier import FashionMNISTClassifier


def tiny_classifier(**overrides) -> FashionMNISTClassifier:
    settings = dict(
        net={"_target_": "fmnist.network.ClassicCNN"},
        optimizer={"_target_": "torch.optim.Adam", "_partial_": True, "lr": 0.001},
    )
    settings.update(overrides)
    return FashionMNISTClassifier(**settings)


def test_tta_averages_mirror_in_eval() -> None:
    torch.manual_seed(0)
    model = tiny_classifier(tta_hflip=True).eval()
    images = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        plain = model.net(model.normalize(images))
        mirrored = model.net(model.normalize(images.flip(-1)))
        averaged = model(images)
    assert torch.allclose(averaged, (plain + mirrored) / 2, atol=1e-6)
    assert not torch.allclose(averaged, plain, atol=1e-4), "the mirror should change logits"


def test_tta_single_pass_in_training() -> None:
    torch.manual_seed(0)
    model = tiny_classifier(tta_hflip=True).train()
    images = torch.rand(4, 1, 28, 28)
    assert torch.equal(model(images), model.net(model.normalize(images)))


def test_tta_off_by_default() -> None:
    torch.manual_seed(0)
    model = tiny_classifier().eval()
    images = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model(images), model.net(model.normalize(images)))
    assert model.hparams.tta_hflip is False


def test_channels_last_weights_load_contiguous() -> None:
    torch.manual_seed(0)
    source = tiny_classifier(channels_last=True).eval()
    target = tiny_classifier().eval()
    target.load_state_dict(source.state_dict())
    conv = source.net.features[3].weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert not conv.is_contiguous()
    images = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(source(images), target(images), atol=1e-5)
