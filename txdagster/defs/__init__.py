"""The Dagster layer, thin: one folder per domain (``contract``, ``lake``, ``current``, ``bi``) with its
assets, checks, jobs, sensors and schedules; what they share (resources, partitions, policies, the run
launcher) beside them. Only ``txdagster/definitions.py`` imports it; the work itself is in ``lake/``."""
