"""The lake tables: ingest assets, their checks, jobs, sensors, and compaction."""
