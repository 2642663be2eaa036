WITH l AS (
  SELECT
    SUM(signed_amount) AS signed_amount
  FROM ds_ipe_34
), r AS (
  SELECT
    signed_amount AS signed_amount
  FROM (
    SELECT
      SUM(
        CASE
          WHEN i.refunded_at < CAST(? AS DATETIME2)
          AND NOT COALESCE(
            CAST(CASE
              WHEN i.returned_at < CAST(? AS DATETIME2)
              THEN 1
              WHEN NOT (
                i.returned_at < CAST(? AS DATETIME2)
              )
              THEN 0
            END AS BIT),
            CAST(0 AS BIT)
          ) <> 0
          THEN i.paid_price
          WHEN i.returned_at < CAST(? AS DATETIME2)
          AND NOT COALESCE(
            CAST(CASE
              WHEN i.refunded_at < CAST(? AS DATETIME2)
              THEN 1
              WHEN NOT (
                i.refunded_at < CAST(? AS DATETIME2)
              )
              THEN 0
            END AS BIT),
            CAST(0 AS BIT)
          ) <> 0
          THEN -i.paid_price
          ELSE 0
        END
      ) AS signed_amount
    FROM oms.sales_order_items AS i
    WHERE
      i.company_id = ? AND i.is_marketplace = CAST(1 AS BIT)
  ) AS src
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
                  company_id IS NULL OR sales_order_item_id IS NULL
                ) OR refund_case IS NULL
              )
              OR paid_price IS NULL
            )
            OR signed_amount IS NULL
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
          NOT refund_case IS NULL
          AND NOT refund_case IN ('Refunded not yet returned', 'Returned not yet refunded', 'Settled')
        )
        THEN 1
        ELSE 0
      END
    ) AS r3_failing,
    SUM(
      CASE
        WHEN (
          NOT COALESCE(
            (
              CAST(CASE
                WHEN signed_amount = CASE refund_case
                  WHEN 'Refunded not yet returned'
                  THEN paid_price
                  WHEN 'Returned not yet refunded'
                  THEN -paid_price
                  ELSE 0
                END
                THEN 1
                WHEN NOT (
                  signed_amount = CASE refund_case
                    WHEN 'Refunded not yet returned'
                    THEN paid_price
                    WHEN 'Returned not yet refunded'
                    THEN -paid_price
                    ELSE 0
                  END
                )
                THEN 0
              END AS BIT)
            ),
            CAST(0 AS BIT)
          ) <> 0
        )
        THEN 1
        ELSE 0
      END
    ) AS r4_failing
  FROM ds_ipe_34
) AS p0
CROSS JOIN (
  SELECT
    p.failing AS r0_failing,
    p.left_signed_amount AS r0_left_signed_amount,
    p.right_signed_amount AS r0_right_signed_amount
  FROM (
    SELECT
      SUM(
        CASE
          WHEN (
            NOT EXISTS(
              SELECT
                COALESCE(l.signed_amount, 0)
              INTERSECT
              SELECT
                COALESCE(r.signed_amount, 0)
            )
          )
          THEN 1
          ELSE 0
        END
      ) AS failing,
      SUM(COALESCE(l.signed_amount, 0)) AS left_signed_amount,
      SUM(COALESCE(r.signed_amount, 0)) AS right_signed_amount
    FROM l AS l
    CROSS JOIN r AS r
  ) AS p
) AS p1
