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
              company_id IS NULL OR voucher_id IS NULL
            ) OR amount_used IS NULL
          )
          OR used_at IS NULL
        )
        THEN 1
        ELSE 0
      END
    ) AS r1_failing,
    SUM(CASE WHEN (
      amount_used <= 0
    ) THEN 1 ELSE 0 END) AS r2_failing
  FROM ds_jdash
) AS p0
CROSS JOIN (
  SELECT
    p.failing AS r0_failing,
    p.left_rows AS r0_left_rows,
    p.right_rows AS r0_right_rows,
    p.left_amount_used AS r0_left_amount_used,
    p.right_amount_used AS r0_right_amount_used
  FROM (
    WITH l AS (
      SELECT
        COUNT(*) AS rows,
        SUM(amount_used) AS amount_used
      FROM ds_jdash
    ), r AS (
      SELECT
        rows,
        amount_used
      FROM (
        SELECT
          COUNT(*) AS rows,
          SUM(u.amount_used) AS amount_used
        FROM jdash.voucher_usage AS u
        WHERE
          u.company_id = $company_id AND u.used_at < CAST($as_of AS TIMESTAMP)
      ) AS src
    )
    SELECT
      SUM(
        CASE
          WHEN (
            COALESCE(l.rows, 0) IS DISTINCT FROM COALESCE(r.rows, 0)
            OR COALESCE(l.amount_used, 0) IS DISTINCT FROM COALESCE(r.amount_used, 0)
          )
          THEN 1
          ELSE 0
        END
      ) AS failing,
      SUM(COALESCE(l.rows, 0)) AS left_rows,
      SUM(COALESCE(r.rows, 0)) AS right_rows,
      SUM(COALESCE(l.amount_used, 0)) AS left_amount_used,
      SUM(COALESCE(r.amount_used, 0)) AS right_amount_used
    FROM l AS l
    CROSS JOIN r AS r
  ) AS p
) AS p1
CROSS JOIN (
  SELECT
    p.failing AS r3_failing,
    p.left_used AS r3_left_used,
    p.right_used AS r3_right_used
  FROM (
    WITH l AS (
      SELECT
        voucher_id,
        SUM(amount_used) AS used
      FROM ds_jdash
      GROUP BY
        voucher_id
    ), r AS (
      SELECT
        voucher_id,
        SUM(used_discount_amount) AS used
      FROM ds_ipe_08
      GROUP BY
        voucher_id
    )
    SELECT
      SUM(
        CASE
          WHEN (
            COALESCE(l.used, 0) IS DISTINCT FROM COALESCE(r.used, 0)
          )
          THEN 1
          ELSE 0
        END
      ) AS failing,
      SUM(COALESCE(l.used, 0)) AS left_used,
      SUM(COALESCE(r.used, 0)) AS right_used
    FROM l AS l
    FULL OUTER JOIN r AS r
      ON l.voucher_id = r.voucher_id
  ) AS p
) AS p2
