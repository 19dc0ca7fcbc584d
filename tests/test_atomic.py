"""Atomic writes: the old file or none, never half a file, with ordinary permissions."""

from __future__ import annotations

import os
import stat

import pytest

from umxmr.atomic import atomic_path, write_text


def test_replaces_only_on_success(tmp_path):
    out = tmp_path / "sub" / "a.json"
    write_text(out, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert out.read_text() == "old"
    assert sorted(p.name for p in out.parent.iterdir()) == ["a.json"]


def test_keeps_the_suffix_and_ordinary_permissions(tmp_path):
    out = tmp_path / "x.npz"
    with atomic_path(out) as tmp:
        assert tmp.suffix == ".npz" and tmp.parent == tmp_path
        tmp.write_bytes(b"1")
    mode = stat.S_IMODE(out.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
