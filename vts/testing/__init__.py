"""What a connector author needs to prove a connector keeps vts's contract (``vts.connector``).

- :class:`~vts.testing.sources.SourceSuite` and :class:`~vts.testing.sinks.SinkSuite`:
  pytest classes to subclass in a connector's tests, run against its real
  service (or a strict emulator);
- :mod:`~vts.testing.faults`: wrappers that make a real connector fail where a
  test says (transient or fatal, on read, write or preflight), instead of
  monkeypatching its internals;
- :class:`~vts.testing.table_source.TableSource`: an in-memory source of given
  rows, and :func:`~vts.testing.jobs.make_job` to drive any pair through
  :func:`vts.engine.run` as ``vts run`` does.

Import it from tests only: it needs pytest.
"""
