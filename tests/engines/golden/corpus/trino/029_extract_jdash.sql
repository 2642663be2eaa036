SELECT
  u.company_id,
  u.voucher_id,
  u.amount_used,
  u.used_at,
  u.order_nr
FROM jdash.voucher_usage AS u
WHERE
  u.company_id = ? AND u.used_at < CAST(? AS TIMESTAMP)
ORDER BY
  u.voucher_id,
  u.used_at,
  u.amount_used,
  u.order_nr
