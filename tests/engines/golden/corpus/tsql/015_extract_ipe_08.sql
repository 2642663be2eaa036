SELECT
  v.snapshot_date,
  v.company_id,
  v.voucher_id,
  v.code,
  v.business_use,
  v.template_id,
  v.voucher_type,
  v.is_active,
  v.discount_amount,
  v.used_discount_amount,
  v.remaining_amount,
  v.created_at,
  v.from_date,
  v.to_date,
  v.inactive_at,
  v.inactive_reason,
  v.customer_id,
  v.times_used,
  CAST(CASE WHEN v.to_date < ? THEN 1 ELSE 0 END AS BIT) AS is_expired,
  CAST(CASE
    WHEN v.business_use IN (?, ?, ?, ?, ?)
    AND v.is_active = CAST(1 AS BIT)
    AND v.to_date >= ?
    THEN 1
    ELSE 0
  END AS BIT) AS in_tv
FROM bob.store_credit_vouchers AS v
WHERE
  v.company_id = ?
  AND v.snapshot_date = ?
  AND v.created_at < CAST(? AS DATETIME2)
ORDER BY
  CASE WHEN v.voucher_id IS NULL THEN 1 ELSE 0 END, v.voucher_id
