"""The installed distribution's version, as ``__version__`` (a leaf: imports nothing of kaffe).

The version lives only in ``Cargo.toml`` (``[workspace.package] version``); maturin writes it
into the wheel's metadata, and this module reads it back from there.
"""

from __future__ import annotations

from importlib import metadata

try:
    __version__: str = metadata.version("kaffe")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
