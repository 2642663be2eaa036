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
    WHEN p.reconciled_at IS NULL OR p.reconciled_at >= CAST(? AS DATETIME2)
    THEN 1
    ELSE 0
  END AS BIT) AS in_tv
FROM oms.packages AS p
WHERE
  p.company_id = ?
  AND p.is_prepayment = CAST(0 AS BIT)
  AND p.payment_method <> 'NoPayment'
  AND p.delivered_at < CAST(? AS DATETIME2)
  AND (
    p.reconciled_at IS NULL OR p.reconciled_at >= CAST(? AS DATETIME2)
  )
ORDER BY
  CASE WHEN p.package_id IS NULL THEN 1 ELSE 0 END, p.package_id
