"""kaffe: a Kafka client for Python with a Rust core.

The record-batch codec, CRCs, compression and partitioners live in the native module
:mod:`kaffe._core`; this package holds the Python API on top of it.
"""

from __future__ import annotations

from kaffe import aio, assignors
from kaffe._protocol.error_classes import *  # noqa: F403  (the same, spelled for type checkers)
from kaffe._version import __version__
from kaffe.admin import AdminClient
from kaffe.assignors import Assignor
from kaffe.consumer import Consumer
from kaffe.errors import *  # noqa: F403  (every error class is public API: kaffe.<Name>Error)
from kaffe.errors import __all__ as _error_names
from kaffe.group_member import GroupMemberSupervisor
from kaffe.message import NO_COMMIT, OK, Message, commit_offset
from kaffe.producer import Producer

__all__ = [
    "NO_COMMIT",
    "OK",
    "AdminClient",
    "Assignor",
    "Consumer",
    "GroupMemberSupervisor",
    "Message",
    "Producer",
    "commit_offset",
    "__version__",
    "aio",
    "assignors",
    *_error_names,
]
