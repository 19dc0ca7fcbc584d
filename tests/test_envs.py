"""envs/*.yaml pin exact versions, and the same versions as pyproject.toml."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from workflow_helpers import ROOT


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        name, version = requirement.split("==")
        pins[name.lower()] = version
    return pins


ENV_FILES = sorted((ROOT / "envs").glob("*.yaml"))


def test_every_rule_env_exists():
    used = set()
    for smk in (ROOT / "rules").glob("*.smk"):
        used |= set(re.findall(r'conda:\s*\n\s*"\.\./envs/([\w.-]+\.yaml)"', smk.read_text()))
    assert used and used == {p.name for p in ENV_FILES}


@pytest.mark.parametrize("env", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_are_exact_and_agree_with_pyproject(env):
    spec = yaml.safe_load(env.read_text())
    assert spec["channels"] == ["conda-forge", "nodefaults"]
    pins = pyproject_pins()
    conda = [d for d in spec["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
    for dep in conda:
        assert re.fullmatch(r"[\w-]+=\d+(\.\d+)+", dep), f"{env.name}: {dep} is not an exact pin"
    assert pip, f"{env.name}: no pip packages"
    for dep in pip:
        name, _, version = dep.partition("==")
        assert version, f"{env.name}: {dep} is not pinned with =="
        assert pins.get(name.lower()) == version, f"{env.name}: {dep} but pyproject.toml pins {pins.get(name.lower())}"
