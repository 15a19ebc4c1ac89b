"""The import graph of ``paddlevideo.deploy``, read from the source (imports inside functions count).

Prediction must not pull in the dygraph model: only ``export`` may import ``paddlevideo.modeling``,
no other deploy module may import ``export``, and the modules import each other without a circle.
"""
from pathlib import Path
from typing import Dict, Set

from import_graph_helpers import assert_no_circle, imports

import paddlevideo.deploy

DEPLOY = Path(paddlevideo.deploy.__file__).parent
PACKAGE = "paddlevideo.deploy"


def imported_modules(path: Path) -> Set[str]:
    """Absolute names of the ``paddlevideo`` modules (or packages) ``path`` imports anywhere."""
    return {name for _, name in imports(path)}


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
    assert_no_circle(deploy_graph())
