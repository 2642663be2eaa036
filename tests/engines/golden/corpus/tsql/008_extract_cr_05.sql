SELECT
  f.company_id,
  f.year,
  f.month,
  f.rate_type,
  f.currency,
  f.rate_lcy_per_usd
FROM ref.fx_rates AS f
WHERE
  f.company_id = ?
  AND f.rate_type = 'Closing'
  AND f.year = DATEPART(YEAR, CAST(? AS DATE))
  AND f.month = DATEPART(MONTH, CAST(? AS DATE))
ORDER BY
  CASE WHEN f.company_id IS NULL THEN 1 ELSE 0 END, f.company_id
