-- Per day (UTC, of event_time), source system and origin: volumes, accounts and the latest load.
SELECT
    date(event_time) AS event_date,
    source_system,
    origin,
    count(*) AS transactions,
    count(DISTINCT account_id) AS accounts,
    sum(amount) AS net_amount,
    max(loaded_at) AS last_loaded_at
FROM transactions_unified
GROUP BY date(event_time), source_system, origin
