"""Build and check kaffe's release artifacts: ``python -m wheelcheck build|sdist|test``.

* :mod:`.build`   the manylinux wheel (maturin + zig), reused while the sources are unchanged
                  (a stamp keyed on their hash), checked with ``auditwheel show``; the sdist.
* :mod:`.venvs`   fresh virtualenvs from the pyenv interpreters, a ``PATH`` without Rust.
* :mod:`.run`     ``make test-wheel``: per Python, install the wheel with ``--no-index`` and run
                  the import check, the README examples and a produce/consume round trip against
                  a real broker; on the default Python, the whole pytest suite against the
                  installed wheel.
* ``probe.py``    runs *inside* a fresh venv (stdlib and kaffe only): the import check and the
                  round trip.
* ``typed_user.py`` a tiny typed user of kaffe that mypy must accept (and :mod:`.run` holds one
                  it must reject: proof that ``py.typed`` and ``_core.pyi`` are shipped).
"""
