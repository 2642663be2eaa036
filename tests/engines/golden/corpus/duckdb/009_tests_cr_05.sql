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
                  company_id IS NULL OR year IS NULL
                ) OR month IS NULL
              )
              OR rate_type IS NULL
            )
            OR currency IS NULL
          )
          OR rate_lcy_per_usd IS NULL
        )
        THEN 1
        ELSE 0
      END
    ) AS r1_failing,
    COUNT(*) - COUNT(DISTINCT company_id) AS r2_failing,
    SUM(CASE WHEN (
      rate_lcy_per_usd <= 0
    ) THEN 1 ELSE 0 END) AS r3_failing,
    SUM(
      CASE
        WHEN (
          NOT rate_type IS NULL AND NOT rate_type IN ('Closing')
        )
        THEN 1
        ELSE 0
      END
    ) AS r4_failing
  FROM ds_cr_05
) AS p0
CROSS JOIN (
  SELECT
    p.failing AS r0_failing,
    p.left_rates AS r0_left_rates,
    p.right_rates AS r0_right_rates
  FROM (
    WITH l AS (
      SELECT
        currency,
        COUNT(*) AS rates
      FROM ds_cr_05
      GROUP BY
        currency
    ), r AS (
      SELECT
        currency,
        rates
      FROM (
        SELECT
          c.currency,
          COUNT(*) AS rates
        FROM ref.companies AS c
        WHERE
          c.company_id = $company_id AND c.in_conso_scope = TRUE
        GROUP BY
          c.currency
      ) AS src
    )
    SELECT
      SUM(
        CASE
          WHEN (
            COALESCE(l.rates, 0) IS DISTINCT FROM COALESCE(r.rates, 0)
          )
          THEN 1
          ELSE 0
        END
      ) AS failing,
      SUM(COALESCE(l.rates, 0)) AS left_rates,
      SUM(COALESCE(r.rates, 0)) AS right_rates
    FROM l AS l
    FULL OUTER JOIN r AS r
      ON l.currency = r.currency
  ) AS p
) AS p1
