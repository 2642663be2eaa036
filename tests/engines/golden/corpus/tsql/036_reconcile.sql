WITH open_docs AS (
  SELECT
    *
  FROM rc_ipe_07_ec_ng_202509
  WHERE
    in_tv <> 0
), lines AS (
  SELECT
    customer_no AS customer_no,
    busline_code AS busline_code,
    COUNT(*) AS documents,
    SUM(remaining_amount_lcy) AS balance
  FROM open_docs
  GROUP BY
    customer_no,
    busline_code
), nonzero AS (
  SELECT
    *
  FROM lines
  WHERE
    balance <> 0
), spread AS (
  SELECT
    customer_no AS customer_no
  FROM nonzero
  GROUP BY
    customer_no
  HAVING
    COUNT(*) > 1
), ranked AS (
  SELECT
    n.customer_no AS customer_no,
    n.busline_code AS busline_code,
    n.documents AS documents,
    n.balance AS balance,
    ROW_NUMBER() OVER (
      PARTITION BY n.customer_no
      ORDER BY ABS(n.balance) DESC, CASE WHEN CASE WHEN n.busline_code IS NULL THEN 1 ELSE 0 END IS NULL THEN 1 ELSE 0 END, CASE WHEN n.busline_code IS NULL THEN 1 ELSE 0 END ASC, CASE WHEN n.busline_code IS NULL THEN 1 ELSE 0 END, n.busline_code ASC
    ) AS rank_in_customer,
    SUM(n.balance) OVER (PARTITION BY n.customer_no) AS customer_balance
  FROM nonzero AS n
  JOIN spread AS s
    ON s.customer_no = n.customer_no
)
SELECT
  customer_no,
  busline_code,
  documents,
  balance,
  CASE WHEN rank_in_customer = 1 THEN CAST(1 AS BIT) ELSE CAST(0 AS BIT) END AS is_target,
  CASE WHEN rank_in_customer = 1 THEN customer_balance - balance ELSE -balance END AS move_amount,
  customer_balance
FROM ranked
ORDER BY
  customer_no,
  rank_in_customer
