#!/usr/bin/env python3
"""API-surface check: every tensorrt / CUDA runtime name moadepth-edge uses exists in the real
TensorRT 10.3 (JetPack 6) and 11.x Python bindings, and in cuda-python's runtime module.

TensorRT cannot be installed on machines without NVIDIA's libraries, but its Python bindings
wheels are small and on PyPI. This script (dev only; it downloads):

1. `pip download --no-deps` the wheels below for this Python on manylinux x86_64;
2. imports each compiled `tensorrt` module against stub libnvinfer / libnvonnxparser /
   libnvinfer_plugin libraries (the nine C functions the module links to, as no-ops, compiled
   with `cc`). Loading the module registers every class, method, property and enum member, so
   `dir()` gives the exact API surface; no TensorRT code runs and no GPU is needed. The
   cuda-python modules import as they are;
3. writes the surfaces to scripts/trt_api/*.txt (`Class.member`, one per line), and
4. runs tests/export/test_tensorrt_api_surface.py, which scans our source with `ast` and checks
   every used name against those files (tests read only the committed files, never the network).

Usage: python scripts/check_trt_api.py [--keep DIR]       (needs pip, a C compiler, Linux x86_64)
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "scripts" / "trt_api"
# (pip requirement, importable module, output file, stub-library major or None)
WHEELS = [
    ("tensorrt-cu12-bindings==10.3.0", "tensorrt_bindings", "tensorrt-10.3.0.txt", 10),
    ("tensorrt-cu12-bindings==11.4.0.106", "tensorrt_bindings", "tensorrt-11.4.0.106.txt", 11),
    ("cuda-python==12.2.1", "cuda.cudart", "cuda-python-12.2.1-cudart.txt", None),
    ("cuda-bindings==12.9.10", "cuda.bindings.runtime", "cuda-bindings-12.9.10-runtime.txt", None),
]
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]

STUB_C = """
void* createInferBuilder_INTERNAL(void* a, int b) { return 0; }
void* createInferRefitter_INTERNAL(void* a, void* b, int c) { return 0; }
void* createInferRuntime_INTERNAL(void* a, int b) { return 0; }
void* createNvOnnxParserRefitter_INTERNAL(void* a, void* b, int c) { return 0; }
void* createNvOnnxParser_INTERNAL(void* a, void* b, int c) { return 0; }
void* getBuilderPluginRegistry(int a) { return 0; }
int getNvOnnxParserVersion(void) { return 0; }
void* getPluginRegistry(void) { return 0; }
int initLibNvInferPlugins(void* a, const char* b) { return 0; }
"""
STUB_LIBS = ("libnvinfer", "libnvonnxparser", "libnvinfer_plugin")

DUMP = """
import importlib, inspect, sys
mod = importlib.import_module(sys.argv[1])
version = getattr(mod, "__version__", "")
names = []
for name in sorted(dir(mod)):
    if name.startswith("_") and name != "__version__":
        continue
    names.append(name)
    obj = getattr(mod, name)
    if inspect.isclass(obj):
        names += [f"{name}.{a}" for a in sorted(dir(obj)) if not a.startswith("_")]
print(f"# {sys.argv[2]} ({sys.argv[1]} {version}); regenerate: python scripts/check_trt_api.py")
print("\\n".join(names))
"""


def run(cmd: list[str], **kw) -> str:
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{res.stdout[-2000:]}{res.stderr[-2000:]}")
    return res.stdout


def download(req: str, dest: Path) -> Path:
    py = f"{sys.version_info.major}{sys.version_info.minor}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--python-version", py, "--implementation", "cp", "-d", str(dest), req]
    for plat in PLATFORMS:
        cmd += ["--platform", plat]
    before = set(dest.glob("*.whl"))
    run(cmd)
    name = req.split("==")[0].replace("-", "_")
    wheels = sorted(p for p in dest.glob("*.whl") if p.name.lower().startswith(name))
    new = [p for p in wheels if p not in before] or wheels
    return new[-1]


def stub_dir(work: Path, major: int) -> Path:
    out = work / f"stubs{major}"
    out.mkdir(exist_ok=True)
    src = work / "stub.c"
    src.write_text(STUB_C)
    for lib in STUB_LIBS:
        so = f"{lib}.so.{major}"
        run(["cc", "-shared", "-fPIC", "-o", str(out / so), str(src), f"-Wl,-soname,{so}"])
    return out


def surface(wheel: Path, module: str, req: str, work: Path, stub_major: int | None) -> str:
    site = work / wheel.stem
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    env = dict(os.environ, PYTHONPATH=str(site), PYTHONNOUSERSITE="1")
    if stub_major is not None:
        env["LD_LIBRARY_PATH"] = str(stub_dir(work, stub_major))
    return run([sys.executable, "-c", DUMP, module, req], env=env, cwd=str(work))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    args = ap.parse_args()
    if not sys.platform.startswith("linux"):
        sys.exit("this check needs Linux x86_64 (manylinux wheels)")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        for req, module, out_name, stub_major in WHEELS:
            wheel = download(req, work)
            text = surface(wheel, module, f"{req} -> {wheel.name}", work, stub_major)
            (OUT_DIR / out_name).write_text(text)
            print(f"{out_name}: {len(text.splitlines()) - 1} names from {wheel.name}")
    return subprocess.call([sys.executable, "-m", "pytest", "-q",
                            str(REPO / "tests" / "export" / "test_tensorrt_api_surface.py")], cwd=REPO)


if __name__ == "__main__":
    sys.exit(main())
