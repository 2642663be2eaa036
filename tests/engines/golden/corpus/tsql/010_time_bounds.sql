SELECT
  MAX(refreshed_at) AS refreshed_at
FROM nav.gl_balances
WHERE
  company_id = ?
