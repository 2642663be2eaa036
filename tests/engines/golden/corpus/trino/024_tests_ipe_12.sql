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
                company_id IS NULL OR package_id IS NULL
              ) OR delivered_at IS NULL
            )
            OR amount_expected IS NULL
          )
          OR in_tv IS NULL
        )
        THEN 1
        ELSE 0
      END
    ) AS r1_failing,
    COUNT(*) - COUNT(DISTINCT package_id) AS r2_failing,
    SUM(CASE WHEN (
      amount_expected < 0
    ) THEN 1 ELSE 0 END) AS r3_failing
  FROM ds_ipe_12
) AS p0
CROSS JOIN (
  SELECT
    p.failing AS r0_failing,
    p.left_packages AS r0_left_packages,
    p.right_packages AS r0_right_packages,
    p.left_amount_expected AS r0_left_amount_expected,
    p.right_amount_expected AS r0_right_amount_expected
  FROM (
    WITH l AS (
      SELECT
        SUM(CASE WHEN in_tv THEN 1 ELSE 0 END) AS packages,
        SUM(CASE WHEN in_tv THEN amount_expected ELSE 0 END) AS amount_expected
      FROM ds_ipe_12
    ), r AS (
      SELECT
        packages,
        amount_expected
      FROM (
        SELECT
          COUNT(*) AS packages,
          SUM(p.amount_expected) AS amount_expected
        FROM oms.packages AS p
        WHERE
          p.company_id = ?
          AND p.is_prepayment = FALSE
          AND p.payment_method <> 'NoPayment'
          AND p.delivered_at < CAST(? AS TIMESTAMP)
          AND NOT COALESCE(p.reconciled_at < CAST(? AS TIMESTAMP), FALSE)
      ) AS src
    )
    SELECT
      SUM(
        CASE
          WHEN (
            COALESCE(l.packages, 0) IS DISTINCT FROM COALESCE(r.packages, 0)
            OR COALESCE(l.amount_expected, 0) IS DISTINCT FROM COALESCE(r.amount_expected, 0)
          )
          THEN 1
          ELSE 0
        END
      ) AS failing,
      SUM(COALESCE(l.packages, 0)) AS left_packages,
      SUM(COALESCE(r.packages, 0)) AS right_packages,
      SUM(COALESCE(l.amount_expected, 0)) AS left_amount_expected,
      SUM(COALESCE(r.amount_expected, 0)) AS right_amount_expected
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
              FROM ds_ipe_12 AS d
              WHERE
                d.package_id = w.package_id
            )
          )
          THEN 1
          ELSE 0
        END
      ) AS failing
    FROM (
      SELECT
        p.package_id
      FROM oms.packages AS p
      WHERE
        p.company_id = ? AND p.payment_method = 'NoPayment'
    ) AS w
  ) AS p
) AS p2
CROSS JOIN (
  SELECT
    p.d1 AS r7_d1,
    p.d2 AS r7_d2,
    p.d3 AS r7_d3,
    p.d4 AS r7_d4,
    p.d5 AS r7_d5,
    p.d6 AS r7_d6,
    p.d7 AS r7_d7,
    p.d8 AS r7_d8,
    p.d9 AS r7_d9
  FROM (
    SELECT
      SUM(CASE WHEN (
        d = '1'
      ) THEN 1 ELSE 0 END) AS d1,
      SUM(CASE WHEN (
        d = '2'
      ) THEN 1 ELSE 0 END) AS d2,
      SUM(CASE WHEN (
        d = '3'
      ) THEN 1 ELSE 0 END) AS d3,
      SUM(CASE WHEN (
        d = '4'
      ) THEN 1 ELSE 0 END) AS d4,
      SUM(CASE WHEN (
        d = '5'
      ) THEN 1 ELSE 0 END) AS d5,
      SUM(CASE WHEN (
        d = '6'
      ) THEN 1 ELSE 0 END) AS d6,
      SUM(CASE WHEN (
        d = '7'
      ) THEN 1 ELSE 0 END) AS d7,
      SUM(CASE WHEN (
        d = '8'
      ) THEN 1 ELSE 0 END) AS d8,
      SUM(CASE WHEN (
        d = '9'
      ) THEN 1 ELSE 0 END) AS d9
    FROM (
      SELECT
        SUBSTR(CAST(ABS(amount_expected) AS VARCHAR), 1, 1) AS d
      FROM ds_ipe_12
      WHERE
        ABS(amount_expected) >= 1
    ) AS fd
  ) AS p
) AS p3
