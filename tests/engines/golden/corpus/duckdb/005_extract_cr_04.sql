SELECT
  b.company_id,
  b.closing_date,
  b.gl_account_no,
  b.currency,
  b.balance_lcy,
  b.refreshed_at
FROM nav.gl_balances AS b
WHERE
  b.company_id = $company_id
  AND b.closing_date = $cutoff
  AND b.gl_account_no IN (
    $gl_accounts__0,
    $gl_accounts__1,
    $gl_accounts__2,
    $gl_accounts__3,
    $gl_accounts__4,
    $gl_accounts__5,
    $gl_accounts__6,
    $gl_accounts__7,
    $gl_accounts__8,
    $gl_accounts__9
  )
ORDER BY
  b.gl_account_no
