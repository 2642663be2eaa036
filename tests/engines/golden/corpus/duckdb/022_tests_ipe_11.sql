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
                company_id IS NULL OR transaction_id IS NULL
              ) OR created_at IS NULL
            )
            OR amount IS NULL
          )
          OR in_tv IS NULL
        )
        THEN 1
        ELSE 0
      END
    ) AS r1_failing,
    COUNT(*) - COUNT(DISTINCT transaction_id) AS r2_failing,
    SUM(
      CASE
        WHEN (
          NOT asg_level_1 IS NULL AND NOT asg_level_1 IN ('Revenues')
        )
        THEN 1
        ELSE 0
      END
    ) AS r3_failing
  FROM ds_ipe_11
) AS p0
CROSS JOIN (
  SELECT
    p.failing AS r0_failing,
    p.left_accrued AS r0_left_accrued,
    p.right_accrued AS r0_right_accrued,
    p.left_amount AS r0_left_amount,
    p.right_amount AS r0_right_amount
  FROM (
    WITH l AS (
      SELECT
        SUM(CASE WHEN in_tv THEN 1 ELSE 0 END) AS accrued,
        SUM(CASE WHEN in_tv THEN amount ELSE 0 END) AS amount
      FROM ds_ipe_11
    ), r AS (
      SELECT
        accrued,
        amount
      FROM (
        SELECT
          COUNT(*) AS accrued,
          SUM(t.amount) AS amount
        FROM seller_center.transactions AS t
        WHERE
          t.company_id = $company_id
          AND t.asg_level_1 = 'Revenues'
          AND t.created_at < CAST($as_of AS TIMESTAMP)
          AND NOT COALESCE(
            t.account_statement_id IN (
              SELECT
                s.account_statement_id
              FROM seller_center.account_statements AS s
              WHERE
                s.company_id = $company_id AND s.end_date <= $cutoff
            ),
            FALSE
          )
      ) AS src
    )
    SELECT
      SUM(
        CASE
          WHEN (
            COALESCE(l.accrued, 0) IS DISTINCT FROM COALESCE(r.accrued, 0)
            OR COALESCE(l.amount, 0) IS DISTINCT FROM COALESCE(r.amount, 0)
          )
          THEN 1
          ELSE 0
        END
      ) AS failing,
      SUM(COALESCE(l.accrued, 0)) AS left_accrued,
      SUM(COALESCE(r.accrued, 0)) AS right_accrued,
      SUM(COALESCE(l.amount, 0)) AS left_amount,
      SUM(COALESCE(r.amount, 0)) AS right_amount
    FROM l AS l
    CROSS JOIN r AS r
  ) AS p
) AS p1
CROSS JOIN (
  SELECT
    p.witnesses AS r4_witnesses,
    p.failing AS r4_failing
  FROM (
    SELECT
      COUNT(*) AS witnesses,
      SUM(
        CASE
          WHEN (
            EXISTS(
              SELECT
                1
              FROM ds_ipe_11 AS d
              WHERE
                d.transaction_id = w.transaction_id
            )
          )
          THEN 1
          ELSE 0
        END
      ) AS failing
    FROM (
      SELECT
        t.transaction_id
      FROM seller_center.transactions AS t
      WHERE
        t.company_id = $company_id AND t.created_at >= CAST($as_of AS TIMESTAMP)
    ) AS w
  ) AS p
) AS p2
