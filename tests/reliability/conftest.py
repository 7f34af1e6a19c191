"""The runtime fixtures (``live``) for reliability tests."""

from tests.runtime.conftest import live

__all__ = ["live"]
