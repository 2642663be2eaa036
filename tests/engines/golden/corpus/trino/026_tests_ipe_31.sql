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
                  company_id IS NULL OR country_code IS NULL
                ) OR transaction_id IS NULL
              )
              OR event_at IS NULL
            )
            OR amount IS NULL
          )
          OR in_tv IS NULL
        )
        THEN 1
        ELSE 0
      END
    ) AS r1_failing,
    COUNT(*) - COUNT(DISTINCT transaction_id) AS r2_failing,
    SUM(CASE WHEN (
      amount = 0
    ) THEN 1 ELSE 0 END) AS r3_failing,
    SUM(
      CASE
        WHEN (
          NOT COALESCE((
            NOT country_code IN ('TN', 'TZ', 'ZA')
          ), FALSE)
        )
        THEN 1
        ELSE 0
      END
    ) AS r4_failing
  FROM ds_ipe_31
) AS p0
CROSS JOIN (
  SELECT
    p.failing AS r0_failing,
    p.left_open_items AS r0_left_open_items,
    p.right_open_items AS r0_right_open_items,
    p.left_amount AS r0_left_amount,
    p.right_amount AS r0_right_amount
  FROM (
    WITH l AS (
      SELECT
        SUM(CASE WHEN in_tv THEN 1 ELSE 0 END) AS open_items,
        SUM(CASE WHEN in_tv THEN amount ELSE 0 END) AS amount
      FROM ds_ipe_31
    ), r AS (
      SELECT
        open_items,
        amount
      FROM (
        SELECT
          COUNT(*) AS open_items,
          SUM(t.amount) AS amount
        FROM oms.collection_transactions AS t
        WHERE
          t.company_id = ?
          AND t.event_at < CAST(? AS TIMESTAMP)
          AND t.amount <> 0
          AND NOT COALESCE(t.settled_at < CAST(? AS TIMESTAMP), FALSE)
          AND EXISTS(
            SELECT
              1
            FROM ref.companies AS c
            WHERE
              c.company_id = t.company_id AND NOT c.country_code IN (?, ?, ?)
          )
      ) AS src
    )
    SELECT
      SUM(
        CASE
          WHEN (
            COALESCE(l.open_items, 0) IS DISTINCT FROM COALESCE(r.open_items, 0)
            OR COALESCE(l.amount, 0) IS DISTINCT FROM COALESCE(r.amount, 0)
          )
          THEN 1
          ELSE 0
        END
      ) AS failing,
      SUM(COALESCE(l.open_items, 0)) AS left_open_items,
      SUM(COALESCE(r.open_items, 0)) AS right_open_items,
      SUM(COALESCE(l.amount, 0)) AS left_amount,
      SUM(COALESCE(r.amount, 0)) AS right_amount
    FROM l AS l
    CROSS JOIN r AS r
  ) AS p
) AS p1
