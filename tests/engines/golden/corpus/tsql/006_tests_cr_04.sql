WITH source_0 AS (
  SELECT
    e.gl_account_no AS gl_account_no,
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
), l AS (
  SELECT
    gl_account_no AS gl_account_no,
    SUM(balance_lcy) AS balance_lcy
  FROM ds_cr_04
  GROUP BY
    gl_account_no
), r AS (
  SELECT
    gl_account_no AS gl_account_no,
    balance_lcy AS balance_lcy
  FROM source_0 AS src
)
SELECT
  *
FROM (
  SELECT
    COUNT(*) AS row_count,
    SUM(
      CASE
        WHEN (
          (
            (
              company_id IS NULL OR closing_date IS NULL
            ) OR gl_account_no IS NULL
          )
          OR balance_lcy IS NULL
        )
        THEN 1
        ELSE 0
      END
    ) AS r1_failing,
    SUM(
      CASE
        WHEN (
          refreshed_at < CAST(? AS DATETIME2) OR refreshed_at IS NULL
        )
        THEN 1
        ELSE 0
      END
    ) AS r4_failing,
    MIN(refreshed_at) AS r4_min
  FROM ds_cr_04
) AS p0
CROSS JOIN (
  SELECT
    p.failing AS r0_failing,
    p.left_balance_lcy AS r0_left_balance_lcy,
    p.right_balance_lcy AS r0_right_balance_lcy
  FROM (
    SELECT
      SUM(
        CASE
          WHEN (
            NOT EXISTS(
              SELECT
                COALESCE(l.balance_lcy, 0)
              INTERSECT
              SELECT
                COALESCE(r.balance_lcy, 0)
            )
          )
          THEN 1
          ELSE 0
        END
      ) AS failing,
      SUM(COALESCE(l.balance_lcy, 0)) AS left_balance_lcy,
      SUM(COALESCE(r.balance_lcy, 0)) AS right_balance_lcy
    FROM l AS l
    FULL OUTER JOIN r AS r
      ON l.gl_account_no = r.gl_account_no
  ) AS p
) AS p1
CROSS JOIN (
  SELECT
    p.failing AS r2_failing
  FROM (
    SELECT
      COALESCE(SUM(n - 1), 0) AS failing
    FROM (
      SELECT
        company_id AS company_id,
        gl_account_no AS gl_account_no,
        COUNT(*) AS n
      FROM ds_cr_04
      GROUP BY
        company_id,
        gl_account_no
      HAVING
        COUNT(*) > 1
    ) AS d
  ) AS p
) AS p2
CROSS JOIN (
  SELECT
    p.witnesses AS r3_witnesses,
    p.failing AS r3_failing
  FROM (
    SELECT
      COUNT(*) AS witnesses,
      SUM(
        CASE
          WHEN (
            NOT EXISTS(
              SELECT
                1
              FROM ds_cr_04 AS d
              WHERE
                d.gl_account_no = w.gl_account_no
            )
          )
          THEN 1
          ELSE 0
        END
      ) AS failing
    FROM source_0 AS w
  ) AS p
) AS p3
