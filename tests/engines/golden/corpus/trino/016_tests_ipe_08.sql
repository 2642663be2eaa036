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
                          (
                            (
                              snapshot_date IS NULL OR company_id IS NULL
                            ) OR voucher_id IS NULL
                          )
                          OR business_use IS NULL
                        )
                        OR is_active IS NULL
                      )
                      OR discount_amount IS NULL
                    )
                    OR used_discount_amount IS NULL
                  )
                  OR remaining_amount IS NULL
                )
                OR created_at IS NULL
              )
              OR to_date IS NULL
            )
            OR is_expired IS NULL
          )
          OR in_tv IS NULL
        )
        THEN 1
        ELSE 0
      END
    ) AS r1_failing,
    COUNT(*) - COUNT(DISTINCT voucher_id) AS r2_failing,
    SUM(
      CASE
        WHEN (
          NOT COALESCE((
            remaining_amount = discount_amount - used_discount_amount
          ), FALSE)
        )
        THEN 1
        ELSE 0
      END
    ) AS r3_failing,
    SUM(
      CASE
        WHEN (
          NOT voucher_type IS NULL AND NOT voucher_type IN ('reusablecredit', 'coupon')
        )
        THEN 1
        ELSE 0
      END
    ) AS r4_failing,
    SUM(CASE WHEN (
      discount_amount < 0
    ) THEN 1 ELSE 0 END) AS r5_failing
  FROM ds_ipe_08
) AS p0
CROSS JOIN (
  SELECT
    p.failing AS r0_failing,
    p.left_snapshot_vouchers AS r0_left_snapshot_vouchers,
    p.right_snapshot_vouchers AS r0_right_snapshot_vouchers,
    p.left_tv_vouchers AS r0_left_tv_vouchers,
    p.right_tv_vouchers AS r0_right_tv_vouchers,
    p.left_tv_remaining AS r0_left_tv_remaining,
    p.right_tv_remaining AS r0_right_tv_remaining
  FROM (
    WITH l AS (
      SELECT
        COUNT(*) AS snapshot_vouchers,
        SUM(CASE WHEN in_tv THEN 1 ELSE 0 END) AS tv_vouchers,
        SUM(CASE WHEN in_tv THEN remaining_amount ELSE 0 END) AS tv_remaining
      FROM ds_ipe_08
    ), r AS (
      SELECT
        snapshot_vouchers,
        tv_vouchers,
        tv_remaining
      FROM (
        SELECT
          COUNT(*) AS snapshot_vouchers,
          SUM(
            CASE
              WHEN v.is_active = TRUE
              AND v.to_date >= CAST('2025-09-30' AS DATE)
              AND v.business_use IN ('refund', 'store_credit', 'apology_v2', 'jforce', 'jpay_store_credit')
              THEN 1
              ELSE 0
            END
          ) AS tv_vouchers,
          SUM(
            CASE
              WHEN v.is_active = TRUE
              AND v.to_date >= CAST('2025-09-30' AS DATE)
              AND v.business_use IN ('refund', 'store_credit', 'apology_v2', 'jforce', 'jpay_store_credit')
              THEN v.remaining_amount
              ELSE 0
            END
          ) AS tv_remaining
        FROM bob.store_credit_vouchers AS v
        WHERE
          v.company_id = ?
          AND v.snapshot_date = ?
          AND v.created_at < CAST(? AS TIMESTAMP)
      ) AS src
    )
    SELECT
      SUM(
        CASE
          WHEN (
            (
              COALESCE(l.snapshot_vouchers, 0) IS DISTINCT FROM COALESCE(r.snapshot_vouchers, 0)
              OR COALESCE(l.tv_vouchers, 0) IS DISTINCT FROM COALESCE(r.tv_vouchers, 0)
            )
            OR COALESCE(l.tv_remaining, 0) IS DISTINCT FROM COALESCE(r.tv_remaining, 0)
          )
          THEN 1
          ELSE 0
        END
      ) AS failing,
      SUM(COALESCE(l.snapshot_vouchers, 0)) AS left_snapshot_vouchers,
      SUM(COALESCE(r.snapshot_vouchers, 0)) AS right_snapshot_vouchers,
      SUM(COALESCE(l.tv_vouchers, 0)) AS left_tv_vouchers,
      SUM(COALESCE(r.tv_vouchers, 0)) AS right_tv_vouchers,
      SUM(COALESCE(l.tv_remaining, 0)) AS left_tv_remaining,
      SUM(COALESCE(r.tv_remaining, 0)) AS right_tv_remaining
    FROM l AS l
    CROSS JOIN r AS r
  ) AS p
) AS p1
