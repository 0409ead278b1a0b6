"""Alembic revisions of the users service's tables (``portside db upgrade``)."""
