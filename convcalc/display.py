"""How a result shows itself (``print()``, rich, Jupyter) without importing the renderers.

Records live on the floors below the presentation floor, so they cannot import a renderer.
Instead a record class inherits ``Shown``, whose display methods ask ``shown`` for the renderer
that ``convcalc.present.reprs`` registered for the record's type and form. The package's
``__init__`` imports that module, so the registrations are made before any record exists.
"""

from collections.abc import Callable
from typing import Any

# (record type, form) -> renderer; forms: "text" (str), "rich" (a rich renderable),
# "markdown" and "html" (Jupyter's _repr_markdown_ / _repr_html_).
RENDERERS: dict[tuple[type, str], Callable[[Any], Any]] = {}


def register(record: type, form: str) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """A decorator that makes the function the renderer of ``record`` instances in ``form``."""
    def add(renderer: Callable[[Any], Any]) -> Callable[[Any], Any]:
        RENDERERS[record, form] = renderer
        return renderer
    return add


def shown(record: object, form: str) -> Any:
    """``record`` rendered in ``form`` by the renderer registered for its class (or a base)."""
    for cls in type(record).__mro__:
        renderer = RENDERERS.get((cls, form))
        if renderer is not None:
            return renderer(record)
    raise TypeError(f"no {form} renderer is registered for {type(record).__name__}")


class Shown:
    """A record that prints, and shows in rich and Jupyter, through the registered renderers."""

    def __str__(self) -> str:
        return str(shown(self, "text"))

    def __rich__(self) -> Any:
        return shown(self, "rich")

    def _repr_markdown_(self) -> str:
        return str(shown(self, "markdown"))

    def _repr_html_(self) -> str:
        return str(shown(self, "html"))
