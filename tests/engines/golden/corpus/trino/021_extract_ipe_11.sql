SELECT
  t.company_id,
  t.transaction_id,
  t.transaction_no,
  t.transaction_type,
  t.asg_level_1,
  t.vendor_id,
  t.sales_order_item_id,
  t.account_statement_id,
  t.created_at,
  s.end_date AS statement_end_date,
  t.amount,
  CAST(CASE
    WHEN s.end_date IS NULL OR s.end_date > CAST('2025-09-30' AS DATE)
    THEN 1
    ELSE 0
  END AS BOOLEAN) AS in_tv
FROM seller_center.transactions AS t
LEFT JOIN seller_center.account_statements AS s
  ON s.company_id = t.company_id AND s.account_statement_id = t.account_statement_id
WHERE
  t.company_id = ?
  AND t.asg_level_1 = 'Revenues'
  AND t.created_at < CAST(? AS TIMESTAMP)
  AND (
    s.end_date IS NULL OR s.end_date >= ?
  )
ORDER BY
  t.transaction_id
