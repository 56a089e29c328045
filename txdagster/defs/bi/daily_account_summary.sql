-- Per day (UTC, of event_time), account and currency: what the account's current transactions add up to.
SELECT
    date(event_time) AS event_date,
    account_id,
    currency,
    count(*) AS transactions,
    sum(amount) AS net_amount,
    sum(CASE WHEN amount > 0 THEN amount ELSE 0 END) AS credits,
    sum(CASE WHEN amount < 0 THEN -amount ELSE 0 END) AS debits,
    count_if(status = 'settled') AS settled,
    max(event_time) AS last_event_time
FROM transactions_current
GROUP BY date(event_time), account_id, currency
