"""The report's front page renders for the shipped config, where `evaluation.variants` is left out
(its default applies), and for the tiny test config: Snakemake renders it with Jinja2 and a
`snakemake` object whose `config` is the run's config."""

from types import SimpleNamespace

import jinja2
import pytest
import yaml

from umxmr.settings import evaluation_variants


@pytest.mark.parametrize("config_file", ["config.yaml", ".test/config.yaml"])
def test_front_page_names_the_baseline(repo_root, config_file):
    config = yaml.safe_load((repo_root / config_file).read_text())
    text = jinja2.Template((repo_root / "report" / "workflow.rst").read_text()).render(snakemake=SimpleNamespace(config=config))
    baseline = evaluation_variants(config)[0]  # what the rules compare against
    assert f"the first one, {baseline}," in " ".join(text.split())
    assert f"compared on {config['dataset']['kind']} data" in text
