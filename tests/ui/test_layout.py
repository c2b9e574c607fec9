"""The editor fits a laptop screen, cuts nothing off at its narrowest, and its inspector
offers only frames the project has."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

#: a 1366 x 768 laptop screen less a window frame
LAPTOP_WIDTH = 1366 - 16


def test_the_window_fits_a_laptop_screen_even_with_a_long_take_name(make_window) -> None:
    """With the inspector as wide as its contents, the transport bar (text-button-wide
    push buttons, a take combo sized to its item) made the window at least 1483 px wide."""
    w = make_window()
    w.take_combo.addItem("a_driving_clip_with_a_rather_long_file_name_from_a_phone_2026-11-25 (4482 frames)")
    w.take_combo.setCurrentIndex(w.take_combo.count() - 1)
    QApplication.processEvents()
    assert w.minimumSizeHint().width() <= LAPTOP_WIDTH


def test_the_inspector_is_never_narrower_than_its_contents(make_window) -> None:
    """At the window's narrowest the inspector used to be 235 px wide and cut its combo
    boxes and buttons off at the right."""
    w = make_window()
    w.resize(w.minimumSizeHint().width(), 760)
    QApplication.processEvents()
    body = w.inspector.widget()
    assert w.inspector.viewport().width() >= body.minimumSizeHint().width()
    assert body.width() <= w.inspector.viewport().width()  # nothing beyond the visible edge


def test_the_reference_frame_box_offers_the_projects_frames(make_window) -> None:
    """It took any frame from -1000000 to 1000000; one beyond the project quietly used
    the edge frame's value (``animate --reference-frame`` refuses such a frame)."""
    w = make_window()
    w.session.new_synthetic_project(frames=120, channels=1)
    w.channel_tree.select_channels(["expr.jawOpen"])
    QApplication.processEvents()
    rng = w.session.frame_range
    assert (w.inspector.ref.minimum(), w.inspector.ref.maximum()) == (rng.start, rng.stop - 1)
    w.inspector.ref.setValue(10_000)
    assert w.inspector.ref.value() == rng.stop - 1
