"""The layers of skgan, checked statically by folder: each folder imports only
itself and the folders on the floors below it (CONTRIBUTING.md), and no module
imports in a circle."""

import ast
from pathlib import Path

import skgan

ROOT = Path(skgan.__file__).parent

# Top to bottom; folders on one floor do not import each other.
FLOORS = [
    ["augment"],
    ["gan"],
    ["callbacks"],
    ["metrics", "datasets"],
    ["plotting", "persistence", "nn"],
    ["utils", "_version"],
]
FLOOR_OF = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}


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


def room(name):
    """The folder (or root module) that module ``name`` belongs to."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the package itself


def test_the_scan_sees_the_whole_package():
    assert {"skgan.gan", "skgan.persistence", "skgan.nn.fitting"} <= set(GRAPH)
    assert "skgan.nn.fitting" in GRAPH["skgan.gan._estimator_state"]
    assert "skgan.persistence" in GRAPH["skgan.gan._estimator"]


def test_only_the_version_is_a_module_at_the_package_root():
    at_root = {p.name for p in ROOT.glob("*.py")}
    assert at_root == {"__init__.py", "_version.py"}


def test_every_folder_has_a_floor():
    rooms = {room(name) for name in MODULES} - {None}
    assert rooms == set(FLOOR_OF), rooms ^ set(FLOOR_OF)


def test_each_folder_imports_only_itself_and_the_floors_below():
    upward = []
    for name, targets in GRAPH.items():
        here = room(name)
        if here is None:
            continue  # skgan/__init__.py gathers the public names
        for target in targets:
            there = room(target)
            if there != here and FLOOR_OF[there] <= FLOOR_OF[here]:
                upward.append(f"{name} -> {target}")
    assert not upward, "imports that do not go down a floor:\n" + "\n".join(upward)


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


def test_the_torch_layer_knows_nothing_of_scikit_learn():
    for name, path in MODULES.items():
        if name.startswith("skgan.nn"):
            text = path.read_text()
            assert "import sklearn" not in text and "from sklearn" not in text, name
            assert all(o.startswith("skgan.nn") for o in GRAPH[name]), name
