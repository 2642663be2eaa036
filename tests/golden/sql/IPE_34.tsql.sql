WITH cased AS (
  SELECT
    i.company_id AS company_id,
    i.sales_order_item_id AS sales_order_item_id,
    i.order_nr AS order_nr,
    i.customer_id AS customer_id,
    i.current_status AS current_status,
    i.refunded_at AS refunded_at,
    i.returned_at AS returned_at,
    i.paid_price AS paid_price,
    CASE
      WHEN i.refunded_at < CAST(:as_of AS DATETIME2)
      AND (
        i.returned_at IS NULL OR i.returned_at >= CAST(:as_of AS DATETIME2)
      )
      THEN 'Refunded not yet returned'
      WHEN i.returned_at < CAST(:as_of AS DATETIME2)
      AND (
        i.refunded_at IS NULL OR i.refunded_at >= CAST(:as_of AS DATETIME2)
      )
      THEN 'Returned not yet refunded'
      WHEN i.refunded_at < CAST(:as_of AS DATETIME2)
      AND i.returned_at < CAST(:as_of AS DATETIME2)
      AND (
        i.refunded_at >= CAST(:period_start AS DATETIME2)
        OR i.returned_at >= CAST(:period_start AS DATETIME2)
      )
      THEN 'Settled'
    END AS refund_case
  FROM oms.sales_order_items AS i
  WHERE
    i.company_id = :company_id AND i.is_marketplace = CAST(1 AS BIT)
)
SELECT
  c.company_id,
  c.sales_order_item_id,
  c.order_nr,
  c.customer_id,
  c.current_status,
  c.refunded_at,
  c.returned_at,
  c.refund_case,
  c.paid_price,
  CASE
    WHEN c.refund_case = 'Refunded not yet returned'
    THEN c.paid_price
    WHEN c.refund_case = 'Returned not yet refunded'
    THEN -c.paid_price
    ELSE CAST(0 AS NUMERIC(18, 2))
  END AS signed_amount,
  CAST(CASE WHEN c.refund_case = 'Settled' THEN 0 ELSE 1 END AS BIT) AS in_tv
FROM cased AS c
WHERE
  NOT c.refund_case IS NULL
ORDER BY
  CASE WHEN c.sales_order_item_id IS NULL THEN 1 ELSE 0 END, c.sales_order_item_id
