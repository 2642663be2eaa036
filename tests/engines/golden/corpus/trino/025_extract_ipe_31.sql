SELECT
  c.company_id,
  co.country_code,
  c.transaction_id,
  c.transaction_type,
  c.collection_partner,
  c.related_entity,
  c.status,
  c.event_at,
  c.settled_at,
  c.amount,
  CAST(CASE
    WHEN c.settled_at IS NULL
    OR c.settled_at >= CAST(CAST('2025-10-01' AS DATE) AS TIMESTAMP)
    THEN 1
    ELSE 0
  END AS BOOLEAN) AS in_tv
FROM oms.collection_transactions AS c
JOIN ref.companies AS co
  ON co.company_id = c.company_id
WHERE
  c.company_id = ?
  AND NOT co.country_code IN (?, ?, ?)
  AND c.event_at < CAST(? AS TIMESTAMP)
  AND c.amount <> 0
  AND (
    c.settled_at IS NULL OR c.settled_at >= CAST(? AS TIMESTAMP)
  )
ORDER BY
  c.transaction_id
