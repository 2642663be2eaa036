SELECT
  p.company_id,
  p.package_id,
  p.package_number,
  p.order_nr,
  p.payment_method,
  p.is_marketplace,
  p.collection_partner,
  p.status,
  p.delivered_at,
  p.reconciled_at,
  p.amount_expected,
  p.amount_received,
  CAST(CASE
    WHEN p.reconciled_at IS NULL
    OR p.reconciled_at >= CAST(CAST('2025-10-01' AS DATE) AS TIMESTAMP)
    THEN 1
    ELSE 0
  END AS BOOLEAN) AS in_tv
FROM oms.packages AS p
WHERE
  p.company_id = ?
  AND p.is_prepayment = FALSE
  AND p.payment_method <> 'NoPayment'
  AND p.delivered_at < CAST(? AS TIMESTAMP)
  AND (
    p.reconciled_at IS NULL OR p.reconciled_at >= CAST(? AS TIMESTAMP)
  )
ORDER BY
  p.package_id
