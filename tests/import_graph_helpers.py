"""The package's imports read from the source (imports inside functions count), for the tests of its
import graph (``tests/test_layers.py``, ``tests/deploy/test_import_graph.py``)."""
import ast
from pathlib import Path
from typing import Dict, Iterator, Set, Tuple

import paddlevideo

PACKAGE = Path(paddlevideo.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[Tuple[int, str]]:
    """``(line, absolute name)`` of every ``paddlevideo`` import in ``path``, at any depth. ``from m import
    n`` yields ``m`` and ``m.n`` (``n`` may be a submodule, as in ``from . import export``)."""
    name = module_name(path)
    package = name.split(".") if path.stem == "__init__" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        yield from ((node.lineno, t) for t in targets if t.startswith("paddlevideo."))


def assert_no_circle(graph: Dict[str, Set[str]]) -> None:
    """Fail naming the first circle in ``graph`` (node -> the nodes it imports)."""
    done: Set[str] = set()

    def visit(node: str, path: Tuple[str, ...]) -> None:
        assert node not in path, "import circle: " + " -> ".join(path[path.index(node):] + (node,))
        if node not in done:
            for dep in sorted(graph[node]):
                visit(dep, path + (node,))
            done.add(node)

    for node in sorted(graph):
        visit(node, ())

