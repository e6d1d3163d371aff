"""How a result shows itself (``print()``, rich, Jupyter) without importing the renderers.

Records live on the floors below the presentation floor, so they cannot import a renderer.
Instead a record class inherits ``Shown``, whose display methods ask ``shown`` for the renderer
that ``convcalc.present.reprs`` registered for the record's type and form. The package's
``__init__`` imports that module, so the registrations are made before any record exists.
A renderer is registered under the record's dotted name, so that registering one does not
import the record's module (the variants, the summaries and numpy's verify stay unimported
until used).
"""

from collections.abc import Callable
from typing import Any

# (record's dotted class name, form) -> renderer; forms: "text" (str), "rich" (a rich
# renderable), "markdown" and "html" (Jupyter's _repr_markdown_ / _repr_html_), "dict" (a
# JSON-ready dict) and "records" (a list of flat dicts, one per row, for pandas).
RENDERERS: dict[tuple[str, str], Callable[[Any], Any]] = {}


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register(record: type | str, form: str) -> Callable[[Callable[[Any], Any]],
                                                        Callable[[Any], Any]]:
    """A decorator that makes the function the renderer of ``record`` instances in ``form``;
    ``record`` is the class or its dotted name ('convcalc.analysis.variants.Sweep')."""
    key = record if isinstance(record, str) else _name(record)

    def add(renderer: Callable[[Any], Any]) -> Callable[[Any], Any]:
        RENDERERS[key, form] = renderer
        return renderer
    return add


def renderer_of(record: object, form: str) -> Callable[[Any], Any] | None:
    """The renderer registered for ``record``'s class (or a base) in ``form``, if any."""
    for cls in type(record).__mro__:
        renderer = RENDERERS.get((_name(cls), form))
        if renderer is not None:
            return renderer
    return None


def shown(record: object, form: str) -> Any:
    """``record`` rendered in ``form`` by the renderer registered for its class (or a base)."""
    renderer = renderer_of(record, form)
    if renderer is None:
        raise TypeError(f"no {form} renderer is registered for {type(record).__name__}")
    return renderer(record)


class Shown:
    """A record that prints, and shows in rich and Jupyter, through the registered renderers."""

    def __str__(self) -> str:
        return str(shown(self, "text"))

    def __rich__(self) -> Any:
        return shown(self, "rich")

    def _repr_markdown_(self) -> str | None:
        # None (Jupyter then uses the HTML) for a record without a Markdown form.
        renderer = renderer_of(self, "markdown")
        return None if renderer is None else str(renderer(self))

    def _repr_html_(self) -> str:
        return str(shown(self, "html"))

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (numbers, strings, lists, dicts, None), ready for
        ``json.dumps``: the same document as the command's ``--format json``."""
        data: dict[str, Any] = shown(self, "dict")
        return data

    def records(self) -> list[dict[str, Any]]:
        """The result as a list of flat rows (one dict per table row), for
        ``pandas.DataFrame(result.records())``."""
        rows: list[dict[str, Any]] = shown(self, "records")
        return rows
