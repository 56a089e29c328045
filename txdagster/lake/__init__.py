"""The lake on AWS: the ingest run and its ledger, S3 listing, the Glue catalog, the Iceberg current
state, compaction and the query engines. No Dagster here: ``defs/`` calls it."""
