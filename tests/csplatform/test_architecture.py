"""The house rules of ``architecture.md`` that a reading of the source can prove.

Each app owns its tables: another app asks its services to write, lock or delete them. A module
keeps its ``_private`` names to itself: what another module needs is public under its own name.
Both are read from the source (the syntax tree), so a rule broken in a branch no test runs
still fails here.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from functools import cache
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "csplatform",
    "orders",
    "tickets",
    "refunds",
    "complaints",
    "surveys",
    "privacy",
    "messaging",
    "kpis",
)
# Calls that write, lock or delete the rows of the model they are made on.
WRITES = frozenset({"update", "save", "delete", "select_for_update", "bulk_update"})


def _excluded(path: Path) -> bool:
    """Migrations replay history; demo seeding is being rewritten on the services."""
    return (
        "migrations" in path.parts
        or path.name == "demo.py"
        or path.as_posix().endswith("csplatform/management/commands/seed_demo.py")
    )


def _modules() -> list[tuple[str, Path]]:
    return [
        (app, path)
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if not _excluded(path.relative_to(ROOT))
    ]


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imported_from(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


@cache
def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@cache
def _model_owners() -> dict[str, frozenset[str]]:
    """Each model's class name → the apps that define a model of that name."""
    owners: dict[str, set[str]] = {}
    for model in apps.get_models():
        app = model.__module__.split(".")[0]
        if app in APPS:
            owners.setdefault(model.__name__, set()).add(app)
    return {name: frozenset(found) for name, found in owners.items()}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _root(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _foreign_writes(app: str, source: str, where: str) -> list[str]:
    """Writes made on another app's model: through its class (``Order.objects...update()``,
    a name bound to such a query or row) or on a row named after it (``ticket.save()``)."""
    owners = _model_owners()
    foreign_rows = {
        _snake(name): name for name, defined_in in owners.items() if app not in defined_in
    }
    tree = ast.parse(source)
    foreign: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            source = node.module.split(".")[0]
            for alias in node.names:
                defined_in = owners.get(alias.name, frozenset())
                if source != app and source in defined_in and app not in defined_in:
                    foreign[alias.asname or alias.name] = alias.name
    # A name bound to a query or row of such a model is one too (two passes: chains of them).
    for _ in range(2):
        for node in ast.walk(tree):
            targets, value = [], None
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.For | ast.comprehension):
                targets, value = [node.target], node.iter
            root = _root(value) if value is not None else None
            if isinstance(root, ast.Name) and root.id in foreign:
                for target in targets:
                    if isinstance(target, ast.Name):
                        foreign[target.id] = foreign[root.id]
    found = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in WRITES
        ):
            continue
        receiver = node.func.value
        root = _root(receiver)
        model = foreign.get(root.id) if isinstance(root, ast.Name) else None
        last = (
            receiver.attr
            if isinstance(receiver, ast.Attribute)
            else receiver.id
            if isinstance(receiver, ast.Name)
            else None
        )
        if model is None and node.func.attr in ("save", "delete") and last in foreign_rows:
            model = foreign_rows[last]
        if model is not None:
            found.append(f"{where}:{node.lineno}: .{node.func.attr}() on {model}")
    return found


def _private_reach(source: str, module: str, is_package: bool, where: str) -> list[str]:
    """``from x import _name`` and ``x._name`` on an imported module ``x``."""
    tree = ast.parse(source)
    modules: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            origin = _imported_from(module, is_package, node)
            for alias in node.names:
                if _is_private(alias.name):
                    found.append(f"{where}:{node.lineno}: from {origin} import {alias.name}")
                elif _is_module(f"{origin}.{alias.name}"):
                    modules.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and _is_private(node.attr)
        ):
            found.append(f"{where}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


MODULES = _modules()
IDS = [path.relative_to(ROOT).as_posix() for _app, path in MODULES]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_the_scan_reads_every_app():
    assert {app for app, _path in MODULES} == set(APPS)


def test_the_scan_sees_each_form_of_a_foreign_write():
    """The rule below proves something: it catches each form of a write it is meant to."""
    probe = (
        "from orders.models import Order\n"
        "from tickets.models import Ticket\n"
        "def f(request):\n"
        "    Order.objects.filter(pk=1).update(paid_amount=0)\n"
        "    locked = Ticket.objects.select_for_update()\n"
        "    locked.delete()\n"
        "    request.ticket.save()\n"
    )
    found = _foreign_writes("refunds", probe, "refunds/probe.py")
    assert found == [
        "refunds/probe.py:4: .update() on Order",
        "refunds/probe.py:5: .select_for_update() on Ticket",
        "refunds/probe.py:6: .delete() on Ticket",
        "refunds/probe.py:7: .save() on Ticket",
    ]


@pytest.mark.parametrize(("app", "path"), MODULES, ids=IDS)
def test_no_app_writes_locks_or_deletes_another_apps_rows(app, path):
    """Another app's rows change through that app's services (``orders.services``,
    ``orders.locks``, ``tickets.services``), which take their locks in the one order."""
    where = path.relative_to(ROOT).as_posix()
    assert _foreign_writes(app, _read(path), where) == []


def test_the_scan_sees_each_form_of_a_private_name_reached_into():
    probe = "from refunds import rules\nfrom .rules import _hidden\nrules._hidden\n"
    found = _private_reach(probe, "refunds.probe", False, "refunds/probe.py")
    assert found == [
        "refunds/probe.py:2: from refunds.rules import _hidden",
        "refunds/probe.py:3: rules._hidden",
    ]


@pytest.mark.parametrize(("app", "path"), MODULES, ids=IDS)
def test_no_module_reaches_into_another_modules_private_names(app, path):
    where = path.relative_to(ROOT).as_posix()
    module = _module_name(path)
    assert _private_reach(_read(path), module, path.name == "__init__.py", where) == []
