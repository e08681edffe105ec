import torch

from tagseg.sun2018.auxiliary import Discriminator, Generator, discriminator_loss, euclidean_loss, fooling_loss


def test_generator_is_the_papers_three_layers():
    generator = Generator()
    shapes = [tuple(conv.weight.shape) for conv in (generator.conv1, generator.conv2, generator.conv3)]
    assert shapes == [(18, 21, 3, 3), (9, 18, 3, 3), (3, 9, 3, 3)]
    x = torch.softmax(torch.randn(2, 21, 9, 11), 1)
    out = generator(x)
    assert out.shape == (2, 3, 9, 11) and torch.isfinite(out).all()
    euclidean_loss(out, torch.randn(2, 3, 9, 11)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in generator.parameters())


def test_euclidean_loss_by_hand_and_valid_mask():
    a, b = torch.zeros(1, 3, 1, 2), torch.ones(1, 3, 1, 2)
    b[..., 1] = 3.0
    assert euclidean_loss(a, b).item() == (1 + 9) / 2
    valid = torch.tensor([[[1.0, 0.0]]])
    assert euclidean_loss(a, b, valid).item() == 1.0


def test_discriminator_has_five_convolutions_and_losses_flow():
    torch.manual_seed(0)
    discriminator = Discriminator(width=8)
    convs = [m for m in discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 5
    real = torch.nn.functional.one_hot(torch.randint(0, 21, (2, 32, 32)), 21).permute(0, 3, 1, 2).float()
    scores = torch.randn(2, 21, 32, 32, requires_grad=True)
    fake = torch.softmax(scores, 1)
    d_loss, g_loss = discriminator_loss(discriminator, real, fake), fooling_loss(discriminator, fake)
    assert discriminator(real).shape == (2, 1, 2, 2)
    d_grad = torch.autograd.grad(d_loss, scores, allow_unused=True)[0]
    assert d_grad is None  # the discriminator's loss does not train the segmentation network
    g_loss.backward()
    assert scores.grad.abs().sum() > 0
