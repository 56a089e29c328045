"""Pure data functions: parse, validate, convert and write. Nothing here knows Dagster."""
