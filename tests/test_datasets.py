"""Dataset checks: MUSDB18-HQ through musdb's own split, the track-folder kind, and every way
a tree can be wrong, each stopping with a message that names the file."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from dataset_trees import MUSDB_VALID, musdb_tree, write_track
from umxmr.data.demo import generate_demo
from umxmr.data.layout import (
    DatasetError,
    check_musdb_counts,
    load_manifest,
    scan_dataset,
    scan_musdb_layout,
    scan_trackfolder,
    training_tracks,
    write_manifest,
)


@pytest.fixture(scope="module")
def good_tree(tmp_path_factory):
    return musdb_tree(tmp_path_factory.mktemp("musdb") / "musdb18hq", n_train=2, n_valid=2, n_test=1)


@pytest.fixture
def tree(good_tree, tmp_path):
    root = tmp_path / "musdb18hq"
    shutil.copytree(good_tree, root)
    return root


def test_musdb_split_is_musdbs_own(good_tree, tmp_path):
    tracks = scan_musdb_layout(good_tree)
    assert sorted(t.name for t in tracks["valid"]) == sorted(MUSDB_VALID[:2])
    assert sorted(t.name for t in tracks["train"]) == ["Train Artist - Song 0", "Train Artist - Song 1"]
    assert [t.name for t in tracks["test"]] == ["Test Artist - Song 0"]
    assert {t.split for s in tracks for t in tracks[s]} == {"train", "valid", "test"}

    path = tmp_path / "musdb18hq.manifest.json"
    write_manifest(path, "musdb18hq", good_tree, tracks)
    manifest = json.loads(path.read_text())
    assert manifest["summary"]["valid"] == {
        "tracks": 2,
        "seconds": 2.0,
        "bytes": sum((good_tree / "train" / MUSDB_VALID[0] / f).stat().st_size for f in ("mixture.wav", "vocals.wav", "drums.wav", "bass.wav", "other.wav")) * 2,
    }
    first = manifest["splits"]["test"][0]
    assert first["duration"] == 1.0 and first["rate"] == 44100 and first["channels"] == 2
    assert first["sizes"]["vocals"] == (good_tree / "test" / "Test Artist - Song 0" / "vocals.wav").stat().st_size
    assert load_manifest(path) == tracks


def test_full_musdb18hq_must_split_86_14_50(tmp_path):
    check_musdb_counts(tmp_path, 100, 50, {"train": 86, "valid": 14, "test": 50})
    check_musdb_counts(tmp_path, 3, 1, {"train": 2, "valid": 1, "test": 1})  # a subset: no claim
    with pytest.raises(DatasetError, match="87, 'valid': 13.*were track folders renamed"):
        check_musdb_counts(tmp_path, 100, 50, {"train": 87, "valid": 13, "test": 50})


def test_demo_names_give_an_empty_valid_split_under_musdbs_list(tmp_path):
    root = tmp_path / "demo"
    generate_demo(root, n_train=1, n_valid=1, n_test=1, duration=2.0, seed=1)
    assert [t.name for t in scan_dataset("demo", root)["valid"]] == ["demo-valid-01"]
    with pytest.raises(DatasetError, match="validation split is empty.*original track names") as err:
        scan_dataset("musdb18hq", root)
    assert str(root / "train") in str(err.value) and "musdb's validation list" in str(err.value)


def _rewrite(path, rate=None, mono=False, crop=0, subtype="PCM_16", poke=None):
    audio, sr = sf.read(path, always_2d=True)
    if mono:
        audio = audio[:, :1]
    if crop:
        audio = audio[:-crop]
    if poke is not None:
        audio[1234, 1] = poke
    sf.write(path, audio, rate or sr, subtype=subtype)


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1000])


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.unlink(), "missing stem 'bass.wav'"),
        (lambda p: p.write_bytes(b"RIFF0000WAVEjunk"), "not a readable audio file"),
        (_truncate, r"truncated: its header declares 1000 bytes more"),
        (lambda p: _rewrite(p, rate=48000), "sample rate 48000 Hz, expected 44100 Hz"),
        (lambda p: _rewrite(p, mono=True), r"1 channel\(s\), expected stereo"),
        (lambda p: _rewrite(p, crop=100), "44000 frames, but .* has 44100"),
        (lambda p: _rewrite(p, subtype="FLOAT", poke=np.nan), r"NaN or inf sample at frame 1234 \(0.03 s\)"),
        (lambda p: _rewrite(p, subtype="FLOAT", poke=np.inf), "NaN or inf sample at frame 1234"),
    ],
    ids=["missing", "unreadable", "truncated", "rate", "mono", "length", "nan", "inf"],
)
@pytest.mark.parametrize("where", ["train", "valid", "test"])
def test_bad_stem_is_named(tree, damage, message, where):
    folder = {"train": "train/Train Artist - Song 1", "valid": f"train/{MUSDB_VALID[1]}", "test": "test/Test Artist - Song 0"}
    bad = tree / folder[where] / "bass.wav"
    damage(bad)
    with pytest.raises(DatasetError, match=message) as err:
        scan_musdb_layout(tree)
    assert str(err.value).startswith(f"{bad}: ")


def test_float_stems_without_nan_pass(tree):
    _rewrite(tree / "test" / "Test Artist - Song 0" / "bass.wav", subtype="FLOAT")
    assert len(scan_musdb_layout(tree)["test"]) == 1


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: shutil.rmtree(r / "test"), r"test: missing; the dataset folder must hold train/ and test/ \(found: train\)"),
        (lambda r: shutil.copy(r / "train" / MUSDB_VALID[0] / "vocals.wav", r / "train" / "vocals.wav"), "audio files directly inside"),
        (lambda r: (r / "test" / "Test Artist - Song 0" / "stems").mkdir(), "holds folder.* stems; a track folder holds only"),
    ],
    ids=["no-test", "loose-wav", "nested"],
)
def test_wrong_layout(tree, damage, message):
    damage(tree)
    with pytest.raises(DatasetError, match=message):
        scan_musdb_layout(tree)


def test_missing_root(tmp_path):
    with pytest.raises(DatasetError, match=f"dataset.root '{tmp_path / 'nope'}' does not exist"):
        scan_musdb_layout(tmp_path / "nope")


FILES = {"mixture": "mix.wav", "vocals": "vox.wav", "drums": "drums.wav", "bass": "bass DI.wav", "other": "rest.wav"}


def trackfolder(root, valid_dir):
    for i, name in enumerate(["a", "b", "c"]):
        write_track(root / "train" / name, i, files=FILES)
    write_track(root / "test" / "t", 9, files=FILES)
    if valid_dir:
        write_track(root / "valid" / "v", 8, files=FILES)
    return root


def test_trackfolder_with_valid_list_and_stem_names(tmp_path):
    root = trackfolder(tmp_path / "mine", valid_dir=False)
    tracks = scan_dataset("trackfolder", root, {"stems": FILES, "valid_tracks": ["b"]})
    assert [t.name for t in tracks["train"]] == ["a", "c"]
    assert [t.name for t in tracks["valid"]] == ["b"]
    assert tracks["valid"][0].split == "valid"
    assert tracks["test"][0].path("bass") == root / "test" / "t" / "bass DI.wav"
    assert tracks["test"][0].path("drums") == root / "test" / "t" / "drums.wav"
    manifest = tmp_path / "trackfolder.manifest.json"
    write_manifest(manifest, "trackfolder", root, tracks)
    assert load_manifest(manifest)["test"][0].path("mixture") == root / "test" / "t" / "mix.wav"


def test_trackfolder_with_valid_folder(tmp_path):
    tracks = scan_trackfolder(trackfolder(tmp_path / "mine", valid_dir=True), FILES)
    assert [len(tracks[s]) for s in ("train", "valid", "test")] == [3, 1, 1]


def test_trackfolder_errors(tmp_path):
    root = trackfolder(tmp_path / "mine", valid_dir=False)
    with pytest.raises(DatasetError, match="no valid/ folder and dataset.valid_tracks is empty"):
        scan_trackfolder(root, FILES)
    with pytest.raises(DatasetError, match="dataset.valid_tracks: zz not found"):
        scan_trackfolder(root, FILES, ["zz"])
    (root / "test" / "t" / "vox.wav").unlink()
    with pytest.raises(DatasetError, match=f"{root / 'test' / 't' / 'vox.wav'}: missing stem 'vox.wav'"):
        scan_trackfolder(root, FILES, ["b"])


def test_extra_training_tracks_join_train_only(good_tree, tmp_path):
    main, extra = tmp_path / "main.json", tmp_path / "extra.json"
    tracks = scan_musdb_layout(good_tree)
    write_manifest(main, "musdb18hq", good_tree, tracks)
    write_manifest(extra, "periphery", good_tree, {"train": tracks["test"], "valid": [], "test": []})
    merged = training_tracks(main, [extra])
    assert [t.name for t in merged["train"]] == [t.name for t in tracks["train"]] + ["Test Artist - Song 0"]
    assert merged["valid"] == tracks["valid"] and merged["test"] == tracks["test"]


def test_fast_pcm16_read_gives_libsndfiles_values(tmp_path):
    from umxmr.data.audio import read_audio

    audio = np.random.default_rng(1).uniform(-1, 1, (5000, 2))
    audio[0], audio[1] = -1.0, 1.0
    sf.write(tmp_path / "x.wav", audio, 44100, subtype="PCM_16")
    for start, frames in [(0, -1), (123, 1000), (4990, -1)]:
        ours = read_audio(tmp_path / "x.wav", start, frames)
        theirs, _ = sf.read(tmp_path / "x.wav", start=start, frames=frames, dtype="float32", always_2d=True)
        assert ours.dtype == np.float32 and np.array_equal(ours, theirs)


def _stems_in(folder):
    write_track(folder, 1, seconds=0.1)


@pytest.mark.parametrize(
    "make, root_of, message",
    [
        (lambda r: r.mkdir(), lambda r: r, r"dataset.root '.*' is an empty folder; it should hold train/ and test/"),
        (lambda r: [(r / "train").mkdir(parents=True), _stems_in(r / "test" / "t")], lambda r: r,
         r"train: no track folders in it; train/ should hold one folder per track, .*/<track name>/, each with its stems \(mixture.wav"),
        (lambda r: [_stems_in(r / "train" / "a"), (r / "test").mkdir()], lambda r: r, r"test: no track folders in it"),
        (lambda r: _stems_in(r / "train" / "a"), lambda r: r / "train",
         r"looks like a train/ or test/ folder itself \(it holds tracks\), so point dataset.root at the folder above it"),
        (lambda r: _stems_in(r / "train" / "a"), lambda r: r.parent,
         r"the dataset seems to be one level down: point dataset.root at '.*musdb'"),
    ],
    ids=["empty-root", "empty-train", "empty-test", "root-is-train", "root-is-parent"],
)
def test_empty_or_misplaced_root_says_what_it_should_hold(tmp_path, make, root_of, message):
    root = tmp_path / "top" / "musdb"
    root.parent.mkdir()
    make(root)
    for scan in (lambda r: scan_musdb_layout(r), lambda r: scan_trackfolder(r, FILES_PLAIN, ["a"])):
        with pytest.raises(DatasetError, match=message) as err:
            scan(root_of(root))
        assert "none of its 0" not in str(err.value)


FILES_PLAIN = {s: f"{s}.wav" for s in ("mixture", "vocals", "drums", "bass", "other")}


def test_parse_time_test_track_names_say_the_same(tmp_path):
    from umxmr.data.layout import list_test_tracks

    root = tmp_path / "musdb"
    _stems_in(root / "train" / "a")
    with pytest.raises(DatasetError, match="looks like a train/ or test/ folder itself"):
        list_test_tracks(root / "train")
    with pytest.raises(DatasetError, match=r"dataset.root '.*musdb': no test/ folder there"):
        list_test_tracks(root)
    (root / "test").mkdir()
    with pytest.raises(DatasetError, match="test: no track folders in it"):
        list_test_tracks(root)
    with pytest.raises(DatasetError, match="point dataset.root at '.*musdb'"):
        list_test_tracks(tmp_path)


def test_every_track_a_validation_track_leaves_no_training_split(tmp_path):
    root = tmp_path / "musdb"
    _stems_in(root / "train" / MUSDB_VALID[0])
    _stems_in(root / "test" / "t")
    with pytest.raises(DatasetError, match=r"train: all its 1 track folders are validation tracks in musdb's validation list"):
        scan_musdb_layout(root)
    with pytest.raises(DatasetError, match="dataset.valid_tracks: names every track of .*train, so the training split is empty"):
        scan_trackfolder(root, FILES_PLAIN, [MUSDB_VALID[0]])
