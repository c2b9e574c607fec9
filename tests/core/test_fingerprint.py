"""Cache keys carry a fingerprint of the code that computed the cached result."""

from __future__ import annotations

from pathlib import Path

from dexstudio.core.fingerprint import _folder_fingerprint, source_fingerprint


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_any_change_to_a_python_file_changes_the_fingerprint(tmp_path) -> None:
    _write(tmp_path, "a.py", "x = 1\n")
    _write(tmp_path, "sub/b.py", "y = 2\n")
    first = source_fingerprint(tmp_path)
    assert len(first) == 16 and source_fingerprint(tmp_path) == first
    _write(tmp_path, "sub/b.py", "y = 3\n")
    _folder_fingerprint.cache_clear()  # a running process computes it once; a new one sees the edit
    assert source_fingerprint(tmp_path) != first


def test_compiled_files_and_other_files_do_not_count(tmp_path) -> None:
    _write(tmp_path, "a.py", "x = 1\n")
    first = source_fingerprint(tmp_path)
    _write(tmp_path, "__pycache__/a.cpython-311.py", "junk\n")
    _write(tmp_path, "notes.txt", "hello\n")
    _folder_fingerprint.cache_clear()
    assert source_fingerprint(tmp_path) == first


def test_extraction_and_render_cache_keys_include_the_code(monkeypatch) -> None:
    import dexstudio.motion.extract as extract
    from dexstudio.render.warp import WarpAnimator

    settings = extract.ExtractSettings()
    animator = WarpAnimator()
    try:
        before = (settings.key(), animator.settings_key())
        monkeypatch.setattr(extract, "source_fingerprint", lambda *f: "0" * 16)
        import dexstudio.render.warp.animator as animator_mod

        monkeypatch.setattr(animator_mod, "source_fingerprint", lambda *f: "0" * 16)
        after = (settings.key(), animator.settings_key())
    finally:
        animator.close()
    assert before[0] != after[0]
    assert before[1] != after[1]


def test_a_file_stands_for_itself(tmp_path) -> None:
    f = tmp_path / "reader.py"
    f.write_text("x = 1\n")
    first = source_fingerprint(tmp_path / "reader.py")
    _folder_fingerprint.cache_clear()
    f.write_text("x = 2\n")
    assert source_fingerprint(f) != first
