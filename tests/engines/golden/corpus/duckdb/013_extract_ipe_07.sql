WITH applied AS (
  SELECT
    d.cust_ledger_entry_no,
    CAST(SUM(d.amount_lcy) AS DECIMAL(18, 2)) AS remaining_amount_lcy,
    MAX(d.posting_date) AS last_entry_date
  FROM nav.detailed_customer_ledger_entries AS d
  WHERE
    d.company_id = $company_id AND d.posting_date <= $cutoff
  GROUP BY
    d.cust_ledger_entry_no
), documents AS (
  SELECT
    e.company_id,
    e.entry_no,
    e.customer_no,
    c.customer_name,
    e.customer_posting_group,
    e.busline_code,
    e.document_no,
    e.document_type,
    e.posting_date,
    e.due_date,
    e.gl_account_no,
    e.currency,
    e.original_amount_lcy,
    COALESCE(a.remaining_amount_lcy, CAST(0 AS DECIMAL(18, 2))) AS remaining_amount_lcy,
    a.last_entry_date
  FROM nav.customer_ledger_entries AS e
  LEFT JOIN applied AS a
    ON a.cust_ledger_entry_no = e.entry_no
  LEFT JOIN nav.customers AS c
    ON c.company_id = e.company_id AND c.customer_no = e.customer_no
  WHERE
    e.company_id = $company_id
    AND e.posting_date <= $cutoff
    AND e.customer_posting_group IN (
      $posting_groups__0,
      $posting_groups__1,
      $posting_groups__2,
      $posting_groups__3,
      $posting_groups__4,
      $posting_groups__5,
      $posting_groups__6,
      $posting_groups__7,
      $posting_groups__8,
      $posting_groups__9,
      $posting_groups__10,
      $posting_groups__11,
      $posting_groups__12,
      $posting_groups__13,
      $posting_groups__14,
      $posting_groups__15,
      $posting_groups__16
    )
)
SELECT
  o.company_id,
  o.entry_no,
  o.customer_no,
  o.customer_name,
  o.customer_posting_group,
  o.busline_code,
  o.document_no,
  o.document_type,
  o.posting_date,
  o.due_date,
  o.gl_account_no,
  o.currency,
  o.original_amount_lcy,
  o.remaining_amount_lcy,
  CASE
    WHEN o.due_date < $period_start
    THEN 'Overdue'
    WHEN o.due_date <= $cutoff
    THEN 'Due this month'
    ELSE 'Not yet due'
  END AS due_bucket,
  CAST(CASE WHEN o.remaining_amount_lcy <> 0 THEN 1 ELSE 0 END AS BOOLEAN) AS in_tv
FROM documents AS o
WHERE
  o.remaining_amount_lcy <> 0 OR o.last_entry_date >= $period_start
ORDER BY
  o.entry_no
