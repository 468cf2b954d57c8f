"""The welcome page: what the window shows when no file is open (and on File ▸ Welcome).

Left, the ways in: a new blank graph, Open…, the recent files, help. Right, the example gallery:
a card per example in ``netbuilder/resources/examples`` with a thumbnail of its graph drawn by
the canvas itself (``thumbnails``) and one line on what it teaches. Clicking a card opens the
example as an untitled copy.

``WelcomeController(window)`` adds File ▸ Welcome and swaps the central area between the page
and the canvas. The page is built the first time it is shown: a window opened on a file pays
nothing for it.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..errors import NetbuilderError
from . import icons, theme
from .files import list_examples
from .thumbnails import thumbnail
from .welcome_widgets import (
    THUMB_SIZE,
    ActionRow,
    CardGrid,
    ExampleCard,
    RecentRow,
    stylesheet,
)

MAX_RECENT_SHOWN = 8

# Kinds of example, in teaching order; an example is of the first kind with a keyword in its
# file name, and within a kind keywords order the cards (then titles). The colour is the canvas
# category colour of the layers that kind is about.
KINDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Basics", "Dense", ("perceptron", "mlp", "lenet", "cnn", "convnet")),
    ("Vision", "Convolution", ("resnet", "inception", "vgg", "unet", "mobilenet")),
    ("Generative", "Generative", ("autoencoder", "vae", "gan", "rbm", "dbn", "diffusion")),
    ("Sequences", "Recurrent", ("lstm", "gru", "rnn", "transformer", "attention")),
)
OTHER_KIND = "More"

ACRONYMS = {"mlp": "MLP", "cnn": "CNN", "rnn": "RNN", "birnn": "BiRNN", "lstm": "LSTM",
            "gru": "GRU", "vae": "VAE", "gan": "GAN", "dcgan": "DCGAN", "rbm": "RBM",
            "dbn": "DBN", "resnet": "ResNet", "lenet5": "LeNet-5", "mnist": "MNIST"}


def kind_of(stem: str) -> tuple[int, int]:
    """``(kind index, keyword index)`` of an example file name (len(KINDS) for others)."""
    for k, (_name, _category, words) in enumerate(KINDS):
        for w, word in enumerate(words):
            if word in stem.lower():
                return k, w
    return len(KINDS), 0


def card_text(stem: str, title: str, description: str) -> tuple[str, str]:
    """``(title, line)`` for a card. An example without its own title takes the lead-in of
    its description ("An Inception block: …" → "Inception block"), else its file name."""
    lead, colon, rest = description.partition(":")
    has_lead = bool(colon) and len(lead) <= 40 and bool(rest.strip())
    if title == stem.replace("_", " ").replace("-", " "):  # no meta.title: list_examples' guess
        if has_lead:
            words = lead.split()
            title = " ".join(words[1:] if words[0].lower() in ("a", "an", "the") else words)
        else:
            title = " ".join(ACRONYMS.get(w, w) for w in stem.replace("-", "_").split("_"))
        title = title[:1].upper() + title[1:]
    line = rest.strip() if has_lead else description.strip()
    return title, line[:1].upper() + line[1:]


def gallery() -> list[tuple[str, Path, str, str]]:
    """``[(kind, path, title, line), …]`` of the installed examples, in teaching order."""
    rows = []
    names = [name for name, _c, _w in KINDS] + [OTHER_KIND]
    for path, title, description in list_examples():
        k, w = kind_of(path.stem)
        shown_title, line = card_text(path.stem, title, description)
        rows.append(((k, w, shown_title.lower()), names[k], path, shown_title, line))
    return [row[1:] for row in sorted(rows, key=lambda r: r[0])]


def kind_colour(kind: str) -> str:
    from .canvas.style import CATEGORY_COLOURS, DEFAULT_CATEGORY_COLOUR

    category = next((c for name, c, _w in KINDS if name == kind), None)
    return CATEGORY_COLOURS.get(category, DEFAULT_CATEGORY_COLOUR)


class WelcomePage(QWidget):
    """The start page. It knows nothing of documents: it asks through its signals."""

    new_requested = Signal()
    open_requested = Signal()
    file_chosen = Signal(str)  # an example or a recent file
    shortcuts_requested = Signal()
    about_requested = Signal()
    back_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome_page")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.cards: dict[str, ExampleCard] = {}
        self.recent_rows: list[RecentRow] = []
        self._pending: list[ExampleCard] = []
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._render_next)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._build_side())
        layout.addWidget(self._build_gallery(), 1)
        self.restyle()

    # --- construction -------------------------------------------------------------------------

    def _build_side(self) -> QWidget:
        side = QFrame(objectName="welcome_side")
        side.setFixedWidth(320)
        logo = QLabel(objectName="welcome_logo")
        logo.setPixmap(icons.app_icon().pixmap(44, 44))
        name = QLabel("netbuilder", objectName="welcome_title")
        version = QLabel(f"Version {__version__}", objectName="welcome_version")
        version.setProperty("role", "muted")
        head_text = QVBoxLayout()
        head_text.setSpacing(0)
        head_text.addWidget(name)
        head_text.addWidget(version)
        head = QHBoxLayout()
        head.setSpacing(12)
        head.addWidget(logo)
        head.addLayout(head_text, 1)
        tagline = QLabel("Design neural networks by drawing them. The drawing compiles to "
                         "PyTorch, trains live and exports clean code.",
                         objectName="welcome_tagline")
        tagline.setWordWrap(True)
        tagline.setProperty("role", "muted")

        self.new_row = ActionRow("welcome_new", "New blank graph", _keys("Ctrl+N"))
        self.new_row.setToolTip("Start an empty graph and drag layers onto it")
        self.open_row = ActionRow("welcome_open", "Open…", _keys("Ctrl+O"))
        self.open_row.setToolTip("Open a graph file (.json)")
        self.new_row.clicked.connect(self.new_requested)
        self.open_row.clicked.connect(self.open_requested)
        self.recent_box = QVBoxLayout()
        self.recent_box.setSpacing(1)
        self.no_recent = QLabel("Graphs you open or save will be listed here.",
                                objectName="welcome_no_recent")
        self.no_recent.setWordWrap(True)
        self.no_recent.setProperty("role", "muted")
        self.shortcuts_row = ActionRow("welcome_shortcuts", "Keyboard shortcuts", "?")
        self.shortcuts_row.clicked.connect(self.shortcuts_requested)
        self.about_row = ActionRow("welcome_about", "About netbuilder")
        self.about_row.clicked.connect(self.about_requested)

        box = QVBoxLayout(side)
        box.setContentsMargins(22, 28, 22, 22)
        box.setSpacing(0)
        box.addLayout(head)
        box.addSpacing(14)
        box.addWidget(tagline)
        box.addSpacing(26)
        box.addWidget(_heading("Start"))
        box.addWidget(self.new_row)
        box.addWidget(self.open_row)
        box.addSpacing(22)
        box.addWidget(_heading("Recent"))
        box.addLayout(self.recent_box)
        box.addWidget(self.no_recent)
        box.addStretch(1)
        box.addWidget(_heading("Help"))
        box.addWidget(self.shortcuts_row)
        box.addWidget(self.about_row)
        return side

    def _build_gallery(self) -> QWidget:
        scroll = QScrollArea(objectName="welcome_scroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        content = QWidget(objectName="welcome_content")
        box = QVBoxLayout(content)
        box.setContentsMargins(44, 30, 36, 36)
        box.setSpacing(0)
        self.back_row = ActionRow("welcome_back", "Back to the graph", "Esc")
        self.back_row.clicked.connect(self.back_requested)
        self.back_row.setVisible(False)
        back_line = QHBoxLayout()
        back_line.addWidget(self.back_row)
        back_line.addStretch(1)
        box.addLayout(back_line)
        title = QLabel("Examples", objectName="welcome_gallery_title")
        subtitle = QLabel("Each one is a complete network that compiles and trains. Open one "
                          "to see how it is built; it opens as an untitled copy, so Save "
                          "asks where to keep yours.", objectName="welcome_gallery_subtitle")
        subtitle.setWordWrap(True)
        subtitle.setProperty("role", "muted")
        box.addWidget(title)
        box.addSpacing(4)
        box.addWidget(subtitle)
        self.grid = CardGrid()
        self.grid.setObjectName("welcome_grid")
        for kind, path, title_text, line in gallery():
            card = ExampleCard(path, title_text, line, kind, kind_colour(kind))
            card.clicked.connect(lambda p=path: self.file_chosen.emit(str(p)))
            self.cards[path.stem] = card
            self.grid.add_card(card)
        kinds = list(dict.fromkeys(card.kind for card in self.grid.cards))
        self.filters = QButtonGroup(self)
        self.filters.setExclusive(True)
        chips = QHBoxLayout()
        chips.setSpacing(6)
        for kind in ["All", *kinds] if len(kinds) > 1 else []:
            chip = QPushButton(kind, objectName=f"welcome_filter_{kind.lower()}")
            chip.setProperty("role", "filter-chip")
            chip.setCheckable(True)
            chip.setChecked(kind == "All")
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.setToolTip("Every example" if kind == "All" else f"{kind} examples only")
            chip.clicked.connect(lambda _=False, k=kind: self.set_filter(None if k == "All"
                                                                          else k))
            self.filters.addButton(chip)
            chips.addWidget(chip)
        chips.addStretch(1)
        box.addSpacing(22)
        box.addLayout(chips)
        box.addSpacing(16)
        box.addWidget(self.grid)
        if not self.cards:
            box.addSpacing(20)
            none = QLabel("No examples are installed.", objectName="welcome_no_examples")
            none.setProperty("role", "muted")
            box.addWidget(none)
        box.addStretch(1)
        scroll.setWidget(content)
        self.scroll = scroll
        return scroll

    # --- content ------------------------------------------------------------------------------

    def set_recent(self, paths: list[str]) -> None:
        """List ``paths`` (most recent first); files that no longer exist are left out."""
        for row in self.recent_rows:
            self.recent_box.removeWidget(row)
            row.deleteLater()
        self.recent_rows = []
        shown = [p for p in paths if Path(p).is_file()][:MAX_RECENT_SHOWN]
        for i, path in enumerate(shown):
            row = RecentRow(f"welcome_recent_{i}", path)
            row.clicked.connect(lambda p=path: self.file_chosen.emit(p))
            self.recent_box.addWidget(row)
            self.recent_rows.append(row)
        self.no_recent.setVisible(not shown)

    def set_filter(self, kind: str | None) -> None:
        """Show only the examples of ``kind`` ("Vision", "Generative", …; None: all)."""
        self.grid.set_filter(kind)
        for button in self.filters.buttons():
            button.setChecked(button.text() == (kind or "All"))

    def set_back_visible(self, visible: bool, name: str = "") -> None:
        self.back_row.text_label.setText(f"Back to {name}" if name else "Back to the graph")
        self.back_row.setVisible(visible)

    # --- thumbnails ---------------------------------------------------------------------------

    def load_thumbnails(self) -> None:
        """Queue every card's thumbnail: one per event-loop turn, so the page shows at once."""
        self._pending = list(self.cards.values())
        for card in self._pending:
            card.set_thumbnail(None)
        self._timer.start()

    def flush_thumbnails(self) -> None:
        """Render every pending thumbnail now (tests and screenshots)."""
        while self._pending:
            self._render_next()

    def thumbnails_done(self) -> bool:
        return not self._pending

    def hideEvent(self, event) -> None:
        self._timer.stop()  # resumed when shown again: no drawing for a page nobody sees
        super().hideEvent(event)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._pending:
            self._timer.start()

    def _render_next(self) -> None:
        if not self._pending:
            self._timer.stop()
            return
        card = self._pending.pop(0)
        ratio = max(1.0, self.devicePixelRatioF())
        try:
            card.set_thumbnail(thumbnail(card.path, THUMB_SIZE, theme.current_theme(), ratio))
        except (NetbuilderError, OSError) as exc:  # a broken example keeps its placeholder
            card.setToolTip(f"{card.toolTip()}<br><br>Cannot draw it: {exc}")
        if not self._pending:
            self._timer.stop()

    # --- look ---------------------------------------------------------------------------------

    def restyle(self) -> None:
        """Colours from the current theme (called again on a theme switch)."""
        self._styled_theme = theme.current_theme()
        self.setStyleSheet(stylesheet(theme.current_theme()))
        for row, name in ((self.new_row, "new"), (self.open_row, "open"),
                          (self.shortcuts_row, "keyboard"), (self.about_row, "about"),
                          (self.back_row, "undo")):
            row.set_icon(icons.icon(name, theme.colors()["link"]).pixmap(QSize(18, 18)))

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        # NOTE: our own style sheet changes the palette too: restyle only on a new theme.
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "back_row") and \
                theme.current_theme() != self._styled_theme:
            self.restyle()
            if self.isVisible():
                self.load_thumbnails()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and not self.back_row.isHidden():
            self.back_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)


def _keys(text: str) -> str:
    return QKeySequence(text).toString(QKeySequence.SequenceFormat.NativeText)


def _heading(text: str) -> QLabel:
    label = QLabel(text.upper())
    label.setProperty("role", "welcome-heading")
    return label


class WelcomeController(QObject):
    """Puts the welcome page in ``window``'s central area and takes it away again.

    NOTE: while the page shows, the docks and the status bar are hidden (a start page, not an
    empty editor); the dock layout is saved first and restored when the canvas comes back, and
    also just before the window saves its layout on close, so the next start finds its docks.
    """

    shown_changed = Signal(bool)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.page: WelcomePage | None = None
        self.stack: QStackedWidget | None = None
        self._dock_state = None
        self._arrange = None
        self.action = QAction("&Welcome", window)
        self.action.setObjectName("action_welcome")
        self.action.setToolTip("Show the welcome page: new graph, recent files, examples")
        self.action.setStatusTip(self.action.toolTip())
        self.action.triggered.connect(self.show)
        file_menu = getattr(window, "menus", {}).get("file")
        if file_menu is not None:
            first = file_menu.actions()[0] if file_menu.actions() else None
            file_menu.insertAction(first, self.action)
            file_menu.insertSeparator(first)
        window.document_changed.connect(lambda _doc: self.hide())
        window.installEventFilter(self)

    @property
    def showing(self) -> bool:
        return self.stack is not None and self.stack.currentWidget() is self.page

    def show(self) -> None:
        """Show the page (built on first use) in place of the canvas."""
        w = self.window
        if self.page is None:
            self._build()
        doc = w.document
        has_work = doc is not None and (doc.path is not None or bool(doc.graph.nodes()))
        if has_work:
            self.page.set_back_visible(True, doc.title().rstrip(" *"))
        else:
            self.page.set_back_visible(False)
        self.page.set_recent(w.files.recent_files())
        if not self.showing:
            self._dock_state = w.saveState()
            for dock in w.docks.values():
                dock.hide()
            w.statusBar().hide()
            self.stack.setCurrentWidget(self.page)
            self.page.load_thumbnails()
            self.shown_changed.emit(True)
        self.page.setFocus()

    def hide(self) -> None:
        """Back to the canvas, with the docks as they were."""
        if not self.showing:
            return
        self.stack.setCurrentWidget(self.window.canvas)
        self._restore_docks()
        self.window.canvas.setFocus()
        self.shown_changed.emit(False)

    def arrange_on_hide(self, arrange) -> None:
        """Bring the docks back with ``arrange()`` (View ▸ Reset Layout while the page shows)
        instead of as they were when the page came up."""
        self._arrange = arrange

    def _restore_docks(self) -> None:
        w = self.window
        if self._arrange is not None:
            arrange, self._arrange = self._arrange, None
            arrange()
        elif self._dock_state is not None:
            w.restoreState(self._dock_state)
        w.statusBar().show()

    def _build(self) -> None:
        w = self.window
        self.page = WelcomePage()
        self.stack = QStackedWidget(objectName="central_stack")
        canvas = w.takeCentralWidget()
        self.stack.addWidget(canvas)
        self.stack.addWidget(self.page)
        w.setCentralWidget(self.stack)
        if w.isVisible():  # a child added to a shown window would only show a turn later
            self.stack.show()
        f = w.files
        self.page.new_requested.connect(self._new)
        self.page.open_requested.connect(lambda: f.open_file())
        self.page.file_chosen.connect(f.open_file)
        self.page.back_requested.connect(self.hide)
        self.page.shortcuts_requested.connect(w.show_shortcuts)
        self.page.about_requested.connect(w.show_about)
        f.recent_changed.connect(lambda: self.page.set_recent(f.recent_files()))

    def _new(self) -> None:
        # New from the start page always leaves it, even onto a blank document that is
        # already open (New would then change nothing visible).
        if self.window.files.new_document():
            self.hide()

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window and event.type() == QEvent.Type.Close and self.showing:
            # The window saves its layout in closeEvent, which runs after this filter.
            self._restore_docks()
            QTimer.singleShot(0, self, self._rehide_if_still_open)
        return False

    def _rehide_if_still_open(self) -> None:
        """The close was cancelled (unsaved changes): the page is still up, so are the docks."""
        if self.showing and self.window.isVisible():
            for dock in self.window.docks.values():
                dock.hide()
            self.window.statusBar().hide()
