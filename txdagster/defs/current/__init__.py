"""The current state (``transactions_current``): its asset, checks, upkeep job and schedule."""
