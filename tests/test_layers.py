"""The layers import only downwards: events < storage < projection < query < api < the composition root.

``events/`` is the pure domain: no service code, no SQLAlchemy, no Litestar. Each folder of ``service/``
may import the folders below it and never one above (ARCHITECTURE.md draws the map). Imports inside
functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# lowest first; the top-level modules of service/ (app, cli, compose, dataset) are the composition root
LAYERS = [
    "events",
    "service.settings",
    "service.storage",
    "service.projection",
    "service.query",
    "service.api",
]
ROOT_MODULES = "service"
FORBIDDEN_IN_DOMAIN = ("service", "sqlalchemy", "litestar", "alembic", "psycopg", "granian")


def layer_of(module: str) -> int:
    """The index of the layer a module belongs to; the composition root is above every layer."""
    for index in reversed(range(len(LAYERS))):
        name = LAYERS[index]
        if module == name or module.startswith(name + "."):
            return index
    if module == ROOT_MODULES or module.startswith(ROOT_MODULES + "."):
        return len(LAYERS)
    raise ValueError(module)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(module: str, source: str) -> list[tuple[int, str]]:
    """Every module the source of ``module`` imports, with the line, wherever the import statement stands
    (a name imported from a module counts as that module's, and may be a submodule)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:  # relative: resolve against the package
                base = module.rsplit(".", node.level)[0]
                name = f"{base}.{name}" if name else base
            found += [(node.lineno, name)] + [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return found


def upward_imports(module: str, source: str) -> list[str]:
    """The imports of ``module`` from a layer above its own."""
    own = layer_of(module)
    return [
        f"line {line}: {name}"
        for line, name in imports_of(module, source)
        if name.split(".")[0] in ("service", "events") and layer_of(name) > own
    ]


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_the_layer_map_knows_every_module() -> None:
    for path in sources("service") + sources("events"):
        layer_of(module_name(path))


@pytest.mark.parametrize("path", sources("events"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_imports_no_service_database_or_web_code(path: Path) -> None:
    for line, name in imports_of(module_name(path), path.read_text()):
        assert name.split(".")[0] not in FORBIDDEN_IN_DOMAIN, f"{path.name}:{line} imports {name}"


@pytest.mark.parametrize("path", sources("service"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_layer_imports_a_layer_above_it(path: Path) -> None:
    assert upward_imports(module_name(path), path.read_text()) == []


def test_the_check_sees_an_upward_import_even_inside_a_function() -> None:
    source = "from service.storage import tables\n\ndef f():\n    from service.api.views import EventView\n"
    assert upward_imports("service.storage.log", source) == [
        "line 4: service.api.views",
        "line 4: service.api.views.EventView",
    ]
    assert upward_imports("service.api.views", source) == []
    relative = "from ..query.axes import Axes\n"
    assert upward_imports("service.storage.log", relative) == [
        "line 1: service.query.axes",
        "line 1: service.query.axes.Axes",
    ]
