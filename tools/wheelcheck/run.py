"""``make test-wheel`` and ``make sdist``: the installed artifacts, checked as a user has them."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from kafka_harness.broker import LocalBroker
from kafka_harness.jars import fetch

from .build import build_sdist
from .venvs import (
    REPO,
    SUPPORTED,
    CheckError,
    Clock,
    default_minor,
    env_without_rust,
    find_python,
    fresh_venv,
    pinned,
    pins_except,
    pip_install,
    run,
)

HERE = Path(__file__).resolve().parent
PROBE = HERE / "probe.py"
# What a per-Python venv needs to run the README examples through tests/docs (the conftest's
# broker harness makes certificates with cryptography).
README_TOOLS = ("pytest", "pytest-timeout", "cryptography")
# Build and lint tools the installed-wheel suite does not use.
BUILD_ONLY = ("maturin", "ziglang", "auditwheel", "ruff")


def run_pytest(venv_python: Path, args: Sequence[str | Path], extra_env: dict[str, str]) -> None:
    """pytest from a scratch directory outside the source tree, so only the installed kaffe is
    importable; the conftest fails the session if kaffe still came from ``python/kaffe``.

    ``PYTHONPATH`` is the repository root, for the tests' ``tests.integration`` helpers: it holds
    no ``kaffe`` package (that is ``python/kaffe``), so it cannot shadow the installed one.
    """
    extra_env = {"PYTHONPATH": str(REPO), **extra_env}
    with tempfile.TemporaryDirectory(prefix="kaffe-wheelcheck-") as scratch:
        run(
            [
                venv_python,
                "-m",
                "pytest",
                "-c",
                REPO / "pyproject.toml",
                "--rootdir",
                REPO,
                "-p",
                "no:cacheprovider",
                *args,
            ],
            env=env_without_rust({"KAFFE_EXPECT_INSTALLED": "1", **extra_env}),
            cwd=Path(scratch),
        )


# A typed user with a mistake: mypy must reject it, which it can only do if it sees _core.pyi.
TYPED_USER_WRONG = (
    'from kaffe import _core\n\nPARTITION: int = _core.partition_murmur2("a str, not bytes", 12)\n'
)


def check_typing(venv_python: Path) -> None:
    """mypy --strict in the venv accepts a typed user script and rejects a wrong one."""
    pip_install(venv_python, *pinned("mypy"))
    with tempfile.TemporaryDirectory(prefix="kaffe-typed-") as scratch:
        where = Path(scratch)
        shutil.copy(HERE / "typed_user.py", where / "typed_user.py")
        (where / "typed_user_wrong.py").write_text(TYPED_USER_WRONG)
        mypy: list[str | Path] = [venv_python, "-m", "mypy", "--strict", "--no-incremental"]
        run([*mypy, "typed_user.py"], env=env_without_rust(), cwd=where)
        try:
            out = run(
                [*mypy, "typed_user_wrong.py"], env=env_without_rust(), cwd=where, capture=True
            )
        except CheckError:  # the expected outcome: mypy saw _core.pyi and said no
            print("mypy rejected typed_user_wrong.py, as it should")
        else:
            raise AssertionError(f"mypy accepted typed_user_wrong.py: {out.strip()}")


def check_python(minor: str, wheel: Path, bootstrap: str, clock: Clock) -> Path | None:
    """Fresh venv for ``minor``, the wheel from ``--no-index``, then import, README, round trip."""
    python = find_python(minor)
    if python is None:
        print(f"SKIP Python {minor}: no interpreter under ~/.pyenv/versions/{minor}.*")
        return None
    began = time.monotonic()
    print(f"\n=== Python {minor} ({python})", flush=True)
    vpy = fresh_venv(python, f"py{minor}")
    pip_install(vpy, "--no-index", wheel, env=env_without_rust())
    run([vpy, "-I", PROBE, "import"], env=env_without_rust())
    pip_install(vpy, *pinned(*README_TOOLS))
    readme = REPO / "tests" / "docs" / "test_readme.py"
    run_pytest(vpy, ["-v", readme], {"KAFFE_TEST_BOOTSTRAP": bootstrap})
    run([vpy, "-I", PROBE, "roundtrip", bootstrap], env=env_without_rust())
    clock.step(f"Python {minor}: venv, install, import, README, round trip", began)
    return vpy


def test_wheel(wheel: Path, *, suite: bool, pytest_args: Sequence[str]) -> None:
    """Every supported Python against one broker; then the whole suite on the default one."""
    clock = Clock()
    default = default_minor()
    venvs: dict[str, Path] = {}
    began = time.monotonic()
    with LocalBroker(fetch()) as broker:
        host, port = broker.listener("PLAINTEXT")
        bootstrap = f"{host}:{port}"
        clock.step("broker start", began)
        for minor in SUPPORTED:
            vpy = check_python(minor, wheel, bootstrap, clock)
            if vpy is not None:
                venvs[minor] = vpy
    broker.remove_run_dir()
    if default not in venvs:
        raise AssertionError(f"the default Python {default} was not among the ones checked")
    began = time.monotonic()
    check_typing(venvs[default])
    clock.step(f"Python {default}: mypy --strict on a typed user script", began)
    if suite:
        began = time.monotonic()
        print(f"\n=== the whole pytest suite on Python {default}, installed wheel", flush=True)
        pip_install(venvs[default], *pins_except(*BUILD_ONLY))
        run_pytest(venvs[default], [REPO / "tests", *pytest_args], {})
        clock.step(f"Python {default}: the whole pytest suite against the installed wheel", began)
    print(f"\ntested {wheel.name} on Python {', '.join(venvs)}")
    clock.report()


def check_sdist() -> Path:
    """Build the sdist and install it in a fresh venv (pip builds it with Rust), then import."""
    sdist = build_sdist()
    python = find_python(default_minor())
    if python is None:
        raise AssertionError(f"no pyenv Python {default_minor()} to install the sdist with")
    vpy = fresh_venv(python, "sdist")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="kaffe-pins-") as pins:
        pins.write("\n".join(pinned("maturin")) + "\n")
        pins.flush()
        env = {
            **os.environ,
            "PIP_CONSTRAINT": pins.name,  # the build backend at the version the repo pins
            "CARGO_TARGET_DIR": str(REPO / "target" / "sdist"),
        }
        env.pop("PYTHONPATH", None)
        pip_install(vpy, "--no-cache-dir", sdist, env=env)
    run([vpy, "-I", PROBE, "import"], env=env_without_rust())
    print(f"sdist: {sdist.name}, {sdist.stat().st_size / 1e6:.2f} MB, installs and imports")
    return sdist
