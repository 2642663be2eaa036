WITH source_0 AS (
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
              (
                (
                  (
                    company_id IS NULL OR entry_no IS NULL
                  ) OR posting_date IS NULL
                )
                OR gl_account_no IS NULL
              )
              OR amount IS NULL
            )
            OR user_id IS NULL
          )
          OR integration_type IS NULL
        )
        THEN 1
        ELSE 0
      END
    ) AS r2_failing,
    COUNT(*) - COUNT(DISTINCT entry_no) AS r3_failing,
    SUM(
      CASE
        WHEN (
          NOT COALESCE(
            (
              integration_type = CASE WHEN user_id = 'JUMIA\NAV31AFR.BATCH.SRVC' THEN 'Integration' ELSE 'Manual' END
            ),
            FALSE
          )
        )
        THEN 1
        ELSE 0
      END
    ) AS r4_failing
  FROM ds_cr_06
) AS p0
CROSS JOIN (
  SELECT
    p.failing AS r0_failing,
    p.left_amount AS r0_left_amount,
    p.right_amount AS r0_right_amount
  FROM (
    WITH l AS (
      SELECT
        d._at AS posting_date,
        x.gl_account_no,
        SUM(amount) AS amount
      FROM (
        SELECT DISTINCT
          posting_date AS _at
        FROM source_0 AS src
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
      FROM source_0 AS src
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
  ) AS p
) AS p1
CROSS JOIN (
  SELECT
    p.failing AS r1_failing,
    p.left_entries AS r1_left_entries,
    p.right_entries AS r1_right_entries,
    p.left_amount AS r1_left_amount,
    p.right_amount AS r1_right_amount
  FROM (
    WITH l AS (
      SELECT
        gl_account_no,
        COUNT(*) AS entries,
        SUM(amount) AS amount
      FROM ds_cr_06
      GROUP BY
        gl_account_no
    ), r AS (
      SELECT
        gl_account_no,
        entries,
        amount
      FROM (
        SELECT
          e.gl_account_no,
          COUNT(*) AS entries,
          SUM(e.amount) AS amount
        FROM nav.gl_entries AS e
        WHERE
          e.company_id = ?
          AND e.posting_date > ?
          AND e.posting_date <= ?
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
            COALESCE(l.entries, 0) IS DISTINCT FROM COALESCE(r.entries, 0)
            OR COALESCE(l.amount, 0) IS DISTINCT FROM COALESCE(r.amount, 0)
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
  ) AS p
) AS p2
CROSS JOIN (
  SELECT
    p.witnesses AS r5_witnesses,
    p.failing AS r5_failing
  FROM (
    SELECT
      COUNT(*) AS witnesses,
      SUM(
        CASE
          WHEN (
            EXISTS(
              SELECT
                1
              FROM ds_cr_06 AS d
              WHERE
                d.entry_no = w.entry_no
            )
          )
          THEN 1
          ELSE 0
        END
      ) AS failing
    FROM (
      SELECT
        e.entry_no
      FROM nav.gl_entries AS e
      WHERE
        e.company_id = ?
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
        AND (
          e.posting_date <= ?
          OR e.posting_date > ?
          OR e.posting_date > ?
        )
    ) AS w
  ) AS p
) AS p3
