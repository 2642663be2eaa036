WITH l AS (
  SELECT
    gl_account_no AS gl_account_no,
    COUNT_BIG(*) AS entries,
    SUM(amount) AS amount
  FROM ds_cr_03
  GROUP BY
    gl_account_no
), r AS (
  SELECT
    gl_account_no AS gl_account_no,
    entries AS entries,
    amount AS amount
  FROM (
    SELECT
      e.gl_account_no AS gl_account_no,
      COUNT_BIG(*) AS entries,
      SUM(e.amount) AS amount
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
  SUM(
    CASE
      WHEN (
        NOT EXISTS(
          SELECT
            COALESCE(l.entries, 0)
          INTERSECT
          SELECT
            COALESCE(r.entries, 0)
        )
        OR NOT EXISTS(
          SELECT
            COALESCE(l.amount, 0)
          INTERSECT
          SELECT
            COALESCE(r.amount, 0)
        )
      )
      THEN 1
      ELSE 0
    END
  ) AS failing,
  SUM(COALESCE(l.entries, 0)) AS left_entries,
  SUM(COALESCE(r.entries, 0)) AS right_entries,
  SUM(COALESCE(l.amount, 0)) AS left_amount,
  SUM(COALESCE(r.amount, 0)) AS right_amount
FROM l AS l
FULL OUTER JOIN r AS r
  ON l.gl_account_no = r.gl_account_no
