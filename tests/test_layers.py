"""The package's layer graph, read from the source (imports inside functions count).

``LAYERS`` is the README's Development section as a table: a module imports only modules of its own
unit or of lower layers, and the units import each other without a circle. A name imported by
string (the registries' ``locations``, the lazy re-exports of ``paddlevideo.utils``) is not an import
statement and is not seen here; those are the documented way down-to-up.
"""
from typing import Dict, Iterator, List, Set, Tuple

from import_graph_helpers import PACKAGE, assert_no_circle, imports, module_name

# Bottom to top: (layer, units). A unit is a module or package prefix under ``paddlevideo``; a module
# belongs to its longest matching unit. Same-layer units may not import each other either.
LAYERS: List[Tuple[int, Tuple[str, ...]]] = [
    (0, ("errors", "utils.logger")),  # the standard library only
    (1, ("cpu",)),
    (2, ("registry",)),
    (3, ("utils",)),
    (4, ("config",)),
    (5, ("loader", "metrics", "solver", "modeling")),
    (6, ("deploy",)),
    (7, ("tasks",)),
]
LAYER_OF: Dict[str, int] = {unit: layer for layer, units in LAYERS for unit in units}


def unit_of(module: str) -> str:
    """The longest unit of ``LAYERS`` that ``module`` (``paddlevideo.x.y``) is or lies in."""
    rest = module.split(".", 1)[1]
    matches = [u for u in LAYER_OF if rest == u or rest.startswith(u + ".")]
    assert matches, f"{module} is in no layer: add it to LAYERS (and the README)"
    return max(matches, key=len)


def import_edges() -> Iterator[Tuple[str, int, str, str]]:
    """``(file, line, importer unit, imported unit)`` for each import between different units."""
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if name == "paddlevideo":
            continue  # the package's own __init__ (it runs the CPU setup) sits above every unit
        edges = {(line, unit_of(name), unit_of(target)) for line, target in imports(path)}
        for line, src, dst in sorted(edges):
            if src != dst:
                yield str(path.relative_to(PACKAGE.parent)), line, src, dst


def test_every_module_has_a_layer():
    for path in PACKAGE.rglob("*.py"):
        if module_name(path) != "paddlevideo":
            unit_of(module_name(path))


def test_no_import_climbs_or_crosses_a_layer():
    wrong = [f"{file}:{line}: {src} (layer {LAYER_OF[src]}) imports {dst} (layer {LAYER_OF[dst]})"
             for file, line, src, dst in import_edges() if LAYER_OF[dst] >= LAYER_OF[src]]
    assert not wrong, "imports against the layers (README, Development):\n" + "\n".join(wrong)


def test_units_import_each_other_without_a_circle():
    graph: Dict[str, Set[str]] = {unit: set() for unit in LAYER_OF}
    for _, _, src, dst in import_edges():
        graph[src].add(dst)
    assert_no_circle(graph)
