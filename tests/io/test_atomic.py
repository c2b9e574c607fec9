import os

import pytest

from dexstudio.core.errors import OutputError
from dexstudio.io.atomic import atomic_path, atomic_write_text


def test_atomic_write_replaces(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "one")
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert [f.name for f in tmp_path.iterdir()] == ["a.txt"]


def test_failed_write_keeps_original(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("orig")
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert p.read_text() == "orig"
    assert [f.name for f in tmp_path.iterdir()] == ["a.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder_is_typed(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="choose a folder"):
            atomic_write_text(ro / "x.txt", "x")
    finally:
        ro.chmod(0o700)


def test_permission_error_is_typed_even_as_root(tmp_path, monkeypatch):
    import errno
    import tempfile

    def deny(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", deny)
    with pytest.raises(OutputError, match="choose a folder"):
        atomic_write_text(tmp_path / "x.txt", "x")
    assert not (tmp_path / "x.txt").exists()


def test_new_file_gets_umask_mode_and_old_mode_is_kept(tmp_path):
    old = os.umask(0o022)
    try:
        p = tmp_path / "new.txt"
        atomic_write_text(p, "x")
        assert p.stat().st_mode & 0o777 == 0o644
        p.chmod(0o600)
        atomic_write_text(p, "y")
        assert p.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
