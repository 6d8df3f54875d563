"""The HTML report: figures written and referenced, and the page checked in headless Chromium."""

import csv
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image
from test_selection import scored
from test_table import TARGETS, make_run

from metafas.cli import main
from metafas.evaluation.report import write_report
from metafas.evaluation.report.data import confident_mistakes
from metafas.evaluation.report.figures import mistakes_figure
from metafas.evaluation.table import TableError, build_table
from metafas.training.config import resolve_config
from metafas.training.loop import train
from metafas.training.sweep import load_spec, run_sweep

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PROBE = """
<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const broken = images.filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.src);
  const result = document.createElement("pre");
  result.id = "probe";
  result.textContent = `images=${images.length} loaded=${images.length - broken.length} ` +
    `broken=${JSON.stringify(broken)}`;
  document.body.appendChild(result);
});
</script>
"""


@pytest.fixture(scope="module")
def run_dir(tiny_store, tmp_path_factory):
    config = resolve_config("tiny", [f'data.store="{tiny_store}"', 'method="rfm"'])
    return train(config, tmp_path_factory.mktemp("runs") / "rfm", progress=False)


def local_references(page: str) -> list[str]:
    return re.findall(r"(?:src|href)='([^']+)'", page)


def test_confident_mistakes_come_most_confident_first_one_per_video(tmp_path):
    videos = [(1, [0.1, 0.4, 0.9]), (1, [0.3]), (0, [0.95, 0.6, 0.2]), (0, [0.7])]
    target = scored("sim_m", "test", videos)
    for frame in target.frames:
        (tmp_path / frame.image).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(tmp_path / frame.image)
    rejected, accepted = confident_mistakes(target, 0.5, tmp_path)
    assert [m.score for m in rejected] == [0.1, 0.3]
    assert [m.score for m in accepted] == [0.95, 0.7]
    assert all(m.image.exists() and m.label == 0 and m.attack == "print" for m in accepted)
    figure = mistakes_figure(
        {"lives rejected": rejected, "spoofs accepted": accepted}, tmp_path / "m.png"
    )
    assert Image.open(figure).size[0] > 100


def test_run_report_writes_the_page_its_figures_and_results(run_dir, tmp_path):
    page = write_report(run_dir, tmp_path / "report", n_boot=50)
    text = page.read_text()
    references = local_references(text)
    assert len(references) >= 3
    assert all((page.parent / ref).is_file() for ref in references)
    assert "<script" not in text and "http" not in text
    assert "target_eer (oracle)" in text and "oracle (oracle)" in text
    results = json.loads((page.parent / "results.json").read_text())
    assert len(results) == 12 and all(len(r["ci"]["HTER"]) == 2 for r in results)
    assert "is not on this machine" not in text


def test_report_of_a_sweep_and_of_a_run_without_store_or_events(tmp_path):
    for seed in (0, 1):
        make_run(
            tmp_path / "sweep" / f"deepall-{seed}", "deepall", "sim_OCI_M", seed, TARGETS[seed]
        )
    config_path = tmp_path / "sweep" / "deepall-0" / "config.json"
    config = json.loads(config_path.read_text())
    config["data"]["store"] = str(tmp_path / "no-store")
    config_path.write_text(json.dumps(config))
    page = write_report(tmp_path / "sweep", tmp_path / "report", n_boot=0)
    text = page.read_text()
    assert text.count("<details>") == 2 and "selection source_val, threshold source_val_eer" in text
    assert "is not on this machine" in text
    assert all((page.parent / ref).is_file() for ref in local_references(text))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_page_renders_in_headless_chromium(run_dir, tmp_path):
    page = write_report(run_dir, tmp_path / "report", n_boot=20)
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=10000",
    ]
    dom = subprocess.run(
        command + ["--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    found = re.search(r"images=(\d+) loaded=(\d+) broken=(\[.*?\])", dom)
    assert found, dom[-2000:]
    images, loaded, broken = (
        int(found[1]),
        int(found[2]),
        json.loads(found[3].replace("&quot;", '"')),
    )
    assert images >= 3 and loaded == images, broken
    shot = tmp_path / "page.png"
    subprocess.run(
        command + [f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert Image.open(shot).size == (1200, 2000)


def test_sweep_report_with_compare_plots_the_paired_differences(tmp_path):
    for seed in (0, 1):
        make_run(tmp_path / "sweep" / f"deepall-{seed}", "deepall", "sim_OCI_M", seed, TARGETS[0])
        make_run(tmp_path / "sweep" / f"rfm-{seed}", "rfm", "sim_OCI_M", seed, TARGETS[1])
    page = write_report(tmp_path / "sweep", tmp_path / "report", n_boot=50, compare="deepall")
    text = page.read_text()
    assert "Paired differences to deepall, selection source_val" in text
    assert "overview/differences.png" in text
    assert Image.open(page.parent / "overview" / "differences.png").size[0] > 500
    with pytest.raises(TableError, match="needs a sweep directory"):
        write_report(tmp_path / "sweep" / "rfm-0", tmp_path / "one", compare="deepall")
    with pytest.raises(TableError, match="--n-boot 1 or more"):
        write_report(tmp_path / "sweep", tmp_path / "none", n_boot=0, compare="deepall")


def test_results_doc_from_a_tiny_sweep_by_its_one_command(tiny_store, tmp_path, capsys):
    spec = tmp_path / "sweep.toml"
    spec.write_text(
        'preset = "tiny"\nprotocols = ["sim_OCI_M"]\nmethods = ["deepall", "rfm"]\n'
        f"seeds = [0, 1]\noverrides = ['data.store=\"{tiny_store}\"']\n"
    )
    run_sweep(load_spec(spec), tmp_path / "sweep", progress=False)
    out = tmp_path / "docs" / "results.md"
    argv = ["table", str(tmp_path / "sweep"), "--compare", "deepall", "--format", "doc"]
    assert main([*argv, "--out", str(out), "--n-boot", "100"]) == 0
    text = out.read_text()
    command = f"metafas table {tmp_path / 'sweep'} --compare deepall --format doc --out {out}"
    assert f"`{command} --n-boot 100`" in text.splitlines()[2]
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections == [
        "## Setup",
        "## Main table",
        "## Paired differences",
        "## Reading (generated from the intervals above; not typed by hand)",
        "## The RFM paper's published numbers (oracle-selected, other data)",
    ]
    assert "4 finished runs" in text and "| sim_OCI_M | rfm | 2 (0, 1) |" in text
    runtime = json.loads((tmp_path / "sweep" / "sim_OCI_M-rfm-seed0" / "config.json").read_text())
    runtime = runtime["runtime"]
    assert f"precision {runtime['precision']}, CPU {runtime['cpu_capability']}, threads " in text
    assert "### Selection oracle (oracle: the step is chosen on target labels)" in text
    assert "| sim_OCI_M | rfm | 2 | " in text.split("\n## Paired differences\n")[1]
    reading = text.split("## Reading")[1].split("## The RFM")[0]
    (line,) = [line for line in reading.splitlines() if line.startswith("- ")]
    table = build_table([tmp_path / "sweep"], "csv", compare="deepall", n_boot=100)
    (row,) = [r for r in csv.DictReader(io.StringIO(table)) if r["selection"] == "source_val"]
    hter = f"{float(row['HTER_diff_pp']):+.2f} [{float(row['HTER_low_pp']):+.2f}, "
    assert line.startswith(f"- **RFM against DeepAll** (`rfm` - `deepall`): sim_OCI_M HTER {hter}")
    words = {row["HTER_interval"], row["AUC_interval"]}
    excluding = sum(row[f"{name}_interval"] != "holds 0" for name in ("HTER", "AUC"))
    chance = f"Of these 2 intervals (HTER and AUC, 1 contrast-protocol pairs), {excluding} exclude"
    assert chance in reading and "about 0.1 of 2 95 % intervals would exclude 0" in reading
    if words == {"holds 0"}:
        assert line.endswith("Reading: nothing measurable at this scale (every interval holds 0).")
    else:
        assert "on sim_OCI_M." in line and "nothing measurable" not in line
    assert "| O&C&I->M | 13.89 | 93.98 | sim_OCI_M |" in text
    assert "| I&C&M->O | 16.45 | 91.16 | - |" in text
    figure = out.with_name("results_differences.png")
    assert "](results_differences.png)" in text and Image.open(figure).size[0] > 500
    with pytest.raises(SystemExit):
        main(["table", str(tmp_path / "sweep"), "--format", "doc", "--bogus"])
    assert main(argv) == 2 and "--format doc needs --compare" in capsys.readouterr().err
