WITH open_docs AS (
  SELECT
    *
  FROM rc_ipe_07_ec_ng_202509
  WHERE
    in_tv <> 0
), multi AS (
  SELECT
    customer_no AS customer_no
  FROM open_docs
  GROUP BY
    customer_no
  HAVING
    COUNT(DISTINCT customer_posting_group) > 1
)
SELECT
  o.customer_no,
  o.customer_posting_group,
  MAX(o.customer_name) AS customer_name,
  COUNT(*) AS documents,
  SUM(o.remaining_amount_lcy) AS balance
FROM open_docs AS o
JOIN multi AS m
  ON m.customer_no = o.customer_no
GROUP BY
  o.customer_no,
  o.customer_posting_group
ORDER BY
  customer_no,
  customer_posting_group
