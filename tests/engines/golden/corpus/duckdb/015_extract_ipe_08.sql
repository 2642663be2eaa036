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
  CAST(CASE WHEN v.to_date < $cutoff THEN 1 ELSE 0 END AS BOOLEAN) AS is_expired,
  CAST(CASE
    WHEN v.business_use IN (
      $tv_business_uses__0,
      $tv_business_uses__1,
      $tv_business_uses__2,
      $tv_business_uses__3,
      $tv_business_uses__4
    )
    AND v.is_active = TRUE
    AND v.to_date >= $cutoff
    THEN 1
    ELSE 0
  END AS BOOLEAN) AS in_tv
FROM bob.store_credit_vouchers AS v
WHERE
  v.company_id = $company_id
  AND v.snapshot_date = $cutoff
  AND v.created_at < CAST($as_of AS TIMESTAMP)
ORDER BY
  v.voucher_id
