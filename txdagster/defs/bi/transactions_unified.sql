-- Every transaction the lake knows, with where it came from: the current state kept from the Data
-- API's change stream (origin 'api') and the rows of raw files (origin 'file', with the file).
-- A transaction delivered both ways appears once per origin.
SELECT {canonical_columns}, 'api' AS origin, last_changed_at AS loaded_at, CAST(NULL AS VARCHAR) AS source_file
FROM transactions_current
UNION ALL
SELECT {canonical_columns}, 'file' AS origin, ingested_at AS loaded_at, source_file
FROM transaction_files
