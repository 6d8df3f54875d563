"""The study files in experiments/: every run resolves to a valid config through the sweep's
own planning, and the variants and seeds are those issue 14 asks for. Nothing is trained."""

import json
from collections import Counter
from pathlib import Path

import pytest
import torch

from metafas.data.batch import Batch
from metafas.data.protocols import get_protocol
from metafas.evaluation.results_doc import CONTRASTS
from metafas.evaluation.table import flat_config
from metafas.methods.base import classification_loss, depth_loss
from metafas.methods.rfm import RFM
from metafas.training.config import resolve_config
from metafas.training.runs import build_method
from metafas.training.sweep import load_spec, plan

REPO = Path(__file__).resolve().parents[1]
SIMULATED = ["sim_OCI_M", "sim_OMI_C", "sim_OCM_I", "sim_ICM_O"]
NUAA = ["NUAA_12_3", "NUAA_13_2", "NUAA_23_1"]
REAL = ["OCI_M", "OMI_C", "OCM_I", "ICM_O", "MI_C", "MI_O"]
STUDIES = {"rfm_ablation.toml": SIMULATED + NUAA, "rfm_ablation_real.toml": REAL}
# variant label -> (seeds, the config fields it changes against its method's base run)
VARIANTS = {
    "deepall": (5, {}),
    "deepall+binary": (3, {"deepall.depth_weight": 0.0}),
    "deepall+rfm_ratio": (5, {"deepall.depth_weight": 7.5}),
    "rfm": (5, {}),
    "rfm+inner_lr_near0": (5, {"rfm.inner_lr": 1e-8}),
    "rfm+inner_lr_1e_2": (3, {"rfm.inner_lr": 1e-2}),
    "rfm+inner_lr_1e_1": (3, {"rfm.inner_lr": 1e-1}),
    "rfm+first_order": (3, {"rfm.first_order": True}),
    "rfm+not_fine_grained": (3, {"rfm.fine_grained": False}),
    "rfm+no_depth": (3, {"rfm.depth_weight": 0.0}),
    "rfm+all_splits": (3, {"rfm.meta_test_splits": "all"}),
}
# With 2 sources RFM's ratio is DeepAll's own, and one meta-train domain cannot be pooled.
THREE_SOURCES_ONLY = {"deepall+rfm_ratio", "rfm+not_fine_grained"}


@pytest.fixture(scope="module")
def studies() -> dict:
    """Each study's planned runs, planned from the repository root (its relative paths)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        return {name: plan(load_spec(REPO / "experiments" / name)) for name in STUDIES}


def label(run) -> str:
    return run.method + (f"+{run.ablation}" if run.ablation else "")


def n_sources(run) -> int:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        return len(get_protocol(run.protocol, run.config.data.protocols_file or None).sources)


@pytest.mark.parametrize("name", STUDIES)
def test_every_variant_runs_with_its_seeds_on_every_protocol(studies, name):
    runs = studies[name]
    assert list(dict.fromkeys(r.protocol for r in runs)) == STUDIES[name]
    for protocol in STUDIES[name]:
        mine = [r for r in runs if r.protocol == protocol]
        three = n_sources(mine[0]) == 3
        expected = {v: n for v, (n, _) in VARIANTS.items() if three or v not in THREE_SOURCES_ONLY}
        assert Counter(label(r) for r in mine) == expected, protocol
        seeds = {v: {r.seed for r in mine if label(r) == v} for v in expected}
        assert all(seeds[v] <= seeds["deepall"] == seeds["rfm"] for v in seeds)  # pairable
    assert len(runs) == {"rfm_ablation.toml": 4 * 41 + 3 * 33, "rfm_ablation_real.toml": 230}[name]


@pytest.mark.parametrize("name", STUDIES)
def test_each_variant_changes_only_what_its_name_says(studies, name):
    runs = studies[name]
    base = {(r.protocol, r.method, r.seed): r.config for r in runs if r.ablation is None}
    for run in runs:
        mine = flat_config(run.config.to_dict())
        theirs = flat_config(base[run.protocol, run.method, run.seed].to_dict())
        changed = {k: json.loads(v) for k, v in mine.items() if theirs[k] != v}
        assert changed == VARIANTS[label(run)][1], run.name


def test_the_studies_presets_and_data(studies):
    for run in studies["rfm_ablation.toml"]:
        config = run.config
        assert (config.model.input_size, config.train.steps, config.train.eval_every) == (
            64,
            80,
            40,
        )
        nuaa = run.protocol.startswith("NUAA")
        assert config.data.store == ("stores/nuaa_every_frame" if nuaa else "stores/sim_64")
        custom = run.protocol in ("NUAA_13_2", "NUAA_23_1")
        assert config.data.protocols_file == ("experiments/nuaa_sessions.toml" if custom else "")
    for run in studies["rfm_ablation_real.toml"]:
        paper = resolve_config("paper", [])
        assert (run.config.model, run.config.train.steps) == (paper.model, paper.train.steps)
        assert run.config.data.store == "stores/ocim"


def test_the_reweighting_control_has_rfms_classification_to_depth_ratio():
    """On three identical domain batches with alpha ~ 0 every per-domain term is the same L_cls
    and L_dep, so RFM's terms count how often each enters its objective (Eq. 6)."""
    overrides = ['method="rfm"', "rfm.inner_lr=1e-8", 'data.protocol="sim_OCI_M"']
    method = build_method(resolve_config("tiny", overrides))
    generator = torch.Generator().manual_seed(0)
    label = torch.tensor([1.0, 1.0, 0.0, 0.0])
    depth = torch.rand(4, 1, 4, 4, generator=generator) * label[:, None, None, None]
    batch = Batch(torch.rand(4, 3, 32, 32, generator=generator), depth, label, "d", ())
    terms = method.loss([batch] * 3, meta_test=0)
    features, depth_features = method.features([batch])[0]
    cls = classification_loss(method.meta_learner(features), batch.label)
    dep = depth_loss(method.depth_estimator(depth_features), batch.depth)
    config = RFM.Config()
    beta, weight = config.meta_test_weight, config.depth_weight
    cls_terms = ((terms["cls_meta_train"] + beta * terms["cls_meta_test"]) / cls).item()
    dep_terms = ((terms["dep_meta_train"] + beta * terms["dep_meta_test"]) / dep).item()
    assert (cls_terms, dep_terms) == (pytest.approx(4, rel=1e-4), pytest.approx(3, rel=1e-4))
    ratio = weight * dep_terms / cls_terms  # DeepAll's depth weight for the same 1 : ratio
    assert VARIANTS["deepall+rfm_ratio"][1]["deepall.depth_weight"] == pytest.approx(ratio)


def test_every_contrast_of_the_results_document_names_variants_of_the_study():
    labels = set(VARIANTS)
    for contrast in CONTRASTS:
        assert {contrast.variant, contrast.baseline} <= labels, contrast.part


PARTS = {
    "rfm_ablation_core.toml": (
        4 * 4 * 5,
        {"deepall", "deepall+rfm_ratio", "rfm", "rfm+inner_lr_near0"},
    ),
    "rfm_ablation_parts.toml": (
        4 * 3 * 3,
        {"rfm", "rfm+not_fine_grained", "rfm+no_depth"},
    ),
}


@pytest.mark.parametrize("name", PARTS)
def test_a_part_of_the_study_is_in_the_whole_one_run_for_run(studies, name):
    """A part's runs keep their names and configs in the whole study, so a sweep of the whole
    study into the same directory skips them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        part = plan(load_spec(REPO / "experiments" / name))
    whole = {run.name: run.config for run in studies["rfm_ablation.toml"]}
    n_runs, labels = PARTS[name]
    assert len(part) == n_runs
    assert {label(run) for run in part} == labels
    for run in part:
        assert run.config == whole[run.name], run.name
