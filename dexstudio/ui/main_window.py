"""The main window: composes the viewer, channel tree, curve editor, inspector and
expression panel around one :class:`EditorSession`, and runs transport, project
files, background jobs (extraction, portrait analysis, export) and preview rendering.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDockWidget, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QMainWindow,
    QMessageBox, QProgressBar, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QTabWidget,
    QToolBar, QVBoxLayout, QWidget,
)

from dexstudio.core.document import ChangeKind, DocumentChanged
from dexstudio.core.errors import Cancelled, DexStudioError
from dexstudio.core.motion import MotionTrack
from dexstudio.core.rotation import euler_to_matrix
from dexstudio.core.take import Take
from dexstudio.render.base import Animator
from dexstudio.ui import tasks
from dexstudio.ui.channel_tree import ChannelTree
from dexstudio.ui.crossfade_dialog import CrossfadeDialog, CrossfadeRequest
from dexstudio.ui.curve_data import channel_of
from dexstudio.ui.curve_editor import CurveEditor
from dexstudio.ui.export_dialog import ExportDialog, ExportRequest
from dexstudio.ui.expression_panel import ExpressionPanel
from dexstudio.ui.inspector import Inspector
from dexstudio.ui.jobs import JobHandle, JobRunner
from dexstudio.ui.preferences import ExportFormatPref, Preferences, PreferencesDialog
from dexstudio.ui.render_bridge import PreviewRenderer
from dexstudio.ui.session import EditorSession
from dexstudio.ui.theme import icon
from dexstudio.ui.viewer import Viewer
from dexstudio.worker.request import OutputOptions
from dexstudio.worker.worker import GiB, MiB, WorkerConfig

log = logging.getLogger(__name__)

PROJECT_FILTER = "DeX Studio projects (*.dexproj)"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)"
VIDEO_FILTER = "Videos (*.mp4 *.mov *.mkv *.avi *.webm *.m4v)"
MAX_RECENT = 8
SHUTTLE_SPEEDS = (1, 2, 4, 8)


def _warp_factory(crop_size: int):
    from dexstudio.render.warp.animator import WarpAnimator, WarpSettings

    def make(device: str) -> Animator:
        return WarpAnimator(WarpSettings(device="cpu" if device in ("", "cpu") else device))
    return make


class ShortcutsDialog(QDialog):
    """Help > Keyboard shortcuts: every action with a shortcut, from the window's menus."""

    def __init__(self, actions: list[QAction], parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(520, 560)
        rows = [(a.property("helpText") or a.text().replace("&", ""),
                 a.shortcut().toString(QKeySequence.SequenceFormat.NativeText))
                for a in actions if not a.shortcut().isEmpty()]
        rows += [("Frame all (curve editor)", "F / Home"), ("Insert key (curve editor)", "I / double-click"),
                 ("Box select keys", "drag on empty space"), ("Pan curves", "middle-drag / Alt+drag"),
                 ("Zoom time / values", "Ctrl+wheel / Shift+wheel")]
        t = QTableWidget(len(rows), 2, self)
        t.setHorizontalHeaderLabels(["Action", "Shortcut"])
        t.verticalHeader().hide()
        t.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        t.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        for i, (a, k) in enumerate(rows):
            t.setItem(i, 0, QTableWidgetItem(a))
            t.setItem(i, 1, QTableWidgetItem(k))
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        lay = QVBoxLayout(self)
        lay.addWidget(t)
        b = QPushButton("Close", self)
        b.clicked.connect(self.accept)
        lay.addWidget(b, 0, Qt.AlignmentFlag.AlignRight)


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
        self.source_image: Optional[np.ndarray] = None
        self._source_path = ""
        self._landmarks: dict[str, np.ndarray] = {}
        self._driving_cache: dict[tuple[str, int], np.ndarray] = {}
        self._closing = False  # True: close without asking to save
        self._shut_down = False
        self._export_dialog: Optional[ExportDialog] = None
        self._export_job: Optional[JobHandle] = None
        self._loop: Optional[tuple[int, int]] = None
        self._shuttle = 0
        self._play_t0 = 0.0
        self._play_f0 = 0
        self._autosaver = None
        self._head: Optional[tasks.HeadGeometry] = None  # result head-axes geometry
        self._head_path = ""  # the portrait _head was measured on
        self._prefs_dialog: Optional[PreferencesDialog] = None
        self._crossfade_dialog: Optional[CrossfadeDialog] = None

        self.viewer = Viewer(self)
        self.setCentralWidget(self.viewer)
        self.channel_tree = ChannelTree(self.session, self)
        self.curve_editor = CurveEditor(self)
        self.inspector = Inspector(self.session, self)
        self.expression_panel = ExpressionPanel(self.session, self)
        self._build_docks()
        self._build_transport()
        self._build_actions()
        self._build_status()

        self._startup_device_error: Optional[DexStudioError] = None
        self._check_device_pref()
        self.preview = PreviewRenderer(_warp_factory(self.prefs.crop_size),
                                       _warp_factory(self.prefs.crop_size)("cpu"),
                                       self._worker_config(), self)
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

        s = self.session
        s.documentReplaced.connect(self._on_document_replaced)
        s.documentChanged.connect(self._on_document_changed)
        s.playheadChanged.connect(self._on_playhead)
        s.channelSelectionChanged.connect(self._on_channel_selection)
        s.dirtyChanged.connect(self._update_title)
        s.userError.connect(self.show_error)
        ce = self.curve_editor
        ce.playheadScrubbed.connect(self._on_scrub)
        ce.insertKeysRequested.connect(self._on_insert_keys)
        ce.deleteKeysRequested.connect(self._on_delete_keys)
        ce.keysDragged.connect(self._on_keys_dragged)
        ce.interpolationRequested.connect(self._on_interp)
        ce.handleDragged.connect(self._on_handle_dragged)
        ce.handlesResetRequested.connect(self._on_handles_reset)
        self.viewer.result.clicked.connect(self._on_viewer_clicked)
        self.viewer.source.clicked.connect(self._on_viewer_clicked)

        self._play_timer = QTimer(self)
        self._play_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._play_timer.timeout.connect(self._on_play_tick)
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setInterval(5000)
        self._autosave_timer.timeout.connect(self._on_autosave_tick)
        self._audio = self._make_audio()

        self.setAcceptDrops(True)
        self._on_document_replaced()
        if enable_autosave:
            self._autosave_timer.start()
            QTimer.singleShot(0, self._offer_untitled_recovery)

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
        self.transport = bar
        self._transport_layout = lay
        self.frame_spin = QSpinBox(bar)
        self.frame_spin.setRange(0, 0)
        self.frame_spin.setToolTip("Current frame")
        self.frame_spin.setMinimumWidth(80)
        self.frame_spin.valueChanged.connect(self._on_frame_spin)
        self.timecode_label = QLabel("00:00:00:00", bar)
        self.timecode_label.setMinimumWidth(90)
        self.shuttle_label = QLabel("", bar)
        self.take_combo = QComboBox(bar)
        self.take_combo.setToolTip("The take (driving clip) that drives the performance")
        self.take_combo.setMinimumWidth(160)
        self.take_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.take_combo.activated.connect(self._on_take_chosen)
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
        self.act_new = A("&New project", self.new_project, QKeySequence.StandardKey.New, "new")
        self.act_open = A("&Open project...", self.open_project_dialog, QKeySequence.StandardKey.Open, "open")
        self.act_source = A("Open source &portrait...", self.open_source_dialog, "Ctrl+Shift+O", "source",
                            "Open the portrait to animate")
        self.act_driving = A("Add &driving clip...", self.add_driving_dialog, "Ctrl+D", "driving",
                             "Add a driving clip: its motion is extracted as a new take")
        self.act_save = A("&Save", self.save, QKeySequence.StandardKey.Save, "save")
        self.act_save_as = A("Save &as...", self.save_as, "Ctrl+Shift+S")
        self.act_export = A("&Export video...", self.open_export_dialog, "Ctrl+E", "export")
        self.act_export_motion = A("Export &motion (CSV / JSON)...", self.export_motion_dialog, "Ctrl+Shift+E")
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
        self.act_insert = A("&Insert key at playhead", self.insert_key_at_playhead, "I", "key_add")
        self.act_delete = A("&Delete selected keys", self.curve_editor.request_delete, "Del", "key_delete")
        self.act_prefs = A("Pre&ferences...", self.open_preferences, "Ctrl+,")
        self.act_crossfade = A("&Crossfade takes...", self.open_crossfade_dialog, "",
                               tip="Fade the performance from one take to another over a frame range")
        self.act_side = A("Source | driving | result", self._toggle_side_by_side, "Ctrl+1", "source",
                          "Show source and driving beside the result", checkable=True)
        self.act_side.setChecked(True)
        self.act_landmarks = A("Landmark overlay", self._toggle_overlays, "Shift+L", "overlay", checkable=True)
        self.act_axes = A("Head axes overlay", self._toggle_overlays, "Shift+A", checkable=True)
        self.act_frame_all = A("Frame all curves", self.curve_editor.frame_all, "F", "frame_all")
        self.act_play = A("Play / pause", self.toggle_play, "Space", "play")
        self.act_back = A("Step back", lambda: self.step(-1), "Left", "step_back")
        self.act_fwd = A("Step forward", lambda: self.step(1), "Right", "step_forward")
        self.act_start = A("Go to start", self.go_start, "Home", "to_start")
        self.act_end = A("Go to end", self.go_end, "End", "to_end")
        self.act_j = A("Shuttle backward", lambda: self.shuttle(-1), "J")
        self.act_k = A("Shuttle stop", lambda: self.shuttle(0), "K")
        self.act_l = A("Shuttle forward", lambda: self.shuttle(1), "L")
        self.act_loop = A("Loop range", self._toggle_loop, "Ctrl+L", "loop",
                          "Loop playback between the in and out points", checkable=True)
        self.act_loop_in = A("Set loop in", self._set_loop_in, "[")
        self.act_loop_out = A("Set loop out", self._set_loop_out, "]")
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
        self._rebuild_recent_menu()

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
        self.job_label = QLabel("", self)
        self.job_progress = QProgressBar(self)
        self.job_progress.setMaximumWidth(220)
        self.job_progress.hide()
        self.job_cancel = QPushButton("Cancel", self)
        self.job_cancel.setToolTip("Cancel the running extraction")
        self.job_cancel.hide()
        self.job_cancel.clicked.connect(self.cancel_jobs)
        self.cache_label = QLabel("cache: empty", self)
        self.device_label = QLabel("device: -", self)
        sb.addWidget(self.job_label)
        sb.addWidget(self.job_progress)
        sb.addWidget(self.job_cancel)
        sb.addPermanentWidget(self.cache_label)
        sb.addPermanentWidget(self.device_label)

    def _make_audio(self):
        """Driving-clip audio via QtMultimedia when importable; None (quietly) otherwise."""
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer  # noqa: F401
        except ImportError:
            return None
        try:
            player = QMediaPlayer(self)
            out = QAudioOutput(self)
            player.setAudioOutput(out)
            player._out = out  # keep alive
            return player
        except Exception:  # noqa: BLE001 - audio is optional
            return None

    def _check_device_pref(self) -> None:
        """A saved device that this machine lacks (a CUDA choice on a CPU-only machine)
        falls back to automatic for this session, with a note in the status bar."""
        from dexstudio.render.device import choose_device
        from dexstudio.ui.preferences import DevicePref

        try:
            choose_device(self.prefs.device.value)
        except DexStudioError as exc:
            self._startup_device_error = exc
            self.prefs = replace(self.prefs, device=DevicePref.AUTO)

    def _worker_config(self) -> WorkerConfig:
        from dexstudio.render.device import DeviceChoice

        p = self.prefs
        return WorkerConfig(device=DeviceChoice(p.device.value), cpu_threads=p.cpu_threads or None,
                            memory_cache_bytes=p.memory_cache_mb * MiB, disk_cache_bytes=p.disk_cache_gb * GiB,
                            cache_dir=Path(p.cache_dir) if p.cache_dir else None)

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

    # ================================================================== document events
    @Slot()
    def _on_document_replaced(self) -> None:
        rng = self.session.frame_range
        self.curve_editor.set_rate(self.session.state.settings.rate)
        self.curve_editor.set_frame_range(rng.start, rng.stop)
        self.frame_spin.blockSignals(True)
        self.frame_spin.setRange(rng.start, max(rng.start, rng.stop - 1))
        self.frame_spin.blockSignals(False)
        self._load_source_image()
        self._sync_preview_inputs()
        self._refresh_takes()
        self.preview.set_document(self.session.doc)
        self._refresh_curves()
        self.curve_editor.frame_all()
        self._update_title()
        self._on_playhead(self.session.playhead)
        from dexstudio.io.project_file import Autosaver

        self._autosaver = Autosaver(self.session.doc, float(self.prefs.autosave_s),
                                    fallback_path=self._untitled_path())

    def _refresh_takes(self) -> None:
        st = self.session.state
        self.take_combo.blockSignals(True)
        self.take_combo.clear()
        if not st.takes:
            self.take_combo.addItem("(none: keyframes only)", None)
        for t in st.takes:
            self.take_combo.addItem(f"{t.name} ({t.values.shape[0]} frames)", t.id)
        active = self.session.active_take()
        if active is not None:
            self.take_combo.setCurrentIndex(max(0, self.take_combo.findData(active.id)))
        self.take_combo.setEnabled(len(st.takes) > 1)
        self.take_combo.blockSignals(False)

    @Slot(int)
    def _on_take_chosen(self, index: int) -> None:
        from dexstudio.core import commands as C
        from dexstudio.core.take import PerformanceSource

        tid = self.take_combo.itemData(index)
        active = self.session.active_take()
        if tid is None or (active is not None and active.id == tid):
            return
        self.session.run(C.set_performance, PerformanceSource(tid))

    @Slot(object)
    def _on_document_changed(self, ev: DocumentChanged) -> None:
        if ev.kinds & {ChangeKind.TAKES, ChangeKind.PERFORMANCE}:
            self._refresh_takes()
        if ChangeKind.SETTINGS in ev.kinds:
            rng = self.session.frame_range
            self.curve_editor.set_rate(self.session.state.settings.rate)
            self.curve_editor.set_frame_range(rng.start, rng.stop)
            self.frame_spin.setRange(rng.start, max(rng.start, rng.stop - 1))
        if ev.kinds & {ChangeKind.SOURCE, ChangeKind.TAKES, ChangeKind.PERFORMANCE, ChangeKind.RENDER}:
            if ChangeKind.SOURCE in ev.kinds:
                self._load_source_image()
            self._sync_preview_inputs()
        self.preview.on_document_changed(ev)
        shown = set(self.curve_editor.curves())
        touched = {c for c in shown if channel_of(c) in set(ev.channels)}
        if ev.kinds & {ChangeKind.SETTINGS, ChangeKind.TAKES, ChangeKind.PERFORMANCE, ChangeKind.GROUPS,
                       ChangeKind.SOURCE} or touched:
            changed = shown if len(ev.channels) > 8 else touched
            if set(self._wanted_curve_ids()) != shown:  # a channel entered / left BLEND
                self._refresh_curves()
                self.curve_editor.ensure_values_visible()
            elif ev.kinds & {ChangeKind.SETTINGS, ChangeKind.TAKES}:
                self._refresh_curves()
                self.curve_editor.frame_all()
            else:
                for cid in changed:
                    self.curve_editor.update_curve(self.session.curve_row(cid), _keys=False)
                self.curve_editor._refresh_keys()
                self.curve_editor.ensure_values_visible()
        self._update_driving()

    def _sync_preview_inputs(self) -> None:
        take = self.session.active_take()
        self.preview.set_expression_model(take.expression_model if take is not None else None)
        st = self.session.state
        self.preview.set_source(self.source_image, st.source.face_index, self.prefs.crop_size)

    def _load_source_image(self) -> None:
        path = self.session.state.source.path
        if path == self._source_path:
            return
        self._source_path = path
        self.source_image = None
        if path:
            from dexstudio.io.image import load_image

            try:
                self.source_image = load_image(path)
            except DexStudioError as exc:
                self.show_error(exc)
        if self.source_image is not None:
            self.viewer.source.set_image(self.source_image)
            if self._head_path != path:
                self._measure_head(path, self.source_image)
        else:
            self.viewer.source.clear()
            self.viewer.result.clear()

    def _wanted_curve_ids(self) -> list[str]:
        """Curve rows for the selected channels (+ blend-weight rows under BLEND)."""
        return self.session.curve_ids_for(self.session.selected[:32])

    def _refresh_curves(self) -> None:
        if len(self.session.frame_range) == 0:
            self.curve_editor.set_curves([])
            return
        self.curve_editor.set_curves([self.session.curve_row(c) for c in self._wanted_curve_ids()])

    @Slot(object)
    def _on_channel_selection(self, _ids: object) -> None:
        self._refresh_curves()
        self.curve_editor.frame_all()

    # ================================================================== playhead / transport
    @Slot(int)
    def _on_playhead(self, frame: int) -> None:
        self.curve_editor.set_playhead(frame)
        self.frame_spin.blockSignals(True)
        self.frame_spin.setValue(frame)
        self.frame_spin.blockSignals(False)
        self.timecode_label.setText(self.session.state.settings.rate.timecode(frame))
        self.preview.show_frame(frame)
        self._update_driving()
        self._update_overlays()

    @Slot(int)
    def _on_frame_spin(self, v: int) -> None:
        self.session.set_playhead(v)

    @Slot(int)
    def _on_scrub(self, frame: int) -> None:
        self.session.set_playhead(frame)

    def step(self, d: int) -> None:
        self.stop_playback()
        self.session.set_playhead(self.session.playhead + d)

    def go_start(self) -> None:
        self.stop_playback()
        self.session.set_playhead(self._play_range()[0])

    def go_end(self) -> None:
        self.stop_playback()
        self.session.set_playhead(self._play_range()[1] - 1)

    def _play_range(self) -> tuple[int, int]:
        rng = self.session.frame_range
        if self._loop is not None and self.act_loop.isChecked():
            return self._loop
        return rng.start, max(rng.start + 1, rng.stop)

    @property
    def playing(self) -> bool:
        return self._play_timer.isActive()

    def toggle_play(self) -> None:
        if self.playing:
            self.stop_playback()
        else:
            self.shuttle(1)

    def shuttle(self, direction: int) -> None:
        """J/K/L: K stops; J/L start playing backward/forward, pressed again go faster."""
        if direction == 0:
            self.stop_playback()
            return
        if self.playing and np.sign(self._shuttle) == direction:
            i = SHUTTLE_SPEEDS.index(abs(self._shuttle)) if abs(self._shuttle) in SHUTTLE_SPEEDS else 0
            speed = SHUTTLE_SPEEDS[min(i + 1, len(SHUTTLE_SPEEDS) - 1)]
        else:
            speed = 1
        self._shuttle = direction * speed
        self._play_t0 = time.perf_counter()
        self._play_f0 = self.session.playhead
        fps = self.session.state.settings.rate.fps
        self._play_timer.start(max(5, int(1000 / fps / 2)))
        self.play_button.setIcon(icon("pause"))
        self.shuttle_label.setText("" if self._shuttle == 1 else f"{self._shuttle:+d}x")
        self._start_audio()

    def _start_audio(self) -> None:
        """Play the driving clip's audio from the playhead (forward 1x only; quietly
        nothing when QtMultimedia is unavailable)."""
        take, path = self.session.active_take(), self._driving_path()
        if self._audio is None or take is None or path is None or self._shuttle != 1:
            return
        try:
            from PySide6.QtCore import QUrl

            if self._audio.source() != QUrl.fromLocalFile(path):
                self._audio.setSource(QUrl.fromLocalFile(path))
            sec = self.session.state.settings.rate.frame_to_seconds(self.session.playhead - take.start)
            self._audio.setPosition(max(0, int(float(sec) * 1000)))
            self._audio.play()
        except Exception:  # noqa: BLE001 - audio is optional
            pass

    def stop_playback(self) -> None:
        if self._audio is not None:
            try:
                self._audio.pause()
            except Exception:  # noqa: BLE001
                pass
        if self._play_timer.isActive():
            self._play_timer.stop()
        self._shuttle = 0
        self.play_button.setIcon(icon("play"))
        self.shuttle_label.setText("")

    @Slot()
    def _on_play_tick(self) -> None:
        """Frame from the wall clock: when rendering lags, frames are dropped, never slowed."""
        fps = self.session.state.settings.rate.fps
        elapsed = time.perf_counter() - self._play_t0
        a, b = self._play_range()
        f = self._play_f0 + int(elapsed * fps * self._shuttle)
        if f >= b or f < a:
            if self.act_loop.isChecked() or (self._loop is None and self._shuttle == 1):
                span = b - a
                f = a + (f - a) % span
                self._play_f0, self._play_t0 = f, time.perf_counter()
            else:
                self.session.set_playhead(min(max(f, a), b - 1))
                self.stop_playback()
                return
        if f != self.session.playhead:
            self.session.set_playhead(f)

    def _toggle_loop(self) -> None:
        if self.act_loop.isChecked() and self._loop is None:
            rng = self.session.frame_range
            self._loop = (rng.start, rng.stop)
        self.curve_editor.set_loop(self._loop if self.act_loop.isChecked() else None)

    def _set_loop_in(self) -> None:
        a, b = self._loop or (self.session.frame_range.start, self.session.frame_range.stop)
        self._loop = (self.session.playhead, max(b, self.session.playhead + 1))
        self.act_loop.setChecked(True)
        self._toggle_loop()

    def _set_loop_out(self) -> None:
        a, b = self._loop or (self.session.frame_range.start, self.session.frame_range.stop)
        self._loop = (min(a, self.session.playhead), self.session.playhead + 1)
        self.act_loop.setChecked(True)
        self._toggle_loop()

    # ================================================================== viewer
    @Slot(object)
    def _on_result_image(self, img: object) -> None:
        self.viewer.result.set_image(img)  # type: ignore[arg-type]
        if self.act_axes.isChecked():
            self._update_overlays()

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

    def _driving_path(self) -> Optional[str]:
        take = self.session.active_take()
        if take is None or take.source is None or not take.source.path:
            return None
        return take.source.path

    def _update_driving(self) -> None:
        take = self.session.active_take()
        path = self._driving_path()
        if take is None or path is None or not Path(path).is_file():
            self.viewer.driving.clear()
            return
        idx = self.session.playhead - take.start
        if idx < 0 or idx >= take.values.shape[0]:
            return
        img = self._driving_cache.get((path, idx))
        if img is None:
            from dexstudio.io.video_reader import iter_frames

            try:
                it = iter_frames(path, start=idx, stop=idx + 1)
                for _, frame in it:
                    img = frame
                it.close()
            except DexStudioError:
                img = None
            if img is None:
                return
            if len(self._driving_cache) > 120:
                self._driving_cache.pop(next(iter(self._driving_cache)))
            self._driving_cache[(path, idx)] = img
        self.viewer.driving.set_image(img)
        lm = self._landmarks.get(take.id)
        pts = lm[idx] if lm is not None and idx < len(lm) else None
        axes = None
        if pts is not None and np.isfinite(np.asarray(pts, dtype=np.float64)[:, :2]).all():
            p2 = np.asarray(pts, dtype=np.float64)[:, :2]
            origin = p2.mean(axis=0)  # the head's landmarks centre in the driving frame
            length = 0.5 * float(np.ptp(p2[:, 1]))  # half the face height
            axes = self._axes_for(origin, length, take.values[idx, :3])
        self.viewer.driving.set_overlays(pts, axes)

    @staticmethod
    def _axes_for(origin, length: float, euler) -> tuple[np.ndarray, np.ndarray]:
        """Head axes: ``origin`` (2,) image px, 3 tips (3, 2) ``length`` px away along the
        rotated x (right), y (up) and z (towards the viewer) axes."""
        R = np.asarray(euler_to_matrix(float(euler[0]), float(euler[1]), float(euler[2]))).reshape(3, 3)
        o = np.asarray(origin, dtype=np.float64)
        tips = np.array([o + length * np.array([R[0, i], -R[1, i]]) for i in range(3)])
        return o, tips

    def result_head_axes(self) -> Optional[tuple[np.ndarray, np.ndarray]]:
        """Head axes of the result at the playhead: at the rendered head centre (the warp
        animator's projection centre of its target points), or None when unknown."""
        img = self.viewer.result.image_array()
        if (img is None or self._head is None or self._head_path != self.session.state.source.path
                or len(self.session.frame_range) == 0):
            return None
        ev = self.session.doc.evaluate([self.session.playhead])
        size = (int(img.shape[1]), int(img.shape[0]))
        if self.preview.output.paste_back:
            return None  # the preview shows the crop; paste-back geometry is not tracked
        o = self._head.origin(ev.translation[0], size)
        return self._axes_for(o, self._head.axis_length(float(ev.scale[0]), size), ev.euler[0])

    def _update_overlays(self) -> None:
        if self.viewer.result.image_array() is None:
            return
        self.viewer.result.set_overlays(None, self.result_head_axes())

    def _toggle_side_by_side(self) -> None:
        self.viewer.set_side_by_side(self.act_side.isChecked())

    def _toggle_overlays(self) -> None:
        self.viewer.set_overlays_visible(self.act_landmarks.isChecked(), self.act_axes.isChecked())
        self._update_overlays()

    @Slot(float, float)
    def _on_viewer_clicked(self, x: float, y: float) -> None:
        """Choose the face: a click on a face in the source picks it (re-analysed)."""
        if self.source_image is None or self.sender() is not self.viewer.source:
            return
        self.statusBar().showMessage("Face chosen by click: re-analysing the portrait", 3000)
        self._start_source_analysis(self._source_path, self.source_image, face_at=(x, y))

    # ================================================================== curve editor gestures
    @Slot(list)
    def _on_insert_keys(self, refs: list) -> None:
        self.session.insert_keys([(r.channel_id, self.session.playhead if r.frame is None else r.frame)
                                  for r in refs])

    def insert_key_at_playhead(self) -> None:
        if not self.session.selected:
            self.statusBar().showMessage("Select a channel in the channel tree to key it", 4000)
            return
        self.session.insert_keys([(c, self.session.playhead) for c in self.session.selected[:32]])

    @Slot(list)
    def _on_delete_keys(self, refs: list) -> None:
        self.session.delete_keys(refs)

    @Slot(int, list, bool)
    def _on_keys_dragged(self, drag_id: int, moves: list, final: bool) -> None:
        self.session.drag_keys(drag_id, moves, final)

    @Slot(list, object)
    def _on_interp(self, refs: list, interp: object) -> None:
        self.session.set_interpolation(refs, interp)  # type: ignore[arg-type]

    @Slot(int, object, bool)
    def _on_handle_dragged(self, drag_id: int, move: object, final: bool) -> None:
        self.session.drag_handle(drag_id, move, final)  # type: ignore[arg-type]

    @Slot(list)
    def _on_handles_reset(self, refs: list) -> None:
        self.session.reset_handles(refs)

    # ================================================================== takes
    def open_crossfade_dialog(self) -> Optional[CrossfadeDialog]:
        """Non-modal "Crossfade takes" dialog (needs two takes)."""
        st = self.session.state
        if len(st.takes) < 2:
            self.show_error(DexStudioError("a crossfade needs two takes",
                                           "add another driving clip first (File > Add driving clip)"))
            return None
        active = self.session.active_take()
        dlg = CrossfadeDialog(st.takes, self.session.frame_range, self.session.playhead,
                              active.id if active is not None else None, self)
        dlg.crossfadeRequested.connect(self._on_crossfade_requested)
        self._crossfade_dialog = dlg
        dlg.show()
        return dlg

    @Slot(object)
    def _on_crossfade_requested(self, req: object) -> None:
        assert isinstance(req, CrossfadeRequest)
        if self.session.crossfade_takes(req.take_a, req.take_b, req.first, req.last):
            self.statusBar().showMessage(f"Crossfade from frame {req.first} to {req.last}", 4000)

    # ================================================================== media
    def open_source_dialog(self) -> None:
        p, _ = QFileDialog.getOpenFileName(self, "Open source portrait", "", IMAGE_FILTER)
        if p:
            self.open_source(p)

    def open_source(self, path: str, face_index: Optional[int] = None) -> Optional[JobHandle]:
        """Load a portrait, then find its face in the background; the project changes
        only when that succeeds."""
        from dexstudio.io.image import load_image

        try:
            img = load_image(path)
        except DexStudioError as exc:
            self.show_error(exc)
            return None
        self.viewer.source.set_image(img)
        return self._start_source_analysis(path, img, face_index=face_index)

    def _start_source_analysis(self, path: str, img: np.ndarray, face_index: Optional[int] = None,
                               face_at: Optional[tuple[float, float]] = None) -> JobHandle:
        crop = self.prefs.crop_size
        fn = tasks.analyse_source(str(path), img, _warp_factory(crop), face_index, crop, face_at)
        job = self.jobs.start("analyse", fn)
        self._track_job(job, "Finding the face in the portrait")
        job.succeeded.connect(self._on_source_analysed)
        job.failed.connect(self._on_source_failed)
        return job

    @Slot(object)
    def _on_source_analysed(self, res: object) -> None:
        assert isinstance(res, tasks.SourceAnalysis)
        self._head = res.head
        self._head_path = res.path
        self.session.set_source(res.path, res.own_values, res.face_index)
        self._update_overlays()
        self.statusBar().showMessage(f"Portrait ready: {Path(res.path).name}", 4000)

    def _measure_head(self, path: str, img: np.ndarray) -> None:
        """Where the head sits in the working crop (result head axes) for a portrait the
        project already holds (opened project): a background analysis that changes
        nothing in the document; a failure only leaves the result axes off."""
        crop = self.prefs.crop_size
        fn = tasks.analyse_source(str(path), img, _warp_factory(crop),
                                  self.session.state.source.face_index, crop)
        job = self.jobs.start("analyse-head", fn)
        job.succeeded.connect(self._on_head_measured)

    @Slot(object)
    def _on_head_measured(self, res: object) -> None:
        assert isinstance(res, tasks.SourceAnalysis)
        if res.path == self.session.state.source.path:
            self._head, self._head_path = res.head, res.path
            self._update_overlays()

    @Slot(object)
    def _on_source_failed(self, exc: object) -> None:
        # the project is unchanged: show what it holds again
        self._source_path = None  # type: ignore[assignment]
        self._load_source_image()
        self.show_error(exc)

    def add_driving_dialog(self) -> None:
        p, _ = QFileDialog.getOpenFileName(self, "Add driving clip", "", VIDEO_FILTER)
        if p:
            self.add_driving(p)

    def add_driving(self, path: str) -> JobHandle:
        """Extract the clip's motion in the background; it becomes a take."""
        job = self.jobs.start("extract", tasks.extract_clip(str(path)))
        job.setProperty("clip", str(path))
        self._track_job(job, f"Extracting motion from {Path(path).name}")
        job.succeeded.connect(self._on_extracted)
        job.failed.connect(self.show_error)
        return job

    @Slot(object)
    def _on_extracted(self, track: object) -> None:
        assert isinstance(track, MotionTrack)
        job = self.sender()
        clip = job.property("clip") if job is not None else "take"
        take = Take.from_motion(track, Path(clip).stem)
        if track.landmarks_2d is not None:
            self._landmarks[take.id] = track.landmarks_2d
        self.session.add_take(take)
        self.statusBar().showMessage(f"Motion extracted: {track.n_frames} frames", 4000)

    def _track_job(self, job: JobHandle, text: str) -> None:
        self.job_label.setText(text)
        self.job_progress.setRange(0, 0)
        self.job_progress.show()
        self.job_cancel.show()
        job.progressed.connect(self._on_job_progress)
        job.finished.connect(self._on_job_finished)

    @Slot(int, int, str)
    def _on_job_progress(self, done: int, total: int, stage: str) -> None:
        if total > 0:
            self.job_progress.setRange(0, total)
            self.job_progress.setValue(done)
        else:
            self.job_progress.setRange(0, 0)
        if stage:
            base = self.job_label.text().split(" — ")[0]
            self.job_label.setText(f"{base} — {stage}")

    @Slot()
    def _on_job_finished(self) -> None:
        if not any(j.running and j.name != "export" for j in self.jobs.jobs):
            self.job_label.setText("")
            self.job_progress.hide()
            self.job_cancel.hide()

    def cancel_jobs(self) -> None:
        for j in self.jobs.jobs:
            if j.name != "export":
                j.cancel()

    # ================================================================== export
    def open_export_dialog(self) -> Optional[ExportDialog]:
        if self.source_image is None or self.preview.builder is None:
            self.show_error(DexStudioError("there is nothing to export yet",
                                           "open a source portrait first (File > Open source portrait)"))
            return None
        base = self.session.doc.path.with_suffix(".mp4") if self.session.doc.path else Path.home() / "dexstudio_export.mp4"
        drv = self._driving_path()
        has_audio = False
        if drv:
            try:
                from dexstudio.io.video_reader import probe

                has_audio = probe(drv).has_audio
            except DexStudioError:
                has_audio = False
        dlg = ExportDialog(self.prefs, self.session.frame_range, str(base), has_audio, self)
        dlg.exportRequested.connect(self._start_export)
        dlg.cancelRequested.connect(self._cancel_export)
        self._export_dialog = dlg
        dlg.show()
        return dlg

    @Slot(object)
    def _start_export(self, req: ExportRequest) -> Optional[JobHandle]:
        builder = self.preview.make_builder(OutputOptions(paste_back=req.paste_back))
        if builder is None:
            return None
        rng = req.frame_range.intersect(self.session.frame_range)
        if len(rng) == 0:
            self.show_error(DexStudioError("the export range is empty", "choose frames inside the project"))
            return None
        if req.format is ExportFormatPref.SIDE_BY_SIDE and self._driving_path() is None:
            self.show_error(DexStudioError("side by side needs a driving clip",
                                           "add a driving clip, or export the result alone"))
            return None
        requests = list(builder.build(self.session.doc.evaluate(rng)).values())
        take = self.session.active_take()
        fn = tasks.export_video(req, requests, self.session.state.settings.rate,
                                _warp_factory(self.prefs.crop_size), self._worker_config(),
                                self.source_image, self._driving_path(), take.start if take else 0)
        job = self.jobs.start("export", fn)
        self._export_job = job
        if self._export_dialog is not None:
            self._export_dialog.set_running(True)
            job.progressed.connect(self._export_dialog.on_progress)
        job.succeeded.connect(self._on_export_done)
        job.failed.connect(self._on_export_failed)
        return job

    @Slot()
    def _cancel_export(self) -> None:
        if self._export_job is not None:
            self._export_job.cancel()

    @Slot(object)
    def _on_export_done(self, path: object) -> None:
        self._export_job = None
        msg = f"Exported to {path}"
        self.statusBar().showMessage(msg, 6000)
        if self._export_dialog is not None:
            self._export_dialog.finish(msg)

    @Slot(object)
    def _on_export_failed(self, exc: object) -> None:
        self._export_job = None
        if self._export_dialog is not None:
            self._export_dialog.finish("Cancelled: nothing was written." if isinstance(exc, Cancelled)
                                       else f"Failed: {getattr(exc, 'message', exc)}")
        if not isinstance(exc, Cancelled):
            self.show_error(exc)

    def export_motion_dialog(self) -> None:
        if len(self.session.frame_range) == 0:
            return
        p, _ = QFileDialog.getSaveFileName(self, "Export motion", "motion.csv",
                                           "Live Link Face CSV (*.csv);;DeX Studio motion JSON (*.json)")
        if p:
            self.export_motion(p)

    def export_motion(self, path: str) -> None:
        from dexstudio.io.motion_files import save_llf_csv, save_motion_json

        track = tasks.motion_track_from_evaluated(self.session.doc.evaluate(self.session.frame_range),
                                                  self.session.state.settings.rate)
        try:
            (save_motion_json if path.lower().endswith(".json") else save_llf_csv)(path, track)
        except DexStudioError as exc:
            self.show_error(exc)
            return
        self.statusBar().showMessage(f"Motion exported to {path}", 5000)

    # ================================================================== project files
    def _untitled_path(self) -> Path:
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or str(Path.home())
        return Path(base) / "untitled.dexproj"

    def _update_title(self, *_args) -> None:
        p = self.session.doc.path
        name = p.name if p else "Untitled"
        self.setWindowTitle(f"{name}{'*' if self.session.dirty else ''} — DeX Studio")

    def _confirm_discard(self) -> bool:
        """Ask to save unsaved changes; False when the user cancels."""
        if not self.session.dirty:
            return True
        r = QMessageBox.question(self, "DeX Studio", "The project has unsaved changes. Save them?",
                                 QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                 | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if r == QMessageBox.StandardButton.Save:
            return self.save()
        return r == QMessageBox.StandardButton.Discard

    def new_project(self) -> None:
        if self._confirm_discard():
            self._discard_autosave()
            self.session.new_document()

    def open_project_dialog(self) -> None:
        if not self._confirm_discard():
            return
        p, _ = QFileDialog.getOpenFileName(self, "Open project", "", PROJECT_FILTER)
        if p:
            self.open_project(p, confirm=False)

    def open_project(self, path: str, confirm: bool = True) -> bool:
        from dexstudio.io.project_file import has_recovery, load_project, load_recovery

        if confirm and not self._confirm_discard():
            return False
        try:
            doc = load_project(path)
            if has_recovery(path):
                r = QMessageBox.question(self, "DeX Studio",
                                         f"An autosave of {Path(path).name} newer than the file exists "
                                         "(DeX Studio did not close normally). Recover it?",
                                         QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                         QMessageBox.StandardButton.Yes)
                if r == QMessageBox.StandardButton.Yes:
                    doc = load_recovery(path)
        except DexStudioError as exc:
            self.show_error(exc)
            return False
        self._source_path = None  # type: ignore[assignment]
        self.session.set_document(doc)
        self._add_recent(str(path))
        return True

    def save(self) -> bool:
        if self.session.doc.path is None:
            return self.save_as()
        return self.save_to(self.session.doc.path)

    def save_as(self) -> bool:
        p, _ = QFileDialog.getSaveFileName(self, "Save project", "untitled.dexproj", PROJECT_FILTER)
        if not p:
            return False
        if not p.endswith(".dexproj"):
            p += ".dexproj"
        return self.save_to(Path(p))

    def save_to(self, path: Path) -> bool:
        from dexstudio.io.project_file import save_project

        try:
            save_project(self.session.doc, path)
        except DexStudioError as exc:
            self.show_error(exc)
            return False
        except OSError as exc:
            self.show_error(DexStudioError(f"cannot save to {path}: {exc.strerror}",
                                           "choose a folder you can write to (File > Save as)"))
            return False
        self.session.undo_stack.setClean()
        self.session._emit_dirty()
        self._update_title()
        self._add_recent(str(path))
        self._discard_untitled()
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def _add_recent(self, path: str) -> None:
        recent = [p for p in (self.settings.value("recent", []) or []) if p != path]
        recent.insert(0, path)
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.value("recent", []) or []
        if isinstance(recent, str):
            recent = [recent]
        for p in recent:
            a = self.recent_menu.addAction(p)
            a.setData(p)
            a.triggered.connect(self._open_recent)
        self.recent_menu.setEnabled(bool(recent))

    @Slot()
    def _open_recent(self) -> None:
        a = self.sender()
        if isinstance(a, QAction):
            self.open_project(a.data())

    @Slot()
    def _on_autosave_tick(self) -> None:
        if self._autosaver is None:
            return
        try:
            self._autosaver.tick()
        except DexStudioError as exc:
            self.statusBar().showMessage(f"Autosave failed: {exc.message}", 6000)

    def _offer_untitled_recovery(self) -> None:
        from dexstudio.io.project_file import has_recovery, load_recovery

        untitled = self._untitled_path()
        if self.session.doc.path is not None or not has_recovery(untitled):
            return
        r = QMessageBox.question(self, "DeX Studio", "DeX Studio did not close normally. "
                                 "Recover the unsaved project from the autosave?",
                                 QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                 QMessageBox.StandardButton.Yes)
        if r == QMessageBox.StandardButton.Yes:
            try:
                doc = load_recovery(untitled)
            except DexStudioError as exc:
                self.show_error(exc)
                return
            doc.path = None
            self.session.set_document(doc)
        else:
            self._discard_untitled()

    def _discard_untitled(self) -> None:
        from dexstudio.io.project_file import discard_recovery

        discard_recovery(self._untitled_path())

    def _discard_autosave(self) -> None:
        from dexstudio.io.project_file import discard_recovery

        if self.session.doc.path is not None:
            discard_recovery(self.session.doc.path)
        self._discard_untitled()

    # ================================================================== preferences / help
    def open_preferences(self) -> PreferencesDialog:
        """The Preferences dialog, non-blocking (window-modal ``open()``): OK applies."""
        dlg = PreferencesDialog(self.prefs, self)
        dlg.accepted.connect(self._on_prefs_accepted)
        self._prefs_dialog = dlg
        dlg.open()
        return dlg

    @Slot()
    def _on_prefs_accepted(self) -> None:
        dlg = self._prefs_dialog
        if dlg is not None:
            self.apply_preferences(dlg.value())

    def apply_preferences(self, prefs: Preferences) -> None:
        """Save the preferences; switching to the DeX animator checks its checkpoint
        first (a missing one is a clear error and the warp animator stays)."""
        from dexstudio.core.project import AnimatorKind

        if prefs.animator is AnimatorKind.DEX and prefs.animator != self.prefs.animator:
            if not self._switch_to_dex(prefs.checkpoint):
                prefs = replace(prefs, animator=AnimatorKind.WARP)
        old = self.prefs
        self.prefs = prefs
        prefs.save(self.settings)
        # live: a new render worker for device / threads / cache changes (frames cached on
        # disk stay and are found again), a new preview crop, a new autosave interval
        try:
            restarted = self.preview.reconfigure(self._worker_config())
        except DexStudioError as exc:  # the device is not available: keep the old one
            self.show_error(exc)
            self.prefs = prefs = replace(prefs, device=old.device)
            prefs.save(self.settings)
            restarted = self.preview.reconfigure(self._worker_config())
        if prefs.crop_size != old.crop_size:
            self._sync_preview_inputs()
        if prefs.autosave_s != old.autosave_s and self._autosaver is not None:
            from dexstudio.io.project_file import Autosaver

            self._autosaver = Autosaver(self.session.doc, float(prefs.autosave_s),
                                        fallback_path=self._untitled_path())
        self.device_label.setText(f"device: {self.preview.device}")
        self.statusBar().showMessage("Preferences applied" + (": render worker restarted" if restarted else ""),
                                     5000)

    def _switch_to_dex(self, checkpoint: str) -> bool:
        from dexstudio.render.dex.checkpoint import require_checkpoint

        try:
            folder = require_checkpoint(checkpoint or None)
        except DexStudioError as exc:
            self.show_error(exc)
            return False

        def factory(device: str) -> Animator:
            from dexstudio.render.dex.animator import DexAnimator

            return DexAnimator(folder, device=None if device in ("", "auto") else device)

        def load(progress, cancel):
            return factory("cpu")

        job = self.jobs.start("load-dex", load)
        self._track_job(job, "Loading the DeX checkpoint")
        job.setProperty("checkpoint", str(folder))
        self._dex_factory = factory
        job.succeeded.connect(self._on_dex_loaded)
        job.failed.connect(self.show_error)
        return True

    @Slot(object)
    def _on_dex_loaded(self, animator: object) -> None:
        self.preview.set_animator(self._dex_factory, animator)  # type: ignore[arg-type]
        self.statusBar().showMessage("Rendering with the DeX diffusion animator", 5000)

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
            elif suf in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
                self.open_source(p)
            elif suf:
                self.add_driving(p)

    # ================================================================== shutdown
    def closeEvent(self, ev: QCloseEvent) -> None:  # noqa: N802
        if not self._closing:
            if not self._confirm_discard():
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
        self.stop_playback()
        self._autosave_timer.stop()
        if not self.session.dirty:
            self._discard_autosave()
        self.jobs.shutdown()
        self.preview.close()
        if self._audio is not None:
            self._audio.stop()


__all__ = ["MainWindow", "ShortcutsDialog"]
