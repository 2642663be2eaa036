WITH paid AS (
  SELECT
    i.company_id,
    i.sales_order_item_id,
    i.order_nr,
    i.customer_id,
    i.payment_method,
    i.delivery_type,
    i.current_status,
    i.package_id,
    i.finance_verified_at,
    i.delivered_at,
    i.package_delivered_at,
    i.refunded_at,
    i.cancelled_at,
    i.paid_price,
    CASE
      WHEN i.delivery_type IN ('Digital Content', 'Gift Card')
      THEN i.delivered_at
      ELSE i.package_delivered_at
    END AS delivery_at
  FROM oms.sales_order_items AS i
  WHERE
    i.company_id = $company_id
    AND i.is_prepayment = TRUE
    AND i.finance_verified_at < CAST($as_of AS TIMESTAMP)
), released AS (
  /* The earliest of three nullable timestamps, NULLs ignored, written as CASE because the */
  /* engines' min-of-values functions treat NULL differently. */
  SELECT
    p.*,
    CASE
      WHEN NOT p.delivery_at IS NULL
      AND (
        p.refunded_at IS NULL OR p.delivery_at <= p.refunded_at
      )
      AND (
        p.cancelled_at IS NULL OR p.delivery_at <= p.cancelled_at
      )
      THEN p.delivery_at
      WHEN NOT p.refunded_at IS NULL
      AND (
        p.cancelled_at IS NULL OR p.refunded_at <= p.cancelled_at
      )
      THEN p.refunded_at
      ELSE p.cancelled_at
    END AS released_at
  FROM paid AS p
)
SELECT
  r.company_id,
  r.sales_order_item_id,
  r.order_nr,
  r.customer_id,
  r.payment_method,
  r.delivery_type,
  r.current_status,
  r.package_id,
  r.finance_verified_at,
  r.delivered_at,
  r.package_delivered_at,
  r.refunded_at,
  r.cancelled_at,
  r.released_at,
  r.paid_price,
  CAST(CASE
    WHEN r.released_at IS NULL OR r.released_at >= CAST($as_of AS TIMESTAMP)
    THEN 1
    ELSE 0
  END AS BOOLEAN) AS in_tv
FROM released AS r
WHERE
  r.released_at IS NULL OR r.released_at >= CAST($period_start AS TIMESTAMP)
ORDER BY
  r.sales_order_item_id
