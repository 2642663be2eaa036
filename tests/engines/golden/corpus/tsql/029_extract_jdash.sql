SELECT
  u.company_id,
  u.voucher_id,
  u.amount_used,
  u.used_at,
  u.order_nr
FROM jdash.voucher_usage AS u
WHERE
  u.company_id = ? AND u.used_at < CAST(? AS DATETIME2)
ORDER BY
  CASE WHEN u.voucher_id IS NULL THEN 1 ELSE 0 END, u.voucher_id,
  CASE WHEN u.used_at IS NULL THEN 1 ELSE 0 END, u.used_at,
  CASE WHEN u.amount_used IS NULL THEN 1 ELSE 0 END, u.amount_used,
  CASE WHEN u.order_nr IS NULL THEN 1 ELSE 0 END, u.order_nr
