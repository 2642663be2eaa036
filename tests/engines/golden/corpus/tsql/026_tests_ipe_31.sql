WITH l AS (
  SELECT
    SUM(CASE WHEN in_tv <> 0 THEN 1 ELSE 0 END) AS open_items,
    SUM(CASE WHEN in_tv <> 0 THEN amount ELSE 0 END) AS amount
  FROM ds_ipe_31
), r AS (
  SELECT
    open_items AS open_items,
    amount AS amount
  FROM (
    SELECT
      COUNT_BIG(*) AS open_items,
      SUM(t.amount) AS amount
    FROM oms.collection_transactions AS t
    WHERE
      t.company_id = ?
      AND t.event_at < CAST(? AS DATETIME2)
      AND t.amount <> 0
      AND NOT COALESCE(
        CAST(CASE
          WHEN t.settled_at < CAST(? AS DATETIME2)
          THEN 1
          WHEN NOT (
            t.settled_at < CAST(? AS DATETIME2)
          )
          THEN 0
        END AS BIT),
        CAST(0 AS BIT)
      ) <> 0
      AND EXISTS(
        SELECT
          1
        FROM ref.companies AS c
        WHERE
          c.company_id = t.company_id
          AND NOT c.country_code IN (?, ?, ?)
      )
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
          NOT COALESCE(
            (
              CAST(CASE
                WHEN NOT country_code IN (?, ?, ?)
                THEN 1
                WHEN NOT (
                  NOT country_code IN (?, ?, ?)
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
    SELECT
      SUM(
        CASE
          WHEN (
            NOT EXISTS(
              SELECT
                COALESCE(l.open_items, 0)
              INTERSECT
              SELECT
                COALESCE(r.open_items, 0)
            )
            OR NOT EXISTS(
              SELECT
                COALESCE(l.amount, 0)
              INTERSECT
              SELECT
                COALESCE(r.amount, 0)
            )
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
