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
                  (
                    (
                      (
                        (
                          company_id IS NULL OR entry_no IS NULL
                        ) OR customer_no IS NULL
                      )
                      OR customer_name IS NULL
                    )
                    OR customer_posting_group IS NULL
                  )
                  OR posting_date IS NULL
                )
                OR due_date IS NULL
              )
              OR remaining_amount_lcy IS NULL
            )
            OR due_bucket IS NULL
          )
          OR in_tv IS NULL
        )
        THEN 1
        ELSE 0
      END
    ) AS r1_failing,
    COUNT(*) - COUNT(DISTINCT entry_no) AS r2_failing,
    SUM(
      CASE
        WHEN (
          NOT due_bucket IS NULL
          AND NOT due_bucket IN ('Overdue', 'Due this month', 'Not yet due')
        )
        THEN 1
        ELSE 0
      END
    ) AS r3_failing,
    SUM(
      CASE
        WHEN (
          NOT COALESCE((
            in_tv = (
              remaining_amount_lcy <> 0
            )
          ), FALSE)
        )
        THEN 1
        ELSE 0
      END
    ) AS r4_failing
  FROM ds_ipe_07
) AS p0
CROSS JOIN (
  SELECT
    p.failing AS r0_failing,
    p.left_remaining AS r0_left_remaining,
    p.right_remaining AS r0_right_remaining,
    p.left_open_documents AS r0_left_open_documents,
    p.right_open_documents AS r0_right_open_documents
  FROM (
    WITH l AS (
      SELECT
        SUM(remaining_amount_lcy) AS remaining,
        SUM(CASE WHEN in_tv THEN 1 ELSE 0 END) AS open_documents
      FROM ds_ipe_07
    ), r AS (
      SELECT
        remaining,
        open_documents
      FROM (
        SELECT
          SUM(r.remaining) AS remaining,
          SUM(CASE WHEN r.remaining <> 0 THEN 1 ELSE 0 END) AS open_documents
        FROM (
          SELECT
            e.entry_no,
            SUM(d.amount_lcy) AS remaining
          FROM nav.customer_ledger_entries AS e
          JOIN nav.detailed_customer_ledger_entries AS d
            ON d.company_id = e.company_id AND d.cust_ledger_entry_no = e.entry_no
          WHERE
            e.company_id = ?
            AND e.posting_date <= ?
            AND d.posting_date <= ?
            AND e.customer_posting_group IN (
              ?,
              ?,
              ?,
              ?,
              ?,
              ?,
              ?,
              ?,
              ?,
              ?,
              ?,
              ?,
              ?,
              ?,
              ?,
              ?,
              ?
            )
          GROUP BY
            e.entry_no
        ) AS r
      ) AS src
    )
    SELECT
      SUM(
        CASE
          WHEN (
            COALESCE(l.remaining, 0) IS DISTINCT FROM COALESCE(r.remaining, 0)
            OR COALESCE(l.open_documents, 0) IS DISTINCT FROM COALESCE(r.open_documents, 0)
          )
          THEN 1
          ELSE 0
        END
      ) AS failing,
      SUM(COALESCE(l.remaining, 0)) AS left_remaining,
      SUM(COALESCE(r.remaining, 0)) AS right_remaining,
      SUM(COALESCE(l.open_documents, 0)) AS left_open_documents,
      SUM(COALESCE(r.open_documents, 0)) AS right_open_documents
    FROM l AS l
    CROSS JOIN r AS r
  ) AS p
) AS p1
