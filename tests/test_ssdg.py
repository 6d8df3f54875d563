"""SSDG: the method contract, its own terms against hand computations, and training from the CLI."""

import json
import math
import shutil

import pytest
import torch
import torch.nn.functional as nnf
from safetensors.torch import load_file
from test_methods import SMALL, batches

from metafas.cli import main
from metafas.methods.ssdg import SSDG, asymmetric_triplet_loss
from metafas.models import DepthNet
from metafas.training.checkpoint import latest_checkpoint
from metafas.training.runs import load_method

TERMS = {"loss", "cls", "ada", "trip", "dep"}


def double_batches(n_domains: int, seed: int = 0):
    return [b._replace(image=b.image.double()) for b in batches(n_domains, seed=seed)]


@pytest.mark.parametrize(
    "n_domains,options", [(2, {}), (3, {}), (4, {}), (3, {"depth_weight": 10.0})]
)
def test_update_predict_and_gradients(n_domains, options):
    torch.manual_seed(0)
    method = SSDG(SMALL, SSDG.Config(**options), source_domains=n_domains)
    before = {n: p.detach().clone() for n, p in method.named_parameters()}
    for step in range(3):
        terms = method.update(batches(n_domains, seed=step))
        assert set(terms) == TERMS and all(math.isfinite(v) for v in terms.values())
    for n, p in method.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), n
    moved = {n.split(".")[1] for n, p in method.named_parameters() if not torch.equal(p, before[n])}
    assert {"feature_extractor", "meta_learner", "discriminator"} <= moved
    scores = method.predict(torch.rand(5, 3, 32, 32))
    assert scores.shape == (5,) and ((scores >= 0) & (scores <= 1)).all()


def test_predict_and_export_use_the_normalised_classifier_that_training_uses():
    torch.manual_seed(0)
    method = SSDG(SMALL, SSDG.Config(), source_domains=3)
    for step in range(2):
        method.update(batches(3, seed=step))
    head = method.meta_learner.head
    assert torch.allclose(head.weight.norm(), torch.tensor(2.0)) and torch.all(head.bias == 0)
    images = torch.rand(6, 3, 32, 32)
    scores = method.predict(images)  # eval mode: DepthNet.forward, what ONNX export traces
    with torch.no_grad():
        z, logits = method.meta_learner.embed(method.feature_extractor(images)[0])
    torch.testing.assert_close(z.norm(dim=1), torch.ones(6))
    torch.testing.assert_close(torch.sigmoid(logits), scores)
    assert method.network.state_dict().keys() == DepthNet(SMALL).state_dict().keys()


def test_discriminator_sees_live_faces_only():
    torch.manual_seed(0)
    method = SSDG(SMALL, SSDG.Config(grl_ramp_steps=0), source_domains=2).eval()  # no dropout
    label = torch.tensor([1.0, 1, 0, 0, 1, 1, 0, 0])
    domain = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    z = nnf.normalize(torch.randn(8, SMALL.channels(512)), dim=1)
    ada = method.adversarial_loss(z, label, domain)
    spoofs_changed = torch.where(label[:, None] == 0, torch.randn_like(z), z)
    torch.testing.assert_close(method.adversarial_loss(spoofs_changed, label, domain), ada)
    live_changed = z.clone()
    live_changed[0] = -z[0]
    assert not torch.isclose(method.adversarial_loss(live_changed, label, domain), ada)


def test_gradient_reversal_flips_the_discriminators_gradient_into_f():
    torch.manual_seed(0)
    method = SSDG(SMALL, SSDG.Config(), source_domains=3).double()
    method.auxiliary.eval()  # no dropout, so both paths see the same discriminator
    method.steps_done = 1000
    coefficient = 2 / (1 + math.exp(-10 * 1000 / 4000)) - 1
    assert method.grl_coefficient() == pytest.approx(coefficient)
    data = double_batches(3)
    z = torch.cat([method.meta_learner.embed(f)[0] for f, _ in method.features(data)])
    label = torch.cat([b.label for b in data])
    domain = torch.arange(3).repeat_interleave(4)
    ada = method.adversarial_loss(z, label, domain)
    live = label == 1
    plain = nnf.cross_entropy(method.auxiliary["discriminator"](z[live]), domain[live])
    discriminator = list(method.auxiliary.parameters())
    generator = [*method.feature_extractor.parameters(), *method.meta_learner.layers.parameters()]
    reversed_grads = torch.autograd.grad(ada, generator + discriminator, retain_graph=True)
    plain_grads = torch.autograd.grad(plain, generator + discriminator)
    n = len(generator)
    assert any(g.abs().sum() > 0 for g in reversed_grads[:n])
    for reversed_grad, plain_grad in zip(reversed_grads[:n], plain_grads[:n], strict=True):
        torch.testing.assert_close(reversed_grad, -coefficient * plain_grad)
    for reversed_grad, plain_grad in zip(reversed_grads[n:], plain_grads[n:], strict=True):
        torch.testing.assert_close(reversed_grad, plain_grad)


def test_grl_schedule():
    method = SSDG(SMALL, SSDG.Config(), source_domains=3)
    assert method.grl_coefficient() == 0.0
    method.steps_done = 4000
    assert method.grl_coefficient() == pytest.approx(2 / (1 + math.exp(-10)) - 1)
    assert SSDG(SMALL, SSDG.Config(grl_ramp_steps=0), source_domains=3).grl_coefficient() == 1.0


def test_asymmetric_triplet_loss_on_a_hand_made_batch():
    # Live faces L1 (domain 0) and L2 (domain 1) share class 0; spoofs S1, S2 of domain 0 are
    # class 1, spoof T of domain 1 is class 2. Squared distances: L1L2 .04, L2S2 .49, L2S1 .64,
    # L2T .81, S1S2 .01, S1T .01, S2T .04. With margin .5 the positive triplets (a, p, n) are
    # (L2, L1, S2): .04 - .49 + .5 = .05, (S1, S2, T): .01 - .01 + .5 = .5,
    # (S2, S1, L2): .01 - .49 + .5 = .02 and (S2, S1, T): .01 - .04 + .5 = .47; their mean is .26.
    z = torch.tensor([[0.0], [0.2], [1.0], [0.9], [1.1]], dtype=torch.float64)
    classes = torch.tensor([0, 0, 1, 1, 2])
    assert asymmetric_triplet_loss(z, classes, 0.5).item() == pytest.approx(0.26)
    # One class for all spoofs (a symmetric triplet) would pull T towards S1 and S2 instead.
    symmetric = asymmetric_triplet_loss(z, torch.tensor([0, 0, 1, 1, 1]), 0.5)
    assert symmetric.item() != pytest.approx(0.26)
    assert asymmetric_triplet_loss(z, classes, 0.0).item() == 0.0  # no positive triplet


def test_loss_gives_live_faces_one_class_and_spoofs_one_per_domain():
    torch.manual_seed(0)
    method = (
        SSDG(SMALL, SSDG.Config(), source_domains=3).double().eval()
    )  # eval: deterministic features
    data = double_batches(3)
    terms = method.loss(data)
    z = torch.cat([method.meta_learner.embed(f)[0] for f, _ in method.features(data)])
    classes = torch.tensor([0 if y == 1 else d + 1 for d, b in enumerate(data) for y in b.label])
    torch.testing.assert_close(terms["trip"], asymmetric_triplet_loss(z, classes, 0.1))


def test_refuses_a_single_source_and_another_number_than_it_was_built_for():
    with pytest.raises(ValueError, match="ssdg needs at least 2 source domains"):
        SSDG(SMALL, SSDG.Config(), source_domains=1)  # refused when built, before any run
    with pytest.raises(ValueError, match="the 2 it was built for"):
        SSDG(SMALL, SSDG.Config(), source_domains=2).loss(batches(3))
    with pytest.raises(ValueError, match="build it with source_domains=N"):
        SSDG(SMALL, SSDG.Config())
    with pytest.raises(ValueError, match="classifier_norm"):
        SSDG.Config(classifier_norm=0)


@pytest.fixture(scope="module")
def ssdg_run(tiny_store, tmp_path_factory):
    run = tmp_path_factory.mktemp("ssdg") / "run"
    args = ["train", "--preset", "tiny", "--method", "ssdg", "--store", str(tiny_store)]
    assert main([*args, "--out", str(run)]) == 0
    return run


def test_train_from_the_cli_then_resume_exactly(ssdg_run, tmp_path):
    assert json.loads((ssdg_run / "config.json").read_text())["ssdg"]["adversarial_weight"] == 0.5
    checkpoint = latest_checkpoint(ssdg_run)
    auxiliary = load_file(checkpoint / "auxiliary.safetensors")
    assert any(k.startswith("discriminator.") for k in auxiliary)
    method, _ = load_method(checkpoint)
    assert method.predict(torch.rand(3, 3, 32, 32)).shape == (3,)
    # An interrupted run (its step-4 checkpoint lost) resumes to identical weights.
    cut = tmp_path / "cut"
    shutil.copytree(ssdg_run, cut)
    (cut / "done.json").unlink()
    shutil.rmtree(cut / "checkpoints" / checkpoint.name)
    (cut / "checkpoints" / "latest").write_text("step_0000002\n")
    assert main(["train", "--resume", str(cut)]) == 0
    for name in ("model.safetensors", "auxiliary.safetensors", "optimizer.safetensors"):
        a, b = load_file(checkpoint / name), load_file(latest_checkpoint(cut) / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name


def test_onnx_export_matches_predict(ssdg_run, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from metafas.deploy.export import PARITY_TOLERANCE, export_checkpoint

    result = export_checkpoint(latest_checkpoint(ssdg_run), tmp_path / "onnx")
    assert max(result.parity.values()) < PARITY_TOLERANCE
