"""Config resolution: presets, --set overrides, and specific errors for bad fields."""

import pytest

from metafas.training.config import ConfigError, config_from_dict, preset_names, resolve_config


def test_presets_exist_and_resolve():
    assert {"paper", "cpu", "tiny"} <= set(preset_names())
    paper = resolve_config("paper")
    assert paper.model.input_size == 256 and paper.model.width == 1.0 and paper.train.k == 10
    cpu = resolve_config("cpu")
    assert cpu.model.input_size == 64 and cpu.model.width == 0.25


def test_overrides_are_typed_and_round_trip():
    config = resolve_config("cpu", ["rfm.first_order=true", "train.steps=7", 'method="rfm"'])
    assert config.method_options.first_order is True and config.train.steps == 7
    assert config_from_dict(config.to_dict()) == config


def test_a_toml_file_is_a_preset(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('method = "deepall"\n[deepall]\ndepth_weight = 0\n')
    config = resolve_config(str(path))
    assert config.method == "deepall" and config.method_options.depth_weight == 0.0


@pytest.mark.parametrize(
    "override,message",
    [
        ("train.stpes=3", r"unknown field\(s\) \['stpes'\] in \[train\]; allowed: \['steps'"),
        ('train.steps="x"', "train.steps must be int"),
        ("train.steps=true", "train.steps must be int"),
        ('method="rfn"', "method 'rfn' unknown; known: deepall, maddg, rfm, ssdg"),
        ('rfm.meta_test_splits="some"', "meta_test_splits 'some' unknown; known: random, all"),
        ('data.protocol="OCI_X"', "data.protocol: unknown protocol 'OCI_X'; known: sim_OCI_M"),
        ('model.colour_space="lab"', "colour_space 'lab' unknown"),
        ("train.k=0", "train.k must be >= 1"),
        ("nosection=1", r"unknown config section\(s\) \['nosection'\]"),
        ("steps", "--set expects section.field=value"),
    ],
)
def test_bad_values_are_rejected_with_the_field_named(override, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config("cpu", [override])


def test_unknown_preset_and_missing_file():
    with pytest.raises(ConfigError, match="unknown preset 'gpu'; known: cpu, paper, tiny"):
        resolve_config("gpu")
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_config("/nonexistent/config.toml")


def test_user_protocols_from_a_toml_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[protocols.mine]\nsources = ["sim_o", "sim_c"]\ntarget = "sim_m"\n')
    config = resolve_config("tiny", [f'data.protocols_file="{path}"', 'data.protocol="mine"'])
    assert config.data.protocol == "mine"
    with pytest.raises(ConfigError, match="data.protocol"):
        resolve_config("tiny", ['data.protocol="mine"'])
