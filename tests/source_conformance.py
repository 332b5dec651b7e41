"""The shipped source suite's checks, for tests that run them on several variants of one connector."""

from vts.testing.sources import check_source, keys_of, read_split

__all__ = ["check_source", "keys_of", "read_split"]
