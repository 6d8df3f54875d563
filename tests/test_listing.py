"""`metafas methods`, `metafas protocols` and `metafas presets`: what exists, one line each."""

from importlib import resources

from metafas.cli import main
from metafas.data.protocols import PROTOCOLS
from metafas.methods import METHODS, Method, method_names, method_summary
from metafas.training.config import preset_names


def lines_of(args: list[str], capsys) -> list[str]:
    assert main(args) == 0
    return capsys.readouterr().out.splitlines()


def test_methods_lists_every_registered_method_with_its_summary(capsys):
    lines = lines_of(["methods"], capsys)
    assert [line.split()[0] for line in lines] == method_names()
    assert {"rfm", "deepall"} <= set(method_names())
    for line in lines:
        name = line.split()[0]
        assert line.split(None, 1)[1] == method_summary(name)
    rfm = next(line for line in lines if line.startswith("rfm "))
    assert "Meta-learns the classifier M" in rfm  # the first line of RFM's docstring


def test_method_summary_falls_back_to_the_module_docstring(monkeypatch):
    class Undocumented(Method):
        pass

    monkeypatch.setitem(METHODS, "undocumented", Undocumented)
    assert method_summary("undocumented") == __doc__.strip()


def test_protocols_lists_every_protocol_and_those_of_a_file(tmp_path, capsys):
    lines = lines_of(["protocols"], capsys)
    assert [line.split()[0] for line in lines] == list(PROTOCOLS)
    oci_m = next(line for line in lines if line.startswith("sim_OCI_M "))
    assert "sim_o, sim_c, sim_i [train]" in oci_m and "test: sim_m [test]" in oci_m
    path = tmp_path / "mine.toml"
    path.write_text('[protocols.mine]\nsources = ["sim_o", "sim_c"]\ntarget = "sim_m"\n')
    lines = lines_of(["protocols", "--protocols-file", str(path)], capsys)
    assert lines[-1].split()[0] == "mine" and "test: sim_m" in lines[-1]


def test_presets_lists_every_preset_with_its_first_comment(capsys):
    lines = lines_of(["presets"], capsys)
    assert [line.split()[0] for line in lines] == preset_names() == ["cpu", "paper", "tiny"]
    for line, name in zip(lines, preset_names(), strict=True):
        text = (resources.files("metafas.training") / "presets" / f"{name}.toml").read_text()
        first_comment = next(t for t in text.splitlines() if t.startswith("#"))
        assert line.split(None, 1)[1] == first_comment.lstrip("# ")
    assert "seconds on one core" in lines[2]
