"""The Data API's bounds beyond the body schema: read by the handler and written into the OpenAPI
document. They are the contract's (txdagster/contract/fields.py; a unit test keeps them equal)."""

from datetime import UTC, datetime

VERSION_MIN, VERSION_MAX = 1, 2**63 - 1
TRANSACTION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
ACCOUNT_ID_MAX_LENGTH = 64
EVENT_TIME_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # excluded; the latest: TXD_MAX_EVENT_AHEAD_HOURS past now
LIST_LIMIT_MAX, LIST_LIMIT_DEFAULT = 100, 50
