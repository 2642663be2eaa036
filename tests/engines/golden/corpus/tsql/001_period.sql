SELECT
  MIN(closing_date) AS first,
  MAX(closing_date) AS last,
  SUM(CASE WHEN closing_date = ? THEN 1 ELSE 0 END) AS at_cutoff
FROM nav.gl_balances
