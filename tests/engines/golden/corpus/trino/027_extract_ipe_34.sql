WITH cased AS (
  SELECT
    i.company_id,
    i.sales_order_item_id,
    i.order_nr,
    i.customer_id,
    i.current_status,
    i.refunded_at,
    i.returned_at,
    i.paid_price,
    CASE
      WHEN i.refunded_at < CAST(CAST('2025-10-01' AS DATE) AS TIMESTAMP)
      AND (
        i.returned_at IS NULL
        OR i.returned_at >= CAST(CAST('2025-10-01' AS DATE) AS TIMESTAMP)
      )
      THEN 'Refunded not yet returned'
      WHEN i.returned_at < CAST(CAST('2025-10-01' AS DATE) AS TIMESTAMP)
      AND (
        i.refunded_at IS NULL
        OR i.refunded_at >= CAST(CAST('2025-10-01' AS DATE) AS TIMESTAMP)
      )
      THEN 'Returned not yet refunded'
      WHEN i.refunded_at < CAST(CAST('2025-10-01' AS DATE) AS TIMESTAMP)
      AND i.returned_at < CAST(CAST('2025-10-01' AS DATE) AS TIMESTAMP)
      AND (
        i.refunded_at >= CAST(CAST('2025-09-01' AS DATE) AS TIMESTAMP)
        OR i.returned_at >= CAST(CAST('2025-09-01' AS DATE) AS TIMESTAMP)
      )
      THEN 'Settled'
    END AS refund_case
  FROM oms.sales_order_items AS i
  WHERE
    i.company_id = ? AND i.is_marketplace = TRUE
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
    ELSE CAST(0 AS DECIMAL(18, 2))
  END AS signed_amount,
  CAST(CASE WHEN c.refund_case = 'Settled' THEN 0 ELSE 1 END AS BOOLEAN) AS in_tv
FROM cased AS c
WHERE
  NOT c.refund_case IS NULL
ORDER BY
  c.sales_order_item_id
