"""Dagster assets: the lake tables (``lake.py``) and the Athena views (``views.py``)."""
