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
                  company_id IS NULL OR order_id IS NULL
                ) OR order_nr IS NULL
              )
              OR customer_id IS NULL
            )
            OR order_date IS NULL
          )
          OR total_amount IS NULL
        )
        THEN 1
        ELSE 0
      END
    ) AS r1_failing,
    COUNT(*) - COUNT(DISTINCT order_id) AS r2_failing
  FROM ds_ipe_09
) AS p0
CROSS JOIN (
  SELECT
    p.failing AS r0_failing,
    p.left_orders AS r0_left_orders,
    p.right_orders AS r0_right_orders,
    p.left_total_amount AS r0_left_total_amount,
    p.right_total_amount AS r0_right_total_amount
  FROM (
    WITH l AS (
      SELECT
        COUNT(*) AS orders,
        SUM(total_amount) AS total_amount
      FROM ds_ipe_09
    ), r AS (
      SELECT
        orders,
        total_amount
      FROM (
        SELECT
          COUNT(*) AS orders,
          SUM(o.total_amount) AS total_amount
        FROM bob.sales_orders AS o
        WHERE
          o.company_id = ?
          AND o.order_date >= CAST(? AS TIMESTAMP)
          AND o.order_date < CAST(? AS TIMESTAMP)
      ) AS src
    )
    SELECT
      SUM(
        CASE
          WHEN (
            COALESCE(l.orders, 0) IS DISTINCT FROM COALESCE(r.orders, 0)
            OR COALESCE(l.total_amount, 0) IS DISTINCT FROM COALESCE(r.total_amount, 0)
          )
          THEN 1
          ELSE 0
        END
      ) AS failing,
      SUM(COALESCE(l.orders, 0)) AS left_orders,
      SUM(COALESCE(r.orders, 0)) AS right_orders,
      SUM(COALESCE(l.total_amount, 0)) AS left_total_amount,
      SUM(COALESCE(r.total_amount, 0)) AS right_total_amount
    FROM l AS l
    CROSS JOIN r AS r
  ) AS p
) AS p1
CROSS JOIN (
  SELECT
    p.rows AS r3_rows,
    p.failing AS r3_failing
  FROM (
    SELECT
      COUNT(*) AS rows,
      SUM(
        CASE
          WHEN (
            NOT EXISTS(
              SELECT
                1
              FROM (
                SELECT
                  i.order_nr
                FROM oms.sales_order_items AS i
                WHERE
                  i.company_id = ?
              ) AS s
              WHERE
                s.order_nr = d.order_nr
            )
          )
          THEN 1
          ELSE 0
        END
      ) AS failing
    FROM ds_ipe_09 AS d
  ) AS p
) AS p2
CROSS JOIN (
  SELECT
    p.d1 AS r6_d1,
    p.d2 AS r6_d2,
    p.d3 AS r6_d3,
    p.d4 AS r6_d4,
    p.d5 AS r6_d5,
    p.d6 AS r6_d6,
    p.d7 AS r6_d7,
    p.d8 AS r6_d8,
    p.d9 AS r6_d9
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
        SUBSTR(CAST(ABS(total_amount) AS VARCHAR), 1, 1) AS d
      FROM ds_ipe_09
      WHERE
        ABS(total_amount) >= 1
    ) AS fd
  ) AS p
) AS p3
