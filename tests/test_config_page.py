import yaml

from umxmr.report.config_page import config_html


def test_config_and_resolved_variant(repo_root):
    config = yaml.safe_load((repo_root / ".test" / "config.yaml").read_text())
    page = config_html(config, ["umx-mr-0"])
    assert "<h3>config.yaml (as given)</h3>" in page and "<h3>variant umx-mr-0: resolved settings</h3>" in page
    assert "wiener_win_len: 300" in page
    assert "n_fft: 4096" in page  # from the published defaults, not in the config file
