"""The house rules of ``architecture.md`` that a reading of the source can prove.

Each app owns its tables: another app asks its services to write, lock or delete them. A module
keeps its ``_private`` names to itself: what another module needs is public under its own name.
Both are read from the source (the syntax tree), so a rule broken in a branch no test runs
still fails here. And no two modules import each other, directly or through others: the import
graph (``grimp``, imports inside function bodies included) has no circle.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from functools import cache
from pathlib import Path

import grimp
import pytest
from django.apps import apps

from csplatform.enqueue import task_named
from csplatform.erasure import app_linked_tables, customer_linked_tables
from orders.models import Customer

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
    "demo",
)
# The demo seeder writes every app's rows in bulk (COPY) on purpose, from the engine's pure
# rules; the seeding tests prove what it writes. Every other rule holds for it too.
BULK_WRITERS = frozenset({"demo"})
# Calls that write, lock or delete the rows of the model they are made on.
WRITES = frozenset({"update", "save", "delete", "select_for_update", "bulk_update"})
# Circles in the import graph that are allowed, each with its reason: none.
ALLOWED_CIRCLES: dict[frozenset[str], str] = {}


def _excluded(path: Path) -> bool:
    """Migrations replay history."""
    return "migrations" in path.parts


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


@pytest.mark.parametrize(
    ("app", "path"),
    [(app, path) for app, path in MODULES if app not in BULK_WRITERS],
    ids=[i for (app, _path), i in zip(MODULES, IDS, strict=True) if app not in BULK_WRITERS],
)
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


def _circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The groups of modules that reach each other through their imports (the strongly
    connected components of more than one module, or a module importing itself), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, imported = work[-1]
            for other in imported:
                if other not in index:
                    index[other] = low[other] = len(index)
                    stack.append(other)
                    on_stack.add(other)
                    work.append(
                        (other, iter(sorted(graph.find_modules_directly_imported_by(other))))
                    )
                    break
                if other in on_stack:
                    low[module] = min(low[module], index[other])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
                if low[module] == index[module]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == module:
                            break
                    if len(group) > 1 or graph.direct_import_exists(
                        importer=module, imported=module
                    ):
                        found.append(sorted(group))
    return sorted(found)


def _circle_report(graph: grimp.ImportGraph, group: list[str]) -> str:
    members = set(group)
    lines = [
        f"  {importer}:{detail['line_number']} imports {imported}"
        for importer in group
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & members)
        for detail in graph.get_import_details(importer=importer, imported=imported)
    ]
    return "\n".join([" <-> ".join(group), *lines])


def test_the_circle_scan_sees_a_circle_through_a_function_body_import():
    graph = grimp.ImportGraph()
    for importer, imported in [
        ("app.services", "app.models"),
        ("app.tasks", "app.services"),
        ("app.services", "app.tasks"),  # inside a function body: an import all the same
        ("app.views", "app.tasks"),
        ("app.views", "app.views"),
    ]:
        graph.add_import(importer=importer, imported=imported)
    assert _circles(graph) == [["app.services", "app.tasks"], ["app.views"]]


def test_no_two_modules_import_each_other_directly_or_through_others():
    """A module that its own callee imports is a circle with no floor order: the service that
    queues its task names it (``csplatform.enqueue``), a lower floor offers a signal or a
    registry. Imports inside function bodies count: hiding one there hides nothing."""
    graph = grimp.build_graph(*APPS, cache_dir=None)
    circles = [c for c in _circles(graph) if frozenset(c) not in ALLOWED_CIRCLES]
    assert circles == [], "\n\n".join(_circle_report(graph, c) for c in circles)
    assert all(len(reason) > 20 for reason in ALLOWED_CIRCLES.values())


QUEUERS = frozenset(
    {"enqueue", "enqueue_or_run", "enqueue_on_commit", "enqueue_or_run_on_commit", "task_named"}
)


def _task_names(source: str, where: str) -> list[tuple[str, str]]:
    """The task names queued by name: ``enqueue_on_commit("app.tasks.x_task", ...)``."""
    return [
        (f"{where}:{node.lineno}", node.args[0].value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in QUEUERS
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]


def test_every_task_queued_by_name_is_a_registered_task():
    named = [
        found
        for _app, path in MODULES
        for found in _task_names(_read(path), path.relative_to(ROOT).as_posix())
    ]
    assert len(named) >= 8  # the scan reads them
    for where, name in named:
        assert task_named(name).name == name, where


def test_each_app_erases_its_own_rows_of_a_customer_and_no_table_escapes():
    """An erasure reaches every table with a path of foreign keys to the customer, through the
    app that owns it, in the order of the models (the order its rows are locked)."""
    every_table = tuple(
        table
        for config in apps.get_app_configs()
        for table in app_linked_tables(config.label, Customer)
    )

    assert customer_linked_tables(Customer) == every_table
    assert {"orders.Order", "tickets.Attachment", "privacy.PiiAccessLog"} <= {
        table.label for table in every_table
    }
