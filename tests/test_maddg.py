"""MADDG: the method contract, its gradient reversal and its dual-force triplet loss by hand."""

import json

import pytest
import torch
from safetensors.torch import load_file

from metafas.cli import main
from metafas.methods import Method, method_class
from metafas.methods.maddg import MADDG, dual_force_triplet
from metafas.training.checkpoint import latest_checkpoint, load_auxiliary
from metafas.training.config import resolve_config
from metafas.training.loop import resume, train
from tests.test_methods import SMALL, batches

TERMS = {"loss", "cls", "dep", "trip_cross", "trip_intra", "adv"}


@pytest.mark.parametrize("n_domains", [2, 3, 4])
def test_update_predict_and_gradients(n_domains):
    torch.manual_seed(0)
    method = method_class("maddg")(SMALL, MADDG.Config(), source_domains=n_domains)
    before = {n: p.detach().clone() for n, p in method.named_parameters()}
    for step in range(3):
        terms = method.update(batches(n_domains, seed=step))
        assert set(terms) == TERMS
        assert all(torch.isfinite(torch.tensor(v)) for v in terms.values())
    names = [n for n, _ in method.named_parameters()]
    assert sum(n.startswith("auxiliary.discriminators.") for n in names) > 0
    for n, p in method.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), n
        assert not torch.equal(p, before[n]), f"{n} was not updated"
    optimised = {id(p) for group in method.optimizer.param_groups for p in group["params"]}
    assert optimised == {id(p) for p in method.parameters()}
    assert len(method.discriminators) == n_domains
    assert type(method).predict is Method.predict
    images = torch.rand(5, 3, 32, 32)
    scores = method.predict(images)
    assert scores.shape == (5,) and ((scores >= 0) & (scores <= 1)).all()
    features, _ = method.feature_extractor(images)
    torch.testing.assert_close(scores, torch.sigmoid(method.meta_learner(features)))


def test_gradient_reversal_flips_the_discriminator_gradient_into_f():
    """F gets -lambda times the discriminators' gradient; the discriminators get it unchanged."""
    torch.manual_seed(0)
    method = MADDG(SMALL, MADDG.Config(grl_coefficient=0.5), source_domains=3)
    data = batches(3)
    f_params = list(method.feature_extractor.parameters())
    d_params = list(method.discriminators.parameters())

    def gradients(reversed_: bool):
        features = [f for f, _ in method.features(data)]
        if reversed_:
            loss = method.adversarial_loss(features)
        else:
            loss = method.discriminator_loss(torch.cat(features), [len(f) for f in features])
        return torch.autograd.grad(loss, f_params + d_params)

    reversed_, plain = gradients(True), gradients(False)
    n = len(f_params)
    assert sum(g.abs().sum() for g in plain[:n]) > 0
    for r, p in zip(reversed_[:n], plain[:n], strict=True):
        torch.testing.assert_close(r, -0.5 * p)
    for r, p in zip(reversed_[n:], plain[n:], strict=True):
        torch.testing.assert_close(r, p)


def test_dual_force_triplet_on_a_hand_made_batch():
    """1-D embeddings, labels 1 1 0 0 per domain; hardest positive and negative by hand.

    Domain a = (0, 1 | 3, 5), domain b = (2, 4 | 6, 9) (live | spoof), margins 0.5 and 0.1.
    Intra a: hinges (1-3, 1-2, 2-2, 2-4) + 0.1 -> (0, 0, 0.1, 0), mean 0.025.
    Intra b: (2-4, 2-2, 3-2, 3-5) + 0.1 -> (0, 0.1, 1.1, 0), mean 0.3.
    Cross a+b (live 0 1 2 4, spoof 3 5 6 9): (4-3, 3-2, 2-1, 4-1, 6-1, 4-1, 3-2, 6-5) + 0.5
    -> (1.5, 1.5, 1.5, 3.5, 5.5, 3.5, 1.5, 1.5), mean 2.5.
    A third domain c = a: cross a+c: (1-3, 1-2, 2-2, 2-4) + 0.5 twice -> mean 0.5 * 2 / 8 =
    0.125; cross b+c = cross a+b.
    """
    config = MADDG.Config(cross_margin=0.5, intra_margin=0.1)
    label = torch.tensor([1.0, 1.0, 0.0, 0.0])
    a = torch.tensor([[0.0], [1.0], [3.0], [5.0]], dtype=torch.float64)
    b = torch.tensor([[2.0], [4.0], [6.0], [9.0]], dtype=torch.float64)
    cross, intra = dual_force_triplet([a, b], [label, label], config)
    torch.testing.assert_close(cross.item(), 2.5)
    torch.testing.assert_close(intra.item(), 0.325)
    cross, intra = dual_force_triplet([a, b, a.clone()], [label] * 3, config)
    torch.testing.assert_close(cross.item(), 2.5 + 0.125 + 2.5)
    torch.testing.assert_close(intra.item(), 0.025 + 0.3 + 0.025)


def test_refuses_a_step_with_another_number_of_domains_and_bad_fields():
    method = MADDG(SMALL, MADDG.Config(), source_domains=3)
    with pytest.raises(ValueError, match="built for 3 source domains"):
        method.loss(batches(2))
    with pytest.raises(ValueError, match="build it with source_domains=N"):
        MADDG(SMALL, MADDG.Config())
    with pytest.raises(ValueError, match="maddg.cross_margin must be >= 0"):
        MADDG.Config(cross_margin=-1.0)


def test_train_from_the_cli_checkpoints_the_discriminators(tiny_store, tmp_path):
    run = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--method", "maddg", "--store", str(tiny_store)]
    assert main(args + ["--out", str(run), "--set", "train.steps=2"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["method"] == "maddg"
    records = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert records and all(0 <= r["metrics"]["HTER"] <= 1 for r in records)
    auxiliary = load_auxiliary(latest_checkpoint(run))
    assert {key.split(".")[1] for key in auxiliary} == {"0", "1", "2"}


def test_interrupted_run_resumes_to_the_same_discriminators(tiny_store, tmp_path, monkeypatch):
    """Exact resume restores the discriminators (auxiliary.safetensors), not only DepthNet."""
    options = [f'data.store="{tiny_store}"', 'method="maddg"', "train.checkpoint_every=1"]
    config = resolve_config("tiny", options)
    full = train(config, tmp_path / "full", progress=False)
    update, calls = MADDG.update, []

    def interrupted_at_step_3(self, batches):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return update(self, batches)

    monkeypatch.setattr(MADDG, "update", interrupted_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "killed", progress=False)
    monkeypatch.setattr(MADDG, "update", update)
    killed = resume(tmp_path / "killed", progress=False)
    for name in ("model.safetensors", "optimizer.safetensors", "auxiliary.safetensors"):
        a = load_file(latest_checkpoint(full) / name)
        b = load_file(latest_checkpoint(killed) / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
