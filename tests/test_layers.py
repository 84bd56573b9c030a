"""The package's layers, by construction: each imports only those below it, and the runtime
imports without torch and without any export / train / model module.

    base (config, config_types, errors, signals, outputs, _lazy) < formats < data < runtime < model < train
    < export < bench, demo < cli, the package root

A few imports go upward on purpose, inside a function, and are listed in ALLOWED_UPWARD."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "moadepth_edge"

LAYERS = {
    "config": 0, "config_types": 0, "errors": 0, "signals": 0, "outputs": 0, "_lazy": 0,
    "formats": 1, "data": 2, "runtime": 3, "model": 4, "train": 5, "export": 6,
    "bench": 7, "demo": 7, "cli": 8, "__main__": 8, "": 8, "__version__": 0,
}
# (importer, imported): the torch debugging backend and the torch-eager baseline load a
# checkpoint, lazily, inside the function that needs it
ALLOWED_UPWARD = {("runtime.backends.torch", "model"), ("bench.baseline", "model")}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Package-internal modules `path` imports (relative imports resolved), dotted from the
    package root."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
            elif node.module and node.module.startswith("moadepth_edge"):
                base, node.module = [], node.module[len("moadepth_edge."):] or None
            else:
                continue
            if node.module:
                found.add(".".join(base + [node.module]))
            else:  # from .. import signals: each name is a module (or a root attribute)
                found.update(".".join(base + [a.name]) for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name[len("moadepth_edge."):] for a in node.names if a.name.startswith("moadepth_edge."))
    return found


def _layer(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def test_no_module_imports_a_higher_layer():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _module_name(path)
        for imported in _imports(path):
            if _layer(imported) > _layer(importer) and (importer, imported.split(".")[0]) not in ALLOWED_UPWARD:
                upward.append(f"{importer} -> {imported}")
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def test_every_runtime_module_imports_with_torch_blocked_and_loads_no_higher_layer():
    script = textwrap.dedent("""
        import importlib, pkgutil, sys
        for name in ("torch", "torchvision", "open_clip"):
            sys.modules[name] = None  # any import of these now raises ImportError
        import moadepth_edge.runtime as runtime
        names = [m.name for m in pkgutil.walk_packages(runtime.__path__, "moadepth_edge.runtime.")]
        for name in names:
            importlib.import_module(name)
        higher = sorted(m for m in sys.modules if m.split(".")[:2][-1] in ("export", "train", "model")
                        and m.startswith("moadepth_edge."))
        assert not higher, higher
        print(len(names))
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.strip()) >= 15  # every module was imported, not an empty walk
