"""The release wheel (maturin + zig, checked by auditwheel) and the sdist, under ``dist/``.

A wheel is rebuilt only when its inputs changed: the stamp ``dist/.stamp-<target>.json`` keeps
the sha256 of every source file that goes into it (Rust crates, ``python/kaffe``, the Cargo and
pyproject manifests, README, LICENSE), the maturin/zig pins, the target and the platform tag.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import zipfile
from pathlib import Path

from .venvs import REPO, CheckError, pinned, run

DIST = REPO / "dist"
SOURCE_DIRS = ("rust", "python/kaffe")
SOURCE_FILES = ("Cargo.toml", "Cargo.lock", "pyproject.toml", "README.md", "LICENSE")
SKIPPED_DIRS = frozenset({"__pycache__", "target"})
SKIPPED_SUFFIXES = (".so", ".pyd", ".pyc", ".dylib")
DEFAULT_TARGET = "x86_64-unknown-linux-gnu"
DEFAULT_COMPATIBILITY = "manylinux2014"
# maturin's legacy names for the PEP 600 tags.
_LEGACY_TAGS = {"manylinux2014": "manylinux_2_17", "manylinux2010": "manylinux_2_12"}


def _bin(name: str) -> Path:
    return Path(sys.executable).parent / name


def source_files() -> list[Path]:
    """Every file that ends up in (or decides) the wheel, sorted."""
    found = [REPO / name for name in SOURCE_FILES]
    for top in SOURCE_DIRS:
        for dirpath, dirnames, filenames in os.walk(REPO / top):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
            found.extend(Path(dirpath) / f for f in filenames if not f.endswith(SKIPPED_SUFFIXES))
    return sorted(found)


def source_key(target: str, compatibility: str) -> str:
    """sha256 over the sources' paths and bytes, the tool pins, the target and the tag."""
    digest = hashlib.sha256()
    for path in source_files():
        digest.update(str(path.relative_to(REPO)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for spec in [*pinned("maturin", "ziglang"), target, compatibility]:
        digest.update(spec.encode() + b"\0")
    return digest.hexdigest()


def expected_tag(compatibility: str) -> str:
    """The PEP 600 policy name for maturin's ``--compatibility`` value."""
    return _LEGACY_TAGS.get(compatibility, compatibility)


def audit(wheel: Path, compatibility: str) -> str:
    """``auditwheel show``: the wheel must satisfy ``compatibility`` (or an older policy of the
    same family) and need no shared library outside that policy. Returns the verdict tag."""
    out = run([_bin("auditwheel"), "show", wheel], capture=True)
    flat = " ".join(out.split())
    match = re.search(r'consistent with the following platform tag: "([a-z]+)_(\d+)_(\d+)_', flat)
    if match is None:
        raise CheckError(f"auditwheel show named no platform tag for {wheel.name}")
    family, major, minor = match.group(1), int(match.group(2)), int(match.group(3))
    want = re.fullmatch(r"([a-z]+)_(\d+)_(\d+)", expected_tag(compatibility))
    if want is None or family != want.group(1):
        raise CheckError(f"auditwheel says {family}, expected {expected_tag(compatibility)}")
    if (major, minor) > (int(want.group(2)), int(want.group(3))):
        raise CheckError(
            f"{wheel.name} needs {family}_{major}_{minor}, newer than {expected_tag(compatibility)}"
        )
    if re.search(r"following external shared libraries are required", flat):
        raise CheckError(f"{wheel.name} needs shared libraries outside the policy")
    tag = f"{family}_{major}_{minor}"
    print(f"auditwheel: {wheel.name} is {tag}, no library outside the policy")
    return tag


def check_contents(wheel: Path) -> None:
    """abi3 tag, the native module, the stubs, ``py.typed`` and the license are in the wheel."""
    if "-cp310-abi3-" not in wheel.name:
        raise CheckError(f"{wheel.name} is not a cp310-abi3 wheel")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    required = {"kaffe/__init__.py", "kaffe/py.typed", "kaffe/_core.pyi", "kaffe/aio/__init__.py"}
    missing = sorted(required - names)
    if not any(re.fullmatch(r"kaffe/_core\.(abi3\.so|pyd)", n) for n in names):
        missing.append("kaffe/_core (native module)")
    if not any(re.fullmatch(r"kaffe-[^/]+\.dist-info/licenses/LICENSE", n) for n in names):
        missing.append("dist-info/licenses/LICENSE")
    if missing:
        raise CheckError(f"{wheel.name} lacks {missing}")
    strays = sorted(n for n in names if n.startswith(("tests/", "tools/", "rust/")))
    if strays:
        raise CheckError(f"{wheel.name} carries files that are not the package: {strays[:5]}")


def ensure_wheel(target: str, compatibility: str, *, force: bool = False) -> Path:
    """The checked wheel for ``target``: reused while the stamp's key matches, else built."""
    DIST.mkdir(exist_ok=True)
    stamp = DIST / f".stamp-{target}.json"
    key = source_key(target, compatibility)
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        recorded = {}
    wheel = DIST / str(recorded.get("wheel", "-"))
    if not force and recorded.get("key") == key and wheel.is_file():
        print(f"wheel up to date (sources unchanged): {wheel.relative_to(REPO)}")
    else:
        if wheel.is_file():
            wheel.unlink()
        if target != DEFAULT_TARGET:  # the host's std comes with the toolchain; others do not
            run(["rustup", "target", "add", target])
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        env.setdefault("CARGO_TARGET_DIR", str(REPO / "target"))
        out = run(
            [
                _bin("maturin"),
                "build",
                "--release",
                "--zig",
                "--target",
                target,
                "--compatibility",
                compatibility,
                "--out",
                DIST,
            ],
            env=env,
            capture=True,
        )
        built = re.findall(r"Built wheel.* to (\S+\.whl)", out)
        if len(built) != 1:
            raise CheckError(f"expected one wheel from maturin, it reported {built}")
        wheel = Path(built[0])
        stamp.write_text(json.dumps({"key": key, "wheel": wheel.name}) + "\n")
    check_contents(wheel)
    if "-linux-" in target:
        audit(wheel, compatibility)
    else:  # auditwheel reads ELF only; delocate (macOS) / delvewheel (Windows) run on those OSes
        print(f"NOT AUDITED: auditwheel cannot check a {target} wheel; see DESIGN.md")
    print(f"wheel: {wheel.name}, {wheel.stat().st_size / 1e6:.2f} MB")
    return wheel


def build_sdist() -> Path:
    """``maturin sdist`` into ``dist/`` (the previous sdist of this version is replaced)."""
    DIST.mkdir(exist_ok=True)
    out = run([_bin("maturin"), "sdist", "--out", DIST], capture=True)
    built = re.findall(r"Built source distribution to (\S+\.tar\.gz)", out)
    if len(built) != 1:
        raise CheckError(f"expected one sdist from maturin, it reported {built}")
    return Path(built[0])
