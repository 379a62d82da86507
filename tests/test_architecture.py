"""ARCHITECTURE.md can be trusted: every file it names exists, and every `file:function` step names a
function or class that is in that file; the README's layout names every folder of service/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = (ROOT / "ARCHITECTURE.md").read_text()
# `service/storage/log.py:EventStore._append`, `storage/plan.py:prepare`, `events/folds.py`
REFERENCE = re.compile(r"`((?:service/|events/|tests/)?[a-z_/]+\.py)(?::([A-Za-z_][\w.]*))?`")


def resolve(path: str) -> Path:
    """The file a reference names: from the root, from service/, or (a module in the map's table, whose
    folder is the row's) in one folder of service/."""
    for candidate in (ROOT / path, ROOT / "service" / path, *(ROOT / "service").rglob(path)):
        if candidate.exists():
            return candidate
    raise AssertionError(f"ARCHITECTURE.md names {path}, which does not exist")


def defined_names(path: Path) -> set[str]:
    """Top-level names, and Class.method names, defined in a module."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            names |= {
                f"{node.name}.{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            }
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def test_every_file_and_function_it_names_exists() -> None:
    references = REFERENCE.findall(ARCHITECTURE)
    assert len(references) > 40  # the map, the paths and the guarantees all name code
    for path, name in references:
        module = resolve(path)
        if name:
            assert name in defined_names(module), f"ARCHITECTURE.md names {path}:{name}, not defined there"


def test_every_module_of_service_is_on_the_map() -> None:
    for module in (ROOT / "service").rglob("*.py"):
        if module.name in ("__init__.py", "__main__.py"):
            continue
        relative = module.relative_to(ROOT / "service")
        named = f"`{relative.name}`" in ARCHITECTURE or f"{relative}" in ARCHITECTURE
        in_folder = f"`{relative.parent.name}/`" in ARCHITECTURE and relative.parent.parent.name != ""
        assert named or in_folder, f"service/{relative} is not on the map"


def test_the_readme_layout_names_every_folder_of_service() -> None:
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    for folder in sorted(p for p in (ROOT / "service").iterdir() if p.is_dir() and p.name != "__pycache__"):
        assert f"service/{folder.name}/" in layout, (
            f"the README's layout does not name service/{folder.name}/"
        )
