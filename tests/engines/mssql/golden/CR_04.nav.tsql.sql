SELECT
  b.company_id,
  b.closing_date,
  b.gl_account_no,
  b.currency,
  b.balance_lcy,
  b.refreshed_at
FROM (
  SELECT
    [Company] AS company_id,
    [Closing Date] AS closing_date,
    [G_L Account No_] AS gl_account_no,
    [Currency Code] AS currency,
    [Balance (LCY)] AS balance_lcy,
    [Refreshed At] AS refreshed_at
  FROM [AIG_Nav_DW].[dbo].[G_L Balance View]
) AS b
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
