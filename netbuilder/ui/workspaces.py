"""Two arrangements of the docks: Design (palette, inspector, problems, summary, code) and
Training (the live views). View ▸ Workspace toggles them, a run starting brings Training
forward, View ▸ Reset Layout puts the current one back as it came, and each one's arrangement
is remembered across sessions (``QMainWindow.saveState``)."""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QObject, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from .settings import app_settings

WORKSPACES = ("design", "training")
# The docks each workspace shows; the others are hidden (View ▸ Panels still shows any).
SHOWN = {
    "design": ("palette", "inspector", "training", "problems", "summary", "code"),
    "training": ("training", "inspector", "curves", "feature_maps", "samples", "confusion",
                 "histograms", "try_it", "runs", "explain", "embedding", "style", "experiments"),
}
KEY_WORKSPACE = "window/workspace"


def _key(name: str) -> str:
    return f"window/state_{name}"


class Workspaces(QObject):
    """The window's workspaces; build it once every dock exists (their default arrangement is
    taken from the window as it is then)."""

    switched = Signal(str)

    def __init__(self, window, version: int) -> None:
        super().__init__(window)
        self.window = window
        self.version = version
        self.current = "design"
        self.states: dict[str, QByteArray] = {}
        self._initial = window.saveState(version)
        self.group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        for i, name in enumerate(WORKSPACES, start=1):
            a = QAction(f"&{name.title()} Workspace", window, checkable=True)
            a.setObjectName(f"action_workspace_{name}")
            a.setShortcut(QKeySequence(f"Ctrl+{i}"))
            a.setStatusTip(f"Arrange the panels for {name}")
            a.triggered.connect(lambda _=False, n=name: self.switch(n))
            self.group.addAction(a)
            window.addAction(a)
            self.actions[name] = a
        self.reset_action = QAction("&Reset Layout", window)
        self.reset_action.setObjectName("action_reset_layout")
        self.reset_action.setStatusTip("Put the panels of this workspace back as they came")
        self.reset_action.triggered.connect(self.reset)
        window.addAction(self.reset_action)
        self.actions["design"].setChecked(True)

    def add_to_menu(self, menu) -> None:
        menu.addSeparator()
        for a in self.actions.values():
            menu.addAction(a)
        menu.addAction(self.reset_action)

    def switch(self, name: str) -> None:
        """Show workspace ``name`` as it was last left (its default the first time)."""
        if name == self.current:
            self.actions[name].setChecked(True)
            return
        self.states[self.current] = self.window.saveState(self.version)
        self.current = name
        self.actions[name].setChecked(True)
        state = self.states.get(name)
        if state is None or not self.window.restoreState(state, self.version):
            self.apply_default()
        self.switched.emit(name)

    def apply_default(self) -> None:
        """The current workspace's panels in their first arrangement, sized to the window."""
        w = self.window
        w.restoreState(self._initial, self.version)
        shown = SHOWN[self.current]
        for name, dock in w.docks.items():
            dock.setVisible(name in shown)
        for name in shown:  # the front tab of each group: the first of the workspace's list
            if name in w.docks:
                w.docks[name].raise_()
        for name in (("inspector", "summary", "code") if self.current == "design"
                     else ("training", "curves", "feature_maps")):
            if name in w.docks:
                w.docks[name].raise_()
        # sizes hold once the layout has run
        QTimer.singleShot(0, w.default_dock_sizes if self.current == "design"
                          else self._size_training)

    def _size_training(self) -> None:
        dashboard = getattr(self.window, "training_dashboard", None)
        if dashboard is not None:
            dashboard.size_docks()

    def reset(self) -> None:
        self.states.pop(self.current, None)
        welcome = getattr(self.window, "welcome", None)
        if welcome is not None and welcome.showing:  # the docks stay hidden behind the page
            welcome.arrange_on_hide(self.apply_default)
            return
        self.apply_default()

    # --- settings ----------------------------------------------------------------------------

    def save(self) -> None:
        s = app_settings()
        s.setValue(KEY_WORKSPACE, self.current)
        for name in WORKSPACES:
            if name != self.current and name in self.states:
                s.setValue(_key(name), self.states[name])

    def load(self) -> None:
        """The other workspaces' saved arrangements (the window restores the current one)."""
        s = app_settings()
        name = s.value(KEY_WORKSPACE)
        if name in WORKSPACES:
            self.current = name
            self.actions[name].setChecked(True)
        for other in WORKSPACES:
            value = s.value(_key(other))
            if other != self.current and value is not None:
                self.states[other] = value
