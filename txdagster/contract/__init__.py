"""The data contract: the canonical transaction and the source schemas, the single source of truth."""
