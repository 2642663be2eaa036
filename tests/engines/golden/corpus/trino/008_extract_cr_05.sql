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
  AND f.year = EXTRACT(YEAR FROM CAST(? AS DATE))
  AND f.month = EXTRACT(MONTH FROM CAST(? AS DATE))
ORDER BY
  f.company_id
