"""skgan.metrics sits below the estimator: it must never import skgan.gan."""

import ast
from pathlib import Path

import skgan.metrics

FORBIDDEN = {"skgan.gan", "skgan.augment"}


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against skgan.metrics
                base = ["skgan", "metrics"][: 3 - node.level]
                module = ".".join(base + ([node.module] if node.module else []))
                yield module
                yield from (f"{module}.{alias.name}" for alias in node.names)
            else:
                yield node.module
                yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_metrics_never_import_the_estimator():
    files = sorted(Path(skgan.metrics.__file__).parent.glob("*.py"))
    assert len(files) >= 8
    for path in files:
        bad = {name for name in _imports(path) if name in FORBIDDEN}
        assert not bad, f"{path.name} imports {bad}"


def test_every_public_name_exists_and_is_documented():
    for name in skgan.metrics.__all__:
        obj = getattr(skgan.metrics, name)
        assert obj.__doc__ and len(obj.__doc__) > 40, name
