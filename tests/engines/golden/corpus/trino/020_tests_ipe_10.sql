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
                company_id IS NULL OR sales_order_item_id IS NULL
              )
              OR finance_verified_at IS NULL
            )
            OR paid_price IS NULL
          )
          OR in_tv IS NULL
        )
        THEN 1
        ELSE 0
      END
    ) AS r1_failing,
    COUNT(*) - COUNT(DISTINCT sales_order_item_id) AS r2_failing,
    SUM(
      CASE
        WHEN (
          NOT COALESCE(
            (
              in_tv = (
                released_at IS NULL
                OR released_at >= CAST(CAST('2025-10-01' AS DATE) AS TIMESTAMP)
              )
            ),
            FALSE
          )
        )
        THEN 1
        ELSE 0
      END
    ) AS r3_failing,
    SUM(CASE WHEN (
      paid_price < 0
    ) THEN 1 ELSE 0 END) AS r4_failing
  FROM ds_ipe_10
) AS p0
CROSS JOIN (
  SELECT
    p.failing AS r0_failing,
    p.left_open_items AS r0_left_open_items,
    p.right_open_items AS r0_right_open_items,
    p.left_paid_price AS r0_left_paid_price,
    p.right_paid_price AS r0_right_paid_price
  FROM (
    WITH l AS (
      SELECT
        SUM(CASE WHEN in_tv THEN 1 ELSE 0 END) AS open_items,
        SUM(CASE WHEN in_tv THEN paid_price ELSE 0 END) AS paid_price
      FROM ds_ipe_10
    ), r AS (
      SELECT
        open_items,
        paid_price
      FROM (
        SELECT
          COUNT(*) AS open_items,
          SUM(i.paid_price) AS paid_price
        FROM oms.sales_order_items AS i
        WHERE
          i.company_id = ?
          AND i.is_prepayment = TRUE
          AND i.finance_verified_at < CAST(? AS TIMESTAMP)
          AND NOT COALESCE(
            CASE
              WHEN i.delivery_type IN ('Digital Content', 'Gift Card')
              THEN i.delivered_at
              ELSE i.package_delivered_at
            END < CAST(? AS TIMESTAMP),
            FALSE
          )
          AND NOT COALESCE(i.refunded_at < CAST(? AS TIMESTAMP), FALSE)
          AND NOT COALESCE(i.cancelled_at < CAST(? AS TIMESTAMP), FALSE)
      ) AS src
    )
    SELECT
      SUM(
        CASE
          WHEN (
            COALESCE(l.open_items, 0) IS DISTINCT FROM COALESCE(r.open_items, 0)
            OR COALESCE(l.paid_price, 0) IS DISTINCT FROM COALESCE(r.paid_price, 0)
          )
          THEN 1
          ELSE 0
        END
      ) AS failing,
      SUM(COALESCE(l.open_items, 0)) AS left_open_items,
      SUM(COALESCE(r.open_items, 0)) AS right_open_items,
      SUM(COALESCE(l.paid_price, 0)) AS left_paid_price,
      SUM(COALESCE(r.paid_price, 0)) AS right_paid_price
    FROM l AS l
    CROSS JOIN r AS r
  ) AS p
) AS p1
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
        SUBSTR(CAST(ABS(paid_price) AS VARCHAR), 1, 1) AS d
      FROM ds_ipe_10
      WHERE
        ABS(paid_price) >= 1
    ) AS fd
  ) AS p
) AS p2
