WITH l AS (
  SELECT
    gl_account_no,
    SUM(balance_lcy) AS balance_lcy
  FROM ds_cr_04
  GROUP BY
    gl_account_no
), r AS (
  SELECT
    gl_account_no,
    balance_lcy
  FROM (
    SELECT
      e.gl_account_no,
      SUM(e.amount) AS balance_lcy
    FROM nav.gl_entries AS e
    WHERE
      e.company_id = ?
      AND e.posting_date <= ?
      AND e.gl_account_no IN (
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
    GROUP BY
      e.gl_account_no
  ) AS src
)
SELECT
  COALESCE(l.gl_account_no, r.gl_account_no) AS gl_account_no,
  COALESCE(l.balance_lcy, 0) AS extract_balance_lcy,
  COALESCE(r.balance_lcy, 0) AS other_balance_lcy
FROM l AS l
FULL OUTER JOIN r AS r
  ON l.gl_account_no = r.gl_account_no
WHERE
  COALESCE(l.balance_lcy, 0) IS DISTINCT FROM COALESCE(r.balance_lcy, 0)
ORDER BY
  gl_account_no
LIMIT 20
