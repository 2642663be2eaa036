SELECT
  o.company_id,
  o.order_id,
  o.order_nr,
  o.customer_id,
  o.order_date,
  o.total_amount,
  o.order_status
FROM bob.sales_orders AS o
WHERE
  o.company_id = ?
  AND o.order_date >= CAST(? AS TIMESTAMP)
  AND o.order_date < CAST(? AS TIMESTAMP)
ORDER BY
  o.order_id
