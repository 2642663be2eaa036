SELECT
  in_period,
  category,
  voucher_type,
  COUNT(*) AS postings,
  SUM(amount) AS amount
FROM classified_voucher_postings
GROUP BY
  in_period,
  category,
  voucher_type
