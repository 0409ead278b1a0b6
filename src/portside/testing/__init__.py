"""Public test suites and doubles for portside ports.

``portside.testing.storage.StorageContract`` is the unit-of-work and repository contract
that every storage provider passes; a third-party provider subclasses it to prove the same.
These modules need pytest and pytest-asyncio.
"""
