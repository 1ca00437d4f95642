"""The layers of skgan, checked statically: no import cycle between modules, and
each layer imports only those below it (CONTRIBUTING.md's table)."""

import ast
from pathlib import Path

import skgan

ROOT = Path(skgan.__file__).parent


def module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imported_modules(name):
    """skgan modules that module ``name`` imports, anywhere in its code."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            # ``from package import submodule`` imports the submodule.
            targets = [
                f"{module}.{alias.name}"
                if f"{module}.{alias.name}" in MODULES
                else module
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in MODULES and t != name)
    return found


GRAPH = {name: imported_modules(name) for name in MODULES}


def test_the_scan_sees_the_whole_package():
    assert {"skgan.gan", "skgan.persistence", "skgan.nn.fitting"} <= set(GRAPH)
    assert "skgan.nn.fitting" in GRAPH["skgan.gan._estimator_state"]
    assert "skgan.persistence" in GRAPH["skgan.gan._estimator"]


def test_no_import_cycle_between_modules():
    done, path = set(), []

    def visit(name):
        if name in path:
            cycle = path[path.index(name) :] + [name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        path.append(name)
        for other in sorted(GRAPH[name]):
            visit(other)
        path.pop()
        done.add(name)

    for name in sorted(GRAPH):
        visit(name)


def reachable(name):
    seen, todo = set(), [name]
    while todo:
        for other in GRAPH[todo.pop()]:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def test_lower_layers_never_reach_the_estimator():
    estimator = {
        "skgan",
        "skgan.gan",
        "skgan.gan._estimator_state",
        "skgan.gan._fitting",
    }
    for lower in [
        "skgan.persistence",
        "skgan.metrics",
        "skgan.nn",
        "skgan.datasets",
        "skgan.plotting",
    ]:
        members = [n for n in GRAPH if n == lower or n.startswith(lower + ".")]
        for name in members:
            assert not reachable(name) & estimator, name


def test_the_torch_layer_knows_nothing_of_scikit_learn():
    for name, path in MODULES.items():
        if name.startswith("skgan.nn"):
            text = path.read_text()
            assert "import sklearn" not in text and "from sklearn" not in text, name
            assert all(o.startswith("skgan.nn") for o in GRAPH[name]), name
