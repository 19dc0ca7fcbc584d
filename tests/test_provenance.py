"""Provenance records: what produced a separation, and one table row per variant."""

from __future__ import annotations

from umxmr.provenance import TABLE_COLUMNS, provenance_row, separation_provenance, versions, with_current_versions
from umxmr.separation.separate import wiener_settings

RUN = {"config_hash": "abc123def456", "commit": "c3ee1a3", "versions": {"torch": "2.13.0", "numpy": "2.3.5", "museval": "absent"}}
SEPARATOR = {"niter": 1, "residual": False, "wiener_win_len": 300, "softmask": False, "nfft": 4096}
WIENER = wiener_settings(SEPARATOR)


def test_separation_record_has_the_device_each_models_seed_and_the_wiener_settings():
    models = {"vocals": {"selected_seed": 7, "provenance": {"seed": 7}}, "bass": {"selected_seed": 42}}
    record = separation_provenance(RUN, "cuda:1", WIENER, models)
    assert record["device"] == "cuda:1" and record["seed"] == {"vocals": 7, "bass": 42}
    assert (record["niter"], record["residual"], record["wiener_win_len"], record["softmask"]) == (1, False, 300, False)
    assert record["config_hash"] == "abc123def456" and record["commit"] == "c3ee1a3" and "nfft" not in record
    assert separation_provenance(RUN, "cpu", WIENER, {})["seed"] is None  # the oracle: no model, no seed


def test_versions_of_this_process_fill_only_what_the_record_lacks():
    merged = with_current_versions(RUN)["versions"]
    assert merged["torch"] == "2.13.0" and merged["numpy"] == "2.3.5"  # kept as recorded
    assert merged["museval"] == versions()["museval"] != "absent"  # filled in here
    assert RUN["versions"]["museval"] == "absent"  # the input is not changed


def test_a_row_collapses_equal_values_and_lists_the_ones_that_differ():
    a = separation_provenance(RUN, "cpu", WIENER, {"vocals": {"selected_seed": 42}, "bass": {"selected_seed": 42}})
    b = separation_provenance(RUN, "cuda:0", WIENER, {"vocals": {"selected_seed": 42}, "bass": {"selected_seed": 1}})
    row = provenance_row([a, a])
    assert list(row) == list(TABLE_COLUMNS)
    assert row["device"] == "cpu" and row["seed"] == "42" and row["niter"] == "1" and row["torch"] == "2.13.0"
    mixed = provenance_row([a, b])
    assert mixed["device"] == "cpu | cuda:0" and mixed["seed"] == "42 | vocals 42, bass 1"
    assert provenance_row([{}])["commit"] == "–" and provenance_row([])["device"] == "–"


def test_own_per_target_stfts_record_no_joint_filter_whatever_the_config_says():
    own = wiener_settings({**SEPARATOR, "residual": True, "softmask": True, "per_target_stft": "own"})
    assert own == {"niter": 0, "softmask": False, "residual": False, "wiener_win_len": 300}
    common = wiener_settings({**SEPARATOR, "per_target_stft": "common"})
    assert common == {"niter": 1, "softmask": False, "residual": False, "wiener_win_len": 300}
