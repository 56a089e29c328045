-- The latest state of every transaction that still exists, recomputed from the full change log: the
-- reference the Iceberg table transactions_current is verified against.
-- Ranked on the stream sequence number (padded to 40 digits, so text order is numeric order);
-- a REMOVE is filtered after ranking so a deleted transaction disappears instead of showing an
-- older version.
SELECT {canonical_columns}, sequence_number, change_time AS last_changed_at
FROM (
    SELECT
        c.*,
        row_number() OVER (PARTITION BY transaction_id ORDER BY sequence_number DESC) AS change_rank
    FROM transaction_changes c
) ranked
WHERE change_rank = 1 AND change_type <> 'REMOVE'
