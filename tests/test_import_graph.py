"""The import graph of ``extractly`` has no cycle, and no private name crosses a module boundary.

In the spirit of httpx's ``test_exported_members``: a plain AST walk; nothing is imported. Every
import counts wherever it sits: at module level, inside a function, or under
``if TYPE_CHECKING:``. Relative imports are resolved to module names, and ``from pkg import x``
points at ``pkg.x`` when ``x`` is a submodule, otherwise at ``pkg`` (its ``__init__``), so a
module that imports a sibling with ``from . import sibling`` depends on the sibling, not on the
package. A package's ``__init__`` is a module like any other.

Private means one leading underscore; dunder names (``__version__``) are public. Checked in
every first-party tree (the package, tests, benchmarks, examples, schemas):
- ``from anywhere import _name``, including ``from . import _module``;
- ``alias._name`` where ``alias`` was bound by an import from a first-party module (``self._x``
  and ``cls._x`` are a class's own business and never count).
Importing a public name from a private module (``from ._api import extract``) is fine.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "extractly"
FIRST_PARTY = ("extractly", "benchmarks", "tests", "examples", "schemas")


@dataclass(frozen=True)
class Module:
    name: str  # dotted; a package's __init__ is named after the package
    path: str  # for messages
    tree: ast.Module
    is_package: bool

    @classmethod
    def parse(cls, name: str, source: str, is_package: bool = False) -> Module:
        path = name.replace(".", "/") + ("/__init__.py" if is_package else ".py")
        return cls(name, path, ast.parse(source, path), is_package)


@dataclass(frozen=True, order=True)
class Edge:
    source: str
    target: str
    line: int
    path: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source} -> {self.target}"


def modules_under(folder: str) -> list[Module]:
    modules = []
    for file in sorted((ROOT / folder).rglob("*.py")):
        parts = list(file.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules.append(Module.parse(name, file.read_text(encoding="utf-8"), is_package))
    return modules


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def absolute(module: Module, node: ast.ImportFrom) -> str:
    """The module ``from ... import`` reads from, with relative levels resolved."""
    if node.level == 0:
        return node.module or ""
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def most_specific(dotted: str, known: set[str]) -> str | None:
    """The longest prefix of ``dotted`` that is a known module (None: not ours)."""
    parts = dotted.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts) or None


def imports_of(module: Module, known: set[str]) -> Iterator[tuple[str, int]]:
    """(known module, line) for every import in ``module``, at any depth."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = absolute(module, node)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = most_specific(name, known)
            if target and target != module.name:
                yield target, node.lineno


def import_edges(modules: list[Module]) -> list[Edge]:
    known = {m.name for m in modules}
    return sorted(
        {Edge(m.name, t, line, m.path) for m in modules for t, line in imports_of(m, known)}
    )


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    return seen


def cycles(edges: list[Edge]) -> list[list[Edge]]:
    """The edges inside each strongly connected component of more than one module."""
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        graph[edge.source].add(edge.target)
    reach = {node: reachable(graph, node) for node in list(graph)}
    components: list[set[str]] = []
    for node in sorted(reach):
        component = {other for other in reach[node] if node in reach.get(other, ())}
        if len(component) > 1 and component not in components:
            components.append(component)
    return [[e for e in edges if {e.source, e.target} <= c] for c in components]


def first_party_names(module: Module) -> set[str]:
    """Names ``module`` binds by importing a first-party module, or a name from one."""
    names: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            tops = [(alias, alias.name.split(".")[0]) for alias in node.names]
            names |= {alias.asname or top for alias, top in tops if top in FIRST_PARTY}
        elif isinstance(node, ast.ImportFrom) and (
            node.level or absolute(module, node).split(".")[0] in FIRST_PARTY
        ):
            names |= {alias.asname or alias.name for alias in node.names}
    return names - {"self", "cls"}


def root_name(node: ast.expr) -> str | None:
    """``a`` for ``a.b.c``; None when the chain does not start at a plain name."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def private_uses(module: Module) -> list[str]:
    """``path:line: what`` for each private name ``module`` takes from another module."""
    bound = first_party_names(module)
    found: list[tuple[int, str]] = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom):
            base = absolute(module, node)
            private = [alias.name for alias in node.names if is_private(alias.name)]
            found += [(node.lineno, f"imports {name} from {base}") for name in private]
        elif (
            isinstance(node, ast.Attribute)
            and is_private(node.attr)
            and root_name(node.value) in bound
        ):
            found.append((node.lineno, f"reads {ast.unparse(node)}"))
    return [f"{module.path}:{line}: {what}" for line, what in sorted(found)]


def test_the_package_has_no_import_cycle() -> None:
    found = cycles(import_edges(modules_under(PACKAGE)))
    report = [
        f"cycle through {', '.join(sorted({e.source for e in edges}))}:\n"
        + "\n".join(f"  {e}" for e in edges)
        for edges in found
    ]
    assert not found, f"{len(found)} import cycle(s):\n" + "\n".join(report)


def test_no_private_name_crosses_a_module_boundary() -> None:
    found = [f for folder in FIRST_PARTY for m in modules_under(folder) for f in private_uses(m)]
    assert not found, f"{len(found)} private name(s) used from another module:\n" + "\n".join(found)


# -- the checker itself, on made-up modules ---------------------------------------------------


def test_checker_finds_a_cycle_through_a_function_level_import() -> None:
    modules = [
        Module.parse("pkg", "", is_package=True),
        Module.parse("pkg.a", "from .b import f\n"),
        Module.parse("pkg.b", "import os\n\n\ndef f():\n    from pkg.a import g\n"),
        Module.parse("pkg.c", "from pkg import a\n"),
    ]
    [component] = cycles(import_edges(modules))
    assert [str(e) for e in component] == [
        "pkg/a.py:1: pkg.a -> pkg.b",
        "pkg/b.py:5: pkg.b -> pkg.a",
    ]


def test_checker_resolves_sibling_and_parent_imports_to_modules() -> None:
    type_checking_only = "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import pkg\n"
    modules = [
        Module.parse("pkg", "from .a import thing\nfrom . import sub\n", is_package=True),
        Module.parse("pkg.a", "from . import b\nfrom ..pkg.sub import x\n"),
        Module.parse("pkg.b", type_checking_only),
        Module.parse("pkg.sub", "from .. import b, helper\n", is_package=True),
        Module.parse("pkg.sub.x", "import pkg.sub.x\nfrom pkg.sub import y\n"),
    ]
    assert [(e.source, e.target) for e in import_edges(modules)] == [
        ("pkg", "pkg.a"),
        ("pkg", "pkg.sub"),
        ("pkg.a", "pkg.b"),
        ("pkg.a", "pkg.sub.x"),
        ("pkg.b", "pkg"),  # only under TYPE_CHECKING, and still a cycle pkg -> a -> b -> pkg
        ("pkg.sub", "pkg"),  # `helper` is not a module: it comes from pkg/__init__.py
        ("pkg.sub", "pkg.b"),
        ("pkg.sub.x", "pkg.sub"),
    ]


def test_checker_flags_private_imports_and_reads_but_not_self_or_dunders() -> None:
    source = """\
import datetime as _dt
import numpy as np
import extractly
from extractly import __version__, _api
from .x import _y, public as _alias
from . import _sibling


class C:
    def m(self, cls):
        return self._x, cls._x, np._y, _api._cache, extractly.tune.train._accumulate, _dt.UTC
"""
    assert private_uses(Module.parse("tests.test_z", source)) == [
        "tests/test_z.py:4: imports _api from extractly",
        "tests/test_z.py:5: imports _y from tests.x",
        "tests/test_z.py:6: imports _sibling from tests",
        "tests/test_z.py:11: reads _api._cache",
        "tests/test_z.py:11: reads extractly.tune.train._accumulate",
    ]
