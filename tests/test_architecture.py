"""The package's import graph: one way down, no cycles, entry points never imported by the core.

Every import counts, lazy ones inside functions included; imports under
``if TYPE_CHECKING:`` do not (they never run).
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import llm_normalize

ROOT = Path(llm_normalize.__file__).parent
PACKAGE = "llm_normalize"

# The top layer: entry points and optional extras. Nothing below may import them.
ENTRY_POINTS = (
    "llm_normalize.cli",
    "llm_normalize.notebook",
    "llm_normalize.aws_lambda",
    "llm_normalize.quality",
    "llm_normalize.spark",
    "llm_normalize.__main__",
)
# The bottom layer: imports nothing else of the package (display reads types only).
LEAVES = (
    "llm_normalize.exceptions",
    "llm_normalize._names",
    "llm_normalize.records",
    "llm_normalize.messages",
    "llm_normalize.display",
)


def module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class _Imports(ast.NodeVisitor):
    def __init__(self, name: str, is_package: bool) -> None:
        self.name, self.is_package, self.found = name, is_package, set[str]()

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if getattr(test, "id", getattr(test, "attr", "")) == "TYPE_CHECKING":
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.update(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.name.split(".")[: None if self.is_package else -1]
            base = base[: len(base) - node.level + 1]
            module = ".".join([*base, *([node.module] if node.module else [])])
        else:
            module = node.module or ""
        self.found.add(module)
        self.found.update(f"{module}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        visitor = _Imports(name, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        edges = set()
        for target in visitor.found:
            while target and target not in paths:
                target = target.rpartition(".")[0]
            # A package importing its own submodules re-exports them: not a dependency.
            inside = target.startswith(name + ".") or name.startswith(target + ".")
            if target and target not in (name, PACKAGE) and not inside:
                edges.add(target)
        graph[name] = edges
    return graph


GRAPH = import_graph()


def test_no_import_cycles() -> None:
    """No module reaches itself through the imports of others."""
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(GRAPH):
        if node not in state:
            visit(node)
    assert cycles == []


@pytest.mark.parametrize("leaf", LEAVES)
def test_leaves_import_nothing_of_the_package(leaf: str) -> None:
    """The bottom modules import only each other, so every layer can read them."""
    assert GRAPH[leaf] <= set(LEAVES)


def test_core_never_imports_entry_points() -> None:
    """Only entry points import entry points: the core stays light and one-way."""
    offenders = {
        (name, target)
        for name, targets in GRAPH.items()
        if not name.startswith(ENTRY_POINTS)
        for target in targets
        if target.startswith(ENTRY_POINTS)
    }
    assert offenders == set()


# What `import llm_normalize` leaves for later: each public name is imported when first used,
# so the import costs the exceptions alone (issue 16).
DEFERRED = (
    "ftfy",
    "pydantic",
    "llm_normalize.config",
    "llm_normalize.pipeline",
    "llm_normalize.postprocessors",
    "llm_normalize.quality",
    "llm_normalize.report",
    "llm_normalize.stores",
)


def loaded_after(code: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules named by `prefixes` that `code` loads, in a fresh interpreter."""
    script = (
        f"import sys\n{code}\n"
        f"print(','.join(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return [name for name in result.stdout.strip().split(",") if name]


def test_import_defers_the_heavy_modules() -> None:
    """`import llm_normalize` loads neither ftfy, nor pydantic, nor the rules and their data."""
    assert loaded_after("import llm_normalize", DEFERRED) == []


def test_a_normalizer_is_built_without_ftfy() -> None:
    """ftfy is loaded by the first value that may hold mojibake, not by building a normalizer."""
    code = "from llm_normalize import Normalizer\nNormalizer().normalize([{'direccion': 'cl 5'}])"
    assert loaded_after(code, ("ftfy",)) == []


def test_every_public_name_imports() -> None:
    """`from llm_normalize import X` works for every name of `__all__`, in a fresh interpreter."""
    names = ", ".join(llm_normalize.__all__)
    subprocess.run([sys.executable, "-c", f"from llm_normalize import {names}"], check=True)
