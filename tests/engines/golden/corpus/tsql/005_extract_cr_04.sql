SELECT
  b.company_id,
  b.closing_date,
  b.gl_account_no,
  b.currency,
  b.balance_lcy,
  b.refreshed_at
FROM nav.gl_balances AS b
WHERE
  b.company_id = ?
  AND b.closing_date = ?
  AND b.gl_account_no IN (
    ?,
    ?,
    ?,
    ?,
    ?,
    ?,
    ?,
    ?,
    ?,
    ?
  )
ORDER BY
  CASE WHEN b.gl_account_no IS NULL THEN 1 ELSE 0 END, b.gl_account_no
