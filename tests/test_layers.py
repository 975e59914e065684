"""The house follows the data flow: no import in ``velib_replay/`` runs upward, and no import circle.

The floors, lowest first, are defined once in ``FLOORS``: a module may import its own package and any
floor below its own, never a floor above nor another package of its own floor. Imports inside
``if TYPE_CHECKING:`` blocks and inside functions count too: a circle hidden in a function is still a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "velib_replay"

FLOORS: tuple[tuple[str, ...], ...] = (
    ("velib_replay", "errors"),  # the package's version, and the one error the CLI turns into an exit
    ("contracts", "units", "config", "signals"),  # what every stage shares: messages, syntaxes, defaults, stopping
    ("kafka", "recording"),  # the transport and the storage
    ("capture", "replay", "simulate"),  # polls in (API → recording, or straight to Kafka), recordings out to Kafka
    ("job",),  # the Spark job: station messages in, indicators out
    ("verify",),  # the referee of what the job wrote
    ("observe", "report"),  # watching the running stages, and reporting on what they wrote
    ("robustness",),  # a user's job under faults: replays, runs and verdicts (the plugin's fixture uses it)
    ("dashboard", "pipeline", "scenario", "testing"),  # whole pipelines: assembled from every stage below
    ("cli",),  # the thin layer over all of it
    ("__main__",),  # ``python -m velib_replay``
)


def room(module: str) -> str:
    """The room (top-level package or module under ``velib_replay``) a module lives in."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def floor(module: str) -> int:
    name = room(module)
    for level, rooms in enumerate(FLOORS):
        if name in rooms:
            return level
    raise AssertionError(f"{module}: its room {name!r} is on no floor; add it to FLOORS")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    relative = Path(*name.split(".")[1:]) if "." in name else Path()
    return (PACKAGE / relative).with_suffix(".py").is_file() or (PACKAGE / relative / "__init__.py").is_file()


def imports(path: Path) -> set[str]:
    """The ``velib_replay`` modules a file imports, wherever the import statement stands."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "velib_replay"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != "velib_replay":
                continue
            for alias in node.names:  # ``from velib_replay import config`` imports the module velib_replay.config
                found.add(f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base)
    return found - {module}


def import_graph() -> dict[str, set[str]]:
    return {module_name(path): imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


def upward(graph: dict[str, set[str]]) -> list[str]:
    """Every import that is not to the module's own room nor to a lower floor."""
    return [
        f"{source} → {target}"
        for source, targets in sorted(graph.items())
        for target in sorted(targets)
        if room(target) != room(source) and floor(target) >= floor(source)
    ]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected component of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_room_is_on_a_floor():
    for module in import_graph():
        floor(module)


def test_no_import_runs_upward():
    assert upward(import_graph()) == []


def test_no_import_circle():
    assert cycles(import_graph()) == []


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("velib_replay.contracts.feed", "velib_replay.recording"),  # the ground floor importing a stage
        ("velib_replay.job.runner", "velib_replay.observe.metrics"),  # the job importing its watcher
        ("velib_replay.capture.live", "velib_replay.replay.player"),  # a room of the same floor
    ],
)
def test_an_upward_import_is_caught(source, target):
    graph = import_graph()
    graph[source] = graph[source] | {target}
    assert upward(graph) == [f"{source} → {target}"]


def test_a_circle_is_caught():
    graph = import_graph()
    graph["velib_replay.kafka.topics"] = graph["velib_replay.kafka.topics"] | {"velib_replay.kafka.broker"}
    graph["velib_replay.kafka.broker"] = graph["velib_replay.kafka.broker"] | {"velib_replay.kafka.topics"}
    assert ["velib_replay.kafka.broker", "velib_replay.kafka.topics"] in cycles(graph)
