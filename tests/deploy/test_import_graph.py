"""The import graph of ``paddlevideo.deploy``, read from the source (imports inside functions count).

Prediction must not pull in the dygraph model: only ``export`` may import ``paddlevideo.modeling``,
no other deploy module may import ``export``, and the modules import each other without a circle.
"""
import ast
from pathlib import Path
from typing import Dict, Set

import paddlevideo.deploy

DEPLOY = Path(paddlevideo.deploy.__file__).parent
PACKAGE = "paddlevideo.deploy"


def imported_modules(path: Path) -> Set[str]:
    """Absolute names of the ``paddlevideo`` modules (or packages) ``path`` imports anywhere."""
    here = f"{PACKAGE}.{path.stem}".split(".")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[:-node.level] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # ``from . import export``
    return {name for name in found if name.startswith("paddlevideo")}


def deploy_graph() -> Dict[str, Set[str]]:
    """deploy module -> the deploy modules it imports."""
    modules = {f"{PACKAGE}.{p.stem}": p for p in DEPLOY.glob("*.py") if p.stem != "__init__"}
    return {name: imported_modules(path) & set(modules) for name, path in modules.items()}


def test_only_export_imports_the_model_code():
    for path in DEPLOY.glob("*.py"):
        model_code = {m for m in imported_modules(path) if m.startswith("paddlevideo.modeling")}
        assert path.stem == "export" or not model_code, f"{path.name} imports {sorted(model_code)}"


def test_nothing_in_deploy_imports_export():
    importers = sorted(name for name, deps in deploy_graph().items() if f"{PACKAGE}.export" in deps)
    assert importers == [], f"{importers} import deploy.export (and with it the dygraph model)"


def test_deploy_modules_import_each_other_without_a_circle():
    graph = deploy_graph()
    done: Set[str] = set()

    def visit(name: str, path: tuple) -> None:
        assert name not in path, "import circle: " + " -> ".join(path[path.index(name):] + (name,))
        if name not in done:
            for dep in sorted(graph[name]):
                visit(dep, path + (name,))
            done.add(name)

    for name in sorted(graph):
        visit(name, ())
