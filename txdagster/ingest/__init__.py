"""Pure data functions: parse, validate, convert and write. Nothing here knows Dagster or AWS.

A *road* is the way an object's bytes become Parquet rows and quarantine rows, each rejected row with a
reason naming its field. The *columnar road* (``columnar/``) types and checks whole blocks at once; a
block it refuses takes the *row road* (``rows.py``, ``contract/dynamo.py``: row by row); a big raw CSV
may take the *SQL road* (``lake/sql_road.py``: converted by the query engine). All apply the contract's
rules and publish the same rows (docs/lake.md).
"""
