"""The layer registry: every type registered once, looked up by type name."""
from __future__ import annotations

from ..errors import UnknownTypeError
from .spec import LayerSpec

_SPECS: dict[str, LayerSpec] = {}


def register(spec: LayerSpec) -> LayerSpec:
    """Add a spec; a duplicate type name is a programming error."""
    if spec.type in _SPECS:
        raise ValueError(f"layer type {spec.type!r} is registered twice")
    _SPECS[spec.type] = spec
    return spec


def get_spec(type_name: str) -> LayerSpec:
    """The spec of ``type_name``; the error lists close names so a typo is easy to fix."""
    try:
        return _SPECS[type_name]
    except KeyError:
        import difflib

        text = str(type_name).lower()
        lower = {t.lower(): t for t in _SPECS}
        close = [lower[c] for c in difflib.get_close_matches(text, list(lower), n=3)]
        # What people call it: "Dense" is a Linear.
        close = [s.type for s in _SPECS.values() if text in (a.lower() for a in s.aliases)
                 and s.type not in close] + close
        hint = (f" Did you mean {', '.join(repr(c) for c in close)}?" if close else
                f" Known types: {', '.join(sorted(_SPECS))}.")
        raise UnknownTypeError(f"Unknown layer type {type_name!r}.{hint}", field="type") from None


def all_specs() -> list[LayerSpec]:
    return list(_SPECS.values())


def search(text: str) -> list[LayerSpec]:
    """Specs whose name, aliases, category or doc match ``text``: exact names and aliases
    first, then prefixes, then other name matches, then matches in the doc only."""
    t = text.strip().lower()
    hits = [s for s in _SPECS.values() if s.matches(t)]

    def rank(s: LayerSpec) -> tuple:
        exact = s.type.lower() == t or t in (a.lower() for a in s.aliases)
        prefix = s.type.lower().startswith(t) or any(a.lower().startswith(t) for a in s.aliases)
        return (not exact, not prefix, not s.matches(t, docs=False), s.type)

    return sorted(hits, key=rank)


def categories() -> dict[str, list[LayerSpec]]:
    out: dict[str, list[LayerSpec]] = {}
    for s in _SPECS.values():
        out.setdefault(s.category, []).append(s)
    return out
