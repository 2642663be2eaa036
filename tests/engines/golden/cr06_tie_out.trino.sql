WITH l AS (
  SELECT
    d._at AS posting_date,
    x.gl_account_no,
    SUM(amount) AS amount
  FROM (
    SELECT DISTINCT
      posting_date AS _at
    FROM (
      SELECT
        m.gl_account_no,
        m.closing_date AS posting_date,
        m.balance_lcy - COALESCE(c.balance_lcy, 0) AS amount
      FROM nav.gl_balances AS m
      LEFT JOIN (
        SELECT
          b.gl_account_no,
          b.balance_lcy
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
      ) AS c
        ON c.gl_account_no = m.gl_account_no
      WHERE
        m.company_id = ?
        AND m.closing_date > ?
        AND m.closing_date <= ?
        AND m.closing_date <= ?
        AND m.gl_account_no IN (
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
    ) AS src
  ) AS d
  JOIN ds_cr_06 AS x
    ON x.posting_date <= d._at
  GROUP BY
    d._at,
    x.gl_account_no
), r AS (
  SELECT
    gl_account_no,
    posting_date,
    amount
  FROM (
    SELECT
      m.gl_account_no,
      m.closing_date AS posting_date,
      m.balance_lcy - COALESCE(c.balance_lcy, 0) AS amount
    FROM nav.gl_balances AS m
    LEFT JOIN (
      SELECT
        b.gl_account_no,
        b.balance_lcy
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
    ) AS c
      ON c.gl_account_no = m.gl_account_no
    WHERE
      m.company_id = ?
      AND m.closing_date > ?
      AND m.closing_date <= ?
      AND m.closing_date <= ?
      AND m.gl_account_no IN (
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
  ) AS src
)
SELECT
  SUM(
    CASE
      WHEN (
        COALESCE(l.amount, 0) IS DISTINCT FROM COALESCE(r.amount, 0)
      )
      THEN 1
      ELSE 0
    END
  ) AS failing,
  SUM(COALESCE(l.amount, 0)) AS left_amount,
  SUM(COALESCE(r.amount, 0)) AS right_amount
FROM l AS l
FULL OUTER JOIN r AS r
  ON l.gl_account_no = r.gl_account_no AND l.posting_date = r.posting_date
