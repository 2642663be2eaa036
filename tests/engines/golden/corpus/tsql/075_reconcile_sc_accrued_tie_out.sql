SELECT
  COALESCE(b.gl_account_no, e.gl_account_no) AS gl_account_no,
  COALESCE(b.balance, 0) AS balance,
  COALESCE(e.entries, 0) AS entries
FROM (
  SELECT
    gl_account_no AS gl_account_no,
    SUM(balance_lcy) AS balance
  FROM rc_cr_04_ec_ng_202509
  WHERE
    gl_account_no IN (?) AND closing_date = ?
  GROUP BY
    gl_account_no
) AS b
FULL OUTER JOIN (
  SELECT
    gl_account_no AS gl_account_no,
    SUM(amount) AS entries
  FROM rc_cr_03_ec_ng_202509
  WHERE
    gl_account_no IN (?) AND posting_date <= ?
  GROUP BY
    gl_account_no
) AS e
  ON b.gl_account_no = e.gl_account_no
ORDER BY
  COALESCE(b.gl_account_no, e.gl_account_no)
