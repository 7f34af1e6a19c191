"""The live test session of ``pytest --relive`` (see :mod:`relive.pytest_plugin`)."""
