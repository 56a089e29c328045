-- Transaction ids that more than one raw file delivered (the same file uploaded under two names, or
-- a producer re-sending): transaction_files keeps every row of every file, so this names them.
SELECT transaction_id, files, count(*) OVER () AS duplicated_ids
FROM (
    SELECT transaction_id, array_agg(DISTINCT source_file) AS files
    FROM transaction_files
    GROUP BY transaction_id
    HAVING count(DISTINCT source_file) > 1
) duplicated
ORDER BY transaction_id
LIMIT 20
