"""The main window: composes the viewer, channel tree, curve editor, inspector and
expression panel around one :class:`EditorSession`, with its menus, toolbar and
transport bar, and the controllers that do the work: :class:`Transport` (playback),
:class:`ProjectActions` (project files, autosave), :class:`MediaActions` (portrait,
driving clips), :class:`ExportActions`, :class:`PreferencesActions`,
:class:`EditActions` (curve gestures, crossfade), :class:`DrivingView` (driving pane,
overlays) and :class:`JobStatus` (background jobs in the status bar).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QDockWidget, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QPushButton, QSpinBox,
    QTabWidget, QToolBar, QVBoxLayout, QWidget,
)

from dexstudio.core.errors import Cancelled, DexStudioError
from dexstudio.ui import tasks
from dexstudio.ui.animators import prefs_warp_factory
from dexstudio.ui.channel_tree import ChannelTree
from dexstudio.ui.crossfade_dialog import CrossfadeDialog
from dexstudio.ui.curve_editor import CurveEditor
from dexstudio.ui.driving_view import DrivingView, axes_for
from dexstudio.ui.edit_actions import EditActions
from dexstudio.ui.export_actions import ExportActions
from dexstudio.ui.export_dialog import ExportDialog, ExportRequest
from dexstudio.ui.expression_panel import ExpressionPanel
from dexstudio.ui.inspector import Inspector
from dexstudio.ui.job_status import JobStatus
from dexstudio.ui.jobs import JobHandle, JobRunner
from dexstudio.ui.media_actions import IMAGE_SUFFIXES, MediaActions
from dexstudio.ui.preferences import Preferences, PreferencesDialog
from dexstudio.ui.preferences_actions import PreferencesActions, check_device_pref, worker_config
from dexstudio.ui.project_actions import ProjectActions
from dexstudio.ui.render_bridge import PreviewRenderer
from dexstudio.ui.session import EditorSession
from dexstudio.ui.session_sync import SessionSync
from dexstudio.ui.shortcuts_dialog import ShortcutsDialog
from dexstudio.ui.theme import icon
from dexstudio.ui.transport import Transport
from dexstudio.ui.viewer import Viewer

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """The editor window.

    Args:
        settings: where preferences and recent files persist (default: the user's).
        enable_autosave: autosave timer and recovery prompt (off in benchmarks).
    """

    def __init__(self, settings: Optional[QSettings] = None, enable_autosave: bool = True) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings("DeXStudio", "DeX Studio")
        self.prefs = Preferences.load(self.settings)
        self.setWindowIcon(icon("app"))
        self.resize(1500, 940)
        self.session = EditorSession(self)
        self.jobs = JobRunner(self)
        self._closing = False  # True: close without asking to save
        self._shut_down = False
        self.media = MediaActions(self)
        self.driving_view = DrivingView(self)
        self.project = ProjectActions(self)
        self.exports = ExportActions(self)
        self.preferences = PreferencesActions(self)

        self.viewer = Viewer(self)
        self.setCentralWidget(self.viewer)
        self.channel_tree = ChannelTree(self.session, self)
        self.curve_editor = CurveEditor(self)
        self.inspector = Inspector(self.session, self)
        self.expression_panel = ExpressionPanel(self.session, self)
        self.playback = Transport(self.session, self.curve_editor, self.media.driving_path, self)
        self.edits = EditActions(self, self.curve_editor)
        self._build_docks()
        self._build_transport()
        self._build_actions()
        self._build_status()
        self.playback.bind(self.act_loop, self.play_button, self.shuttle_label)

        self.prefs, self._startup_device_error = check_device_pref(self.prefs)
        make = prefs_warp_factory(self.prefs)
        self.preview = PreviewRenderer(make, make("cpu"), worker_config(self.prefs), self)
        self.preview.resultImage.connect(self._on_result_image)
        self.preview.busyChanged.connect(self._on_busy)
        self.preview.cacheMaskChanged.connect(self._on_cache_mask)
        self.preview.error.connect(self._on_render_error)
        self.preview.deviceText.connect(self._on_device_text)
        self.preview.statsText.connect(self._on_stats_text)
        self.device_label.setText(f"device: {self.preview.device}")
        if self._startup_device_error is not None:
            self.statusBar().showMessage(f"{self._startup_device_error.message}: rendering on "
                                         f"{self.preview.device} (see Preferences)", 10000)

        self.session_sync = SessionSync(self, self.curve_editor)
        self.session.dirtyChanged.connect(self.project.update_title)
        self.session.userError.connect(self.show_error)
        self.viewer.result.clicked.connect(self.media.on_viewer_clicked)
        self.viewer.source.clicked.connect(self.media.on_viewer_clicked)

        self.setAcceptDrops(True)
        self.session_sync.on_document_replaced()
        if enable_autosave:
            self.project.autosave_timer.start()
            QTimer.singleShot(0, self.project.offer_untitled_recovery)

    # ================================================================== construction
    def _build_docks(self) -> None:
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        left = QDockWidget("Channels", self)
        left.setObjectName("dockChannels")
        left.setWidget(self.channel_tree)
        self.channel_tree.setMinimumWidth(390)  # names + value + 4 toggles, unclipped
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, left)
        bottom = QDockWidget("Curves", self)
        bottom.setObjectName("dockCurves")
        box = QWidget(bottom)
        self._curve_box = QVBoxLayout(box)
        self._curve_box.setContentsMargins(0, 0, 0, 0)
        self._curve_box.setSpacing(0)
        self._curve_box.addWidget(self.curve_editor, 1)
        bottom.setWidget(box)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, bottom)
        right = QDockWidget("Inspector", self)
        right.setObjectName("dockInspector")
        tabs = QTabWidget(right)
        tabs.addTab(self.inspector, "Channel")
        tabs.addTab(self.expression_panel, "Expressions")
        right.setWidget(tabs)
        self.right_tabs = tabs
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, right)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.resizeDocks([left, right], [360, 340], Qt.Orientation.Horizontal)
        self.resizeDocks([bottom], [400], Qt.Orientation.Vertical)
        self.docks = (left, bottom, right)

    def _build_transport(self) -> None:
        bar = QWidget(self)
        lay = QHBoxLayout(bar)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.setSpacing(4)
        self.transport = bar
        self._transport_layout = lay
        self.frame_spin = QSpinBox(bar)
        self.frame_spin.setRange(0, 0)
        self.frame_spin.setToolTip("Current frame")
        self.frame_spin.setMinimumWidth(64)
        self.timecode_label = QLabel("00:00:00:00", bar)
        self.timecode_label.setMinimumWidth(self.timecode_label.fontMetrics().horizontalAdvance("00:00:00:00") + 4)
        self.shuttle_label = QLabel("", bar)
        self.take_combo = QComboBox(bar)
        self.take_combo.setToolTip("The take (driving clip) that drives the performance")
        # a long clip name elides rather than widening the window past a laptop's screen
        self.take_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.take_combo.setMinimumContentsLength(10)
        self.shuttle_label.setObjectName("hint")
        self._curve_box.insertWidget(0, bar)

    def _act(self, text: str, slot, shortcut=None, icon_name: str = "", tip: str = "",
             checkable: bool = False) -> QAction:
        a = QAction(text, self)
        if icon_name:
            a.setIcon(icon(icon_name))
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        sc = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        a.setToolTip(f"{tip or text.replace('&', '').rstrip('.')}" + (f" ({sc})" if sc else ""))
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        A = self._act
        self.act_new = A("&New project", self.project.new_project, QKeySequence.StandardKey.New, "new")
        self.act_open = A("&Open project...", self.project.open_project_dialog, QKeySequence.StandardKey.Open, "open")
        self.act_source = A("Open source &portrait...", self.media.open_source_dialog, "Ctrl+Shift+O", "source",
                            "Open the portrait to animate")
        self.act_driving = A("Add &driving clip...", self.media.add_driving_dialog, "Ctrl+D", "driving",
                             "Add a driving clip: its motion is extracted as a new take")
        self.act_save = A("&Save", self.project.save, QKeySequence.StandardKey.Save, "save")
        self.act_save_as = A("Save &as...", self.project.save_as, "Ctrl+Shift+S")
        self.act_export = A("&Export video...", self.exports.open_export_dialog, "Ctrl+E", "export")
        self.act_export_motion = A("Export &motion (CSV / JSON)...", self.exports.export_motion_dialog, "Ctrl+Shift+E")
        self.act_quit = A("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_undo = self.session.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence("Ctrl+Z"))
        self.act_undo.setIcon(icon("undo"))
        self.act_undo.setToolTip("Undo (Ctrl+Z)")
        self.act_undo.setProperty("helpText", "Undo")
        self.act_redo = self.session.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.act_redo.setIcon(icon("redo"))
        self.act_redo.setToolTip("Redo (Ctrl+Shift+Z)")
        self.act_redo.setProperty("helpText", "Redo")
        self.addAction(self.act_undo)
        self.addAction(self.act_redo)
        self.act_insert = A("&Insert key at playhead", self.edits.insert_key_at_playhead, "I", "key_add")
        self.act_delete = A("&Delete selected keys", self.curve_editor.request_delete, "Del", "key_delete")
        self.act_prefs = A("Pre&ferences...", self.preferences.open_preferences, "Ctrl+,")
        self.act_crossfade = A("&Crossfade takes...", self.edits.open_crossfade_dialog, "",
                               tip="Fade the performance from one take to another over a frame range")
        self.act_side = A("Source | driving | result", self.driving_view.toggle_side_by_side, "Ctrl+1", "source",
                          "Show source and driving beside the result", checkable=True)
        self.act_side.setChecked(True)
        self.act_landmarks = A("Landmark overlay", self.driving_view.toggle_overlays, "Shift+L", "overlay", checkable=True)
        self.act_axes = A("Head axes overlay", self.driving_view.toggle_overlays, "Shift+A", checkable=True)
        self.act_frame_all = A("Frame all curves", self.curve_editor.frame_all, "F", "frame_all")
        self.act_play = A("Play / pause", self.playback.toggle_play, "Space", "play")
        self.act_back = A("Step back", lambda: self.playback.step(-1), "Left", "step_back")
        self.act_fwd = A("Step forward", lambda: self.playback.step(1), "Right", "step_forward")
        self.act_start = A("Go to start", self.playback.go_start, "Home", "to_start")
        self.act_end = A("Go to end", self.playback.go_end, "End", "to_end")
        self.act_j = A("Shuttle backward", lambda: self.playback.shuttle(-1), "J")
        self.act_k = A("Shuttle stop", lambda: self.playback.shuttle(0), "K")
        self.act_l = A("Shuttle forward", lambda: self.playback.shuttle(1), "L")
        self.act_loop = A("Loop range", self.playback.toggle_loop, "Ctrl+L", "loop",
                          "Loop playback between the in and out points", checkable=True)
        self.act_loop_in = A("Set loop in", self.playback.set_loop_in, "[")
        self.act_loop_out = A("Set loop out", self.playback.set_loop_out, "]")
        self.act_shortcuts = A("&Keyboard shortcuts", self.show_shortcuts, "F1", "shortcuts")
        self.act_about = A("&About DeX Studio", self._about)

        mb = self.menuBar()
        m = mb.addMenu("&File")
        for a in (self.act_new, self.act_open):
            m.addAction(a)
        self.recent_menu = m.addMenu("Open &recent")
        m.addSeparator()
        for a in (self.act_source, self.act_driving):
            m.addAction(a)
        m.addSeparator()
        for a in (self.act_save, self.act_save_as):
            m.addAction(a)
        m.addSeparator()
        for a in (self.act_export, self.act_export_motion):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Edit")
        for a in (self.act_undo, self.act_redo):
            m.addAction(a)
        m.addSeparator()
        for a in (self.act_insert, self.act_delete):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_crossfade)
        m.addSeparator()
        m.addAction(self.act_prefs)
        m = mb.addMenu("&View")
        for a in (self.act_side, self.act_landmarks, self.act_axes, self.act_frame_all):
            m.addAction(a)
        m.addSeparator()
        for d in self.docks:
            m.addAction(d.toggleViewAction())
        m = mb.addMenu("&Playback")
        for a in (self.act_play, self.act_back, self.act_fwd, self.act_start, self.act_end, self.act_j,
                  self.act_k, self.act_l, self.act_loop, self.act_loop_in, self.act_loop_out):
            m.addAction(a)
        m = mb.addMenu("&Help")
        m.addAction(self.act_shortcuts)
        m.addAction(self.act_about)
        self.project.rebuild_recent_menu()

        tb = QToolBar("Main", self)
        tb.setObjectName("toolbarMain")
        tb.setMovable(False)
        for a in (self.act_new, self.act_open, self.act_save):
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.act_source, self.act_driving, self.act_export):
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.act_undo, self.act_redo):
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.act_side, self.act_landmarks):
            tb.addAction(a)
        self.addToolBar(tb)

        lay = self._transport_layout
        for a in (self.act_start, self.act_back, self.act_play, self.act_fwd, self.act_end, self.act_loop):
            b = QPushButton(self.transport)
            b.setIcon(a.icon())
            b.setToolTip(a.toolTip())
            b.setFlat(True)
            b.setFixedWidth(32)  # icon buttons: the style's text-button width is not needed
            b.setCheckable(a.isCheckable())
            b.clicked.connect(a.trigger)
            if a is self.act_loop:
                a.toggled.connect(b.setChecked)
            if a is self.act_play:
                self.play_button = b
            lay.addWidget(b)
        lay.addSpacing(8)
        lay.addWidget(QLabel("Take", self.transport))
        lay.addWidget(self.take_combo)
        lay.addSpacing(8)
        lay.addWidget(QLabel("Frame", self.transport))
        lay.addWidget(self.frame_spin)
        lay.addWidget(self.timecode_label)
        lay.addWidget(self.shuttle_label)
        lay.addStretch(1)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.job_status = JobStatus(self.jobs, sb, self)
        self.cache_label = QLabel("cache: empty", self)
        self.device_label = QLabel("device: -", self)
        sb.addPermanentWidget(self.cache_label)
        sb.addPermanentWidget(self.device_label)

    # ================================================================== errors
    @Slot(object)
    def show_error(self, exc: object) -> None:
        """A clear dialog for a user-caused error (message + hint); nothing else happens."""
        if isinstance(exc, Cancelled):
            self.statusBar().showMessage("Cancelled", 4000)
            return
        if isinstance(exc, DexStudioError):
            text, hint = exc.message, exc.hint
        else:
            text, hint = f"Something went wrong: {exc}", "The project was not changed. Details are in the log."
        box_text = text + (f"\n\n{hint[0].upper() + hint[1:]}" if hint else "")
        QMessageBox.warning(self, "DeX Studio", box_text)

    # ================================================================== viewer
    @Slot(object)
    def _on_result_image(self, img: object) -> None:
        self.viewer.result.set_image(img)  # type: ignore[arg-type]
        if self.act_axes.isChecked():
            self.driving_view.update_overlays()

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        self.viewer.result.set_busy(busy)

    @Slot(int, object)
    def _on_cache_mask(self, start: int, mask: object) -> None:
        self.curve_editor.set_cache_mask(start, mask)  # type: ignore[arg-type]
        m = np.asarray(mask)
        self.cache_label.setText(f"cache: {int(m.sum())}/{m.size} frames")

    @Slot(object)
    def _on_render_error(self, exc: object) -> None:
        self.statusBar().showMessage(f"Render error: {exc}", 8000)
        if isinstance(exc, DexStudioError):
            self.show_error(exc)

    @Slot(str)
    def _on_device_text(self, text: str) -> None:
        self.device_label.setText(f"device: {text}")

    @Slot(str)
    def _on_stats_text(self, text: str) -> None:
        self.cache_label.setText(text)

    def show_shortcuts(self) -> ShortcutsDialog:
        dlg = ShortcutsDialog(self.actions(), self)
        dlg.show()
        return dlg

    def _about(self) -> None:
        from dexstudio import __version__

        QMessageBox.about(self, "About DeX Studio",
                          f"DeX Studio {__version__}\nEdit portrait performances with disentangled "
                          "pose and expression control.")

    # ================================================================== drag & drop
    def dragEnterEvent(self, ev) -> None:  # noqa: N802
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:  # noqa: N802
        for url in ev.mimeData().urls():
            p = url.toLocalFile()
            suf = Path(p).suffix.lower()
            if suf == ".dexproj":
                self.open_project(p)
            elif suf in IMAGE_SUFFIXES:
                self.open_source(p)
            elif suf:
                self.add_driving(p)

    # ================================================================== shutdown
    def closeEvent(self, ev: QCloseEvent) -> None:  # noqa: N802
        if not self._closing:
            if not self.project.confirm_discard():
                ev.ignore()
                return
        self.shutdown()
        ev.accept()

    def shutdown(self) -> None:
        """Stop playback, cancel and join every job thread, close the render worker."""
        if self._shut_down:
            return
        self._shut_down = True
        self._closing = True
        self.playback.stop_playback()
        self.project.autosave_timer.stop()
        if not self.session.dirty:
            self.project.discard_autosave()
        self.jobs.shutdown()
        self.preview.close()
        self.playback.stop_audio()
        self.driving_view.close()

    # ================================================================== controller API
    # (kept on the window: tests, the benchmark and the app call these)
    @property
    def source_image(self) -> Optional[np.ndarray]:
        return self.media.source_image

    def open_source(self, path: str, face_index: Optional[int] = None) -> Optional[JobHandle]:
        return self.media.open_source(path, face_index)

    def add_driving(self, path: str) -> JobHandle:
        return self.media.add_driving(path)

    def open_project(self, path: str, confirm: bool = True) -> bool:
        return self.project.open_project(path, confirm)

    def save_to(self, path: Path) -> bool:
        return self.project.save_to(path)

    def open_export_dialog(self) -> Optional[ExportDialog]:
        return self.exports.open_export_dialog()

    def _start_export(self, req: ExportRequest) -> Optional[JobHandle]:
        return self.exports.start_export(req)

    def export_motion(self, path: str) -> None:
        self.exports.export_motion(path)

    def open_preferences(self) -> PreferencesDialog:
        return self.preferences.open_preferences()

    def apply_preferences(self, prefs: Preferences) -> None:
        self.preferences.apply_preferences(prefs)

    def open_crossfade_dialog(self) -> Optional[CrossfadeDialog]:
        return self.edits.open_crossfade_dialog()

    @property
    def playing(self) -> bool:
        return self.playback.playing

    def toggle_play(self) -> None:
        self.playback.toggle_play()

    def shuttle(self, direction: int) -> None:
        self.playback.shuttle(direction)

    def step(self, d: int) -> None:
        self.playback.step(d)

    def go_start(self) -> None:
        self.playback.go_start()

    def go_end(self) -> None:
        self.playback.go_end()

    def stop_playback(self) -> None:
        self.playback.stop_playback()

    @property
    def _shuttle(self) -> int:
        return self.playback.speed

    def result_head_axes(self) -> Optional[tuple[np.ndarray, np.ndarray]]:
        return self.driving_view.result_head_axes()

    _axes_for = staticmethod(axes_for)

    def _toggle_overlays(self) -> None:
        self.driving_view.toggle_overlays()

    @property
    def _landmarks(self) -> dict[str, np.ndarray]:
        return self.media.landmarks

    @property
    def _head(self) -> Optional[tasks.HeadGeometry]:
        return self.media.head

    @_head.setter
    def _head(self, head: Optional[tasks.HeadGeometry]) -> None:
        self.media.head = head

    @property
    def _head_path(self) -> str:
        return self.media.head_path

    @_head_path.setter
    def _head_path(self, path: str) -> None:
        self.media.head_path = path

    @property
    def _autosaver(self):
        return self.project.autosaver

    @_autosaver.setter
    def _autosaver(self, autosaver) -> None:
        self.project.autosaver = autosaver

    def _on_autosave_tick(self) -> None:
        self.project._on_autosave_tick()

    def _on_take_chosen(self, index: int) -> None:
        self.session_sync.on_take_chosen(index)


__all__ = ["MainWindow", "ShortcutsDialog"]
