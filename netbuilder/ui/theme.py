"""Light and dark themes: a Fusion palette, a small stylesheet and the canvas colours.

``apply_theme(name)`` switches the whole application at once; panels that draw their own
colours (the code highlighter, error labels) follow the palette through ``PaletteChange``.
"""
from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from .settings import KEY_THEME, app_settings

THEMES = ("light", "dark")
DEFAULT_THEME = "light"

# Semantic colours; the palette and the stylesheet are both derived from these.
COLORS: dict[str, dict[str, str]] = {
    "light": {
        "window": "#f3f4f6", "text": "#1d2330", "base": "#ffffff", "alt_base": "#f6f7f9",
        "button": "#f3f4f6", "highlight": "#2f6fdf", "highlight_text": "#ffffff",
        "link": "#2563cf", "placeholder": "#8a93a3", "disabled": "#a0a6b1",
        "light": "#ffffff", "midlight": "#eceef1", "mid": "#c9ced6", "dark": "#a9b0bb",
        "shadow": "#7d8592", "border": "#d7dbe1", "check_border": "#9aa1ad",
        "title": "#e9ebef", "hover": "#e2e5ea",
        "pressed": "#d5d9e0", "tooltip": "#2b303b", "tooltip_text": "#f2f4f8",
        "error": "#c93a31", "error_text": "#ffffff", "warning": "#b7791f", "ok": "#23834f",
        "muted": "#667085",
        "code_keyword": "#8a3fb8", "code_string": "#23834f", "code_comment": "#8a93a3",
        "code_number": "#b45309", "code_def": "#1f5fbf", "code_builtin": "#0e7490",
        "code_self": "#b3261e", "code_decorator": "#8a6d00",
    },
    "dark": {
        "window": "#25272c", "text": "#dfe3ea", "base": "#1b1d21", "alt_base": "#212429",
        "button": "#2e3137", "highlight": "#3d7eea", "highlight_text": "#ffffff",
        "link": "#7aa8ff", "placeholder": "#7b8190", "disabled": "#676c77",
        "light": "#3c4048", "midlight": "#34373e", "mid": "#2a2d32", "dark": "#17191c",
        "shadow": "#0d0e10", "border": "#383b42", "check_border": "#767c88",
        "title": "#2c2f35", "hover": "#363a41",
        "pressed": "#40444c", "tooltip": "#eef0f4", "tooltip_text": "#1d2330",
        "error": "#ff6b61", "error_text": "#1b1d21", "warning": "#f0b44c", "ok": "#4cc98a",
        "muted": "#9aa1ae",
        "code_keyword": "#c792ea", "code_string": "#a5d6a7", "code_comment": "#7b8190",
        "code_number": "#f5a97f", "code_def": "#82aaff", "code_builtin": "#7fdbca",
        "code_self": "#ff8a80", "code_decorator": "#e6c07b",
    },
}

# NOTE: the menu bar, menus, toolbar, status bar and tab bars are named here although the
# palette already colours them: a platform theme (GTK, a window manager's) may draw them from
# its own colours otherwise, leaving a light strip round a dark window.
_STYLESHEET = """
QMenuBar {{ background: {window}; color: {text}; border-bottom: 1px solid {border}; }}
QMenuBar::item {{ background: transparent; padding: 4px 8px; }}
QMenuBar::item:selected {{ background: {hover}; }}
QMenu {{ background: {base}; color: {text}; border: 1px solid {border}; }}
QMenu::item:selected {{ background: {highlight}; color: {highlight_text}; }}
QMenu::item:disabled {{ color: {disabled}; }}
QMenu::separator {{ height: 1px; background: {border}; margin: 4px 8px; }}
QToolBar {{ background: {window}; }}
QStatusBar {{ background: {window}; color: {text}; }}
QTabBar {{ background: {window}; }}
QDockWidget {{ color: {text}; }}
QMainWindow::separator {{ background: {border}; width: 1px; height: 1px; }}
QDockWidget {{ titlebar-close-icon: none; }}
QDockWidget::title {{
    background: {title}; padding: 5px 8px; border-bottom: 1px solid {border};
}}
QToolBar {{ border: none; border-bottom: 1px solid {border}; spacing: 2px; padding: 3px 6px; }}
QToolBar::separator {{ background: {border}; width: 1px; margin: 5px 6px; }}
QToolButton {{ border: 1px solid transparent; border-radius: 5px; padding: 3px; }}
QToolButton:hover {{ background: {hover}; border-color: {border}; }}
QToolButton:pressed, QToolButton:checked {{ background: {pressed}; }}
QStatusBar {{ border-top: 1px solid {border}; }}
QStatusBar::item {{ border: none; }}
QStatusBar QLabel#status_totals {{ color: {muted}; padding: 0 8px; }}
QToolTip {{
    background: {tooltip}; color: {tooltip_text}; border: 1px solid {border}; padding: 4px 6px;
}}
QCheckBox::indicator {{
    width: 14px; height: 14px; border: 1px solid {check_border}; border-radius: 3px;
    background: {base};
}}
QCheckBox::indicator:hover {{ border-color: {highlight}; }}
QCheckBox::indicator:checked {{
    background: {highlight}; border-color: {highlight}; image: url("{checkmark}");
}}
QCheckBox::indicator:disabled {{ border-color: {border}; background: {window}; }}
QLabel[role="field-error"] {{ color: {error}; }}
QLabel[role="muted"] {{ color: {muted}; }}
QLabel[role="heading"] {{ font-weight: 600; }}
QFrame#code_banner {{ background: {error}; }}
QFrame#code_banner QLabel {{ color: {error_text}; }}
QTabBar::tab {{
    padding: 5px 12px; border: 1px solid transparent; border-bottom: none;
    background: transparent; color: {muted};
}}
QTabBar::tab:selected {{ background: {base}; color: {text}; border-color: {border}; }}
QTabBar::tab:hover:!selected {{ color: {text}; }}
"""

_current = DEFAULT_THEME


def colors(name: str | None = None) -> dict[str, str]:
    """The semantic colours of a theme (the current one by default)."""
    return COLORS[name or _current]


def current_theme() -> str:
    return _current


def make_palette(name: str) -> QPalette:
    c = COLORS[name]
    p = QPalette()
    role = QPalette.ColorRole
    pairs = {
        role.Window: c["window"], role.WindowText: c["text"], role.Base: c["base"],
        role.AlternateBase: c["alt_base"], role.ToolTipBase: c["tooltip"],
        role.ToolTipText: c["tooltip_text"], role.PlaceholderText: c["placeholder"],
        role.Text: c["text"], role.Button: c["button"], role.ButtonText: c["text"],
        role.BrightText: "#ffffff", role.Light: c["light"], role.Midlight: c["midlight"],
        role.Mid: c["mid"], role.Dark: c["dark"], role.Shadow: c["shadow"],
        role.Highlight: c["highlight"], role.HighlightedText: c["highlight_text"],
        role.Link: c["link"], role.LinkVisited: c["link"],
    }
    for r, value in pairs.items():
        p.setColor(r, QColor(value))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(disabled, r, QColor(c["disabled"]))
    p.setColor(disabled, role.Highlight, QColor(c["mid"]))
    return p


def stylesheet(name: str) -> str:
    return _STYLESHEET.format(**COLORS[name], checkmark=_icon_path("checkmark"))


def _icon_path(name: str) -> str:
    """A file path for an icon that a stylesheet can load (forward slashes on every OS)."""
    from importlib import resources

    path = resources.files("netbuilder.resources").joinpath("icons").joinpath(f"{name}.svg")
    return str(path).replace("\\", "/")


def apply_theme(name: str, save: bool = True) -> str:
    """Switch the application (and the canvas) to ``name``; remember it unless ``save`` is off."""
    global _current
    if name not in THEMES:
        name = DEFAULT_THEME
    _current = name
    app = QApplication.instance()
    if app is not None:
        app.setPalette(make_palette(name))
        app.setStyleSheet(stylesheet(name))
    _apply_canvas(name)
    if save:
        app_settings().setValue(KEY_THEME, name)
    return name


def saved_theme() -> str:
    value = app_settings().value(KEY_THEME, DEFAULT_THEME)
    return value if value in THEMES else DEFAULT_THEME


def _apply_canvas(name: str) -> None:
    """Hand the canvas its colours (the canvas module owns the light/dark dictionaries)."""
    try:
        from .canvas import style
    except ImportError:  # the canvas is optional for headless panel use
        return
    setter = getattr(style, "set_canvas_palette", None)
    palette = (getattr(style, "PALETTES", {}).get(name)
               or getattr(style, name.upper(), None))
    if setter is not None and palette is not None:
        setter(palette)
