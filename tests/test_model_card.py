"""The model card: model_card.json and model_card.md in every checkpoint (written inside it
before it is renamed into place) and export, with the version, method, config, training data,
protocol, rules and figures from the evaluation records; simulated training data are said so
and make predict warn."""

from __future__ import annotations

import json
import logging
from importlib import metadata
from pathlib import Path

import pytest

from metafas.data.simulated import write_simulated
from metafas.deploy import load_scorer
from metafas.deploy.artifacts import read_model_card
from metafas.training.checkpoint import latest_checkpoint, read_state
from metafas.training.config import resolve_config
from metafas.training.loop import train
from metafas.training.model_card import CARD_FORMAT, build_card, card_files
from tests.test_predict import make_checkpoint


@pytest.fixture(scope="module")
def run(tiny_store, tmp_path_factory) -> Path:
    config = resolve_config("tiny", [f'data.store="{tiny_store}"', 'method="deepall"'])
    return train(config, tmp_path_factory.mktemp("run") / "run", progress=False)


def records_at(run: Path, step: int) -> dict[tuple[str, str], dict]:
    lines = (run / "results.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    return {(r["level"], r["threshold_rule"]): r for r in records if r["step"] == step}


def test_every_checkpoint_carries_a_model_card(run, tiny_store):
    checkpoint = latest_checkpoint(run)
    card = json.loads((checkpoint / "model_card.json").read_text())
    state = read_state(checkpoint)
    assert read_model_card(checkpoint) == card and card["format"] == CARD_FORMAT
    assert card["metafas_version"] == metadata.version("metafas")
    assert (card["method"], card["step"], card["config"]) == ("deepall", 4, state["config"])
    data = card["training_data"]
    assert data["simulated"] is False and data["store_info"] == state["store_info"]
    assert data["store"] == str(tiny_store)
    assert sorted(data["counts"]["train"]) == sorted(data["domains"]["sources"])
    assert data["domains"] == {"sources": ["sim_o", "sim_c", "sim_i"], "target": "sim_m"}
    assert data["counts"]["train"]["sim_o"] == {
        "frames": 8,
        "videos": 4,
        "live_videos": 2,
        "spoof_videos": 2,
        "subjects": 2,
    }
    assert data["counts"]["source_val"]["videos"] == card["threshold"]["levels"]["video"]["videos"]
    assert card["protocol"]["name"] == "sim_OCI_M" and card["protocol"]["val_fraction"] == 0.2
    assert card["selection"]["rule"] == "last" and card["threshold"] == state["threshold"]
    assert card["training_runtime"]["device"] == "cpu"


def test_the_card_figures_come_from_the_evaluation_records(run):
    card = json.loads((latest_checkpoint(run) / "model_card.json").read_text())
    figures, records = card["figures"], records_at(run, 4)
    assert figures["step"] == 4
    for level in ("video", "frame"):
        target, oracle = records[(level, "source_val_eer")], records[(level, "target_eer")]
        assert figures["target_test"][level]["HTER"] == target["metrics"]["HTER"]
        assert figures["target_test"][level]["threshold"] == target["threshold"]
        assert figures["oracle"][level]["HTER"] == oracle["metrics"]["HTER"]
        assert figures["source_validation"][level]["AUC"] == target["source_val_auc"]
        assert figures["source_validation"][level]["EER"] == target["calibration"]["eer"]
    assert figures["oracle"]["oracle"] is True and figures["target_test"]["oracle"] is False
    assert (
        "oracle" in figures["oracle"]["label"] and "target test" in figures["target_test"]["label"]
    )
    markdown = (latest_checkpoint(run) / "model_card.md").read_text()
    video = figures["target_test"]["video"]
    assert f"| video | {video['threshold']:.4f} | {100 * video['HTER']:.2f} |" in markdown
    for heading in ("## Intended use", "## Training data", "## Threshold", "## Known limits"):
        assert heading in markdown
    assert "Oracle: target test at the target's own EER threshold" in markdown
    assert any("only 6 videos" in limit for limit in card["limits"])  # a small validation set
    assert any("bootstrap interval" in limit for limit in card["limits"])


def test_a_model_trained_on_simulated_faces_says_so(tmp_path):
    store = write_simulated(tmp_path / "sim", size=32, subjects=3, progress=False).root
    config = resolve_config("tiny", [f'data.store="{store}"', 'method="deepall"'])
    checkpoint = latest_checkpoint(train(config, tmp_path / "run", progress=False))
    card = read_model_card(checkpoint)
    assert card["training_data"]["simulated"] is True
    assert card["training_data"]["store_info"]["source"] == "simulator"
    assert "meaningless" in card["intended_use"]
    assert any("simulated faces" in limit for limit in card["limits"])
    markdown = (checkpoint / "model_card.md").read_text()
    assert "**Trained on simulated faces: its scores on real photos are meaningless.**" in markdown
    assert "- simulated: yes" in markdown


def simulated_card(config: dict, simulated: bool) -> dict:
    info = {"source": "simulator"} if simulated else {"written_by": "metafas prepare"}
    return build_card(config, 1, None, [], info, None, {"name": "sim_OCI_M"})


@pytest.mark.parametrize("simulated", [True, False])
def test_predict_warns_when_the_card_says_simulated(tmp_path, caplog, simulated):
    """The card decides, not store_info (here empty); the warning reaches any Python caller."""
    checkpoint = make_checkpoint(tmp_path / "ckpt")
    card = simulated_card(read_state(checkpoint)["config"], simulated)
    for name, text in card_files(card).items():
        (checkpoint / name).write_text(text)
    with caplog.at_level(logging.WARNING):
        scorer = load_scorer(checkpoint)
    assert scorer.model_card["training_data"]["simulated"] is simulated
    warned = "trained on simulated faces (its model card says so)" in caplog.text
    assert warned is simulated


def test_an_old_checkpoint_without_a_card_falls_back_to_store_info(tmp_path, caplog):
    checkpoint = make_checkpoint(tmp_path / "ckpt", store_info={"source": "simulator"})
    with caplog.at_level(logging.WARNING):
        assert load_scorer(checkpoint).model_card is None
    assert "trained on simulated faces (store_info source=simulator)" in caplog.text


def test_an_export_carries_the_card_and_derives_one_for_old_checkpoints(run, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from metafas.deploy.export import export_checkpoint, write_model_card

    checkpoint = latest_checkpoint(run)
    result = export_checkpoint(checkpoint, tmp_path / "export")
    card, source = read_model_card(result.directory), read_model_card(checkpoint)
    assert {k: v for k, v in card.items() if k != "export"} == source
    assert card["export"]["format"] == "onnx" and card["export"]["parity_max_abs_diff"]
    assert "## Export" in (result.directory / "model_card.md").read_text()
    metadata_json = json.loads((result.directory / "metadata.json").read_text())
    assert metadata_json["threshold"]["levels"] == source["threshold"]["levels"]
    assert load_scorer(result.directory).thresholds.frame.level == "frame"
    old = make_checkpoint(tmp_path / "old", threshold={"rule": "source_val_eer", "value": 0.4})
    write_model_card(tmp_path / "old_export", old, read_state(old), {"random": 1e-7})
    derived = read_model_card(tmp_path / "old_export")
    assert derived["derived_from"].startswith("state.json") and derived["figures"] is None
    assert derived["threshold"]["value"] == 0.4 and derived["training_data"]["counts"] is None
    assert any("only a video-level threshold" in limit for limit in derived["limits"])
