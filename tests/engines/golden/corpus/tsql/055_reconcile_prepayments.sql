WITH gl_keys AS (
  SELECT
    external_document_no AS item_key,
    -(
      SUM(amount)
    ) AS g,
    COUNT(*) AS gl_entries
  FROM rc_cr_03_ec_ng_202509
  WHERE
    gl_account_no IN (?) AND posting_date <= ?
  GROUP BY
    external_document_no
), tv_keys AS (
  SELECT
    sales_order_item_id AS item_key,
    SUM(CASE WHEN in_tv <> 0 THEN paid_price ELSE 0 END) AS t,
    COUNT(*) AS tv_rows,
    SUM(CASE WHEN in_tv <> 0 THEN 1 ELSE 0 END) AS in_tv_rows
  FROM rc_ipe_10_ec_ng_202509
  GROUP BY
    sales_order_item_id
), key_rows AS (
  SELECT
    CASE
      WHEN gl_keys.item_key IS NULL AND NOT gl_keys.gl_entries IS NULL
      THEN 'manual'
      ELSE COALESCE(gl_keys.item_key, tv_keys.item_key)
    END AS item_key,
    CAST(CASE
      WHEN gl_keys.item_key IS NULL AND NOT gl_keys.gl_entries IS NULL
      THEN 1
      WHEN NOT (
        gl_keys.item_key IS NULL AND NOT gl_keys.gl_entries IS NULL
      )
      THEN 0
    END AS BIT) AS is_manual,
    CAST(COALESCE(gl_keys.g, 0) AS NUMERIC(38, 2)) AS g,
    CAST(COALESCE(tv_keys.t, 0) AS NUMERIC(38, 2)) AS t,
    CAST(COALESCE(gl_keys.g, 0) - COALESCE(tv_keys.t, 0) AS NUMERIC(38, 2)) AS delta,
    COALESCE(gl_keys.gl_entries, 0) AS gl_entries,
    COALESCE(tv_keys.tv_rows, 0) AS tv_rows,
    COALESCE(tv_keys.in_tv_rows, 0) AS in_tv_rows
  FROM gl_keys
  FULL OUTER JOIN tv_keys
    ON gl_keys.item_key = tv_keys.item_key
)
SELECT
  *,
  CASE
    WHEN delta <> 0 AND (
      is_manual <> 0
    )
    THEN 'MANUAL_ADJUSTMENT'
    WHEN delta <> 0 AND (
      NOT is_manual <> 0 AND tv_rows > 0 AND in_tv_rows = 0
    )
    THEN 'TIMING'
    WHEN delta <> 0 AND (
      NOT is_manual <> 0 AND in_tv_rows > 0 AND gl_entries = 0
    )
    THEN 'NOT_POSTED'
    WHEN delta <> 0 AND (
      NOT is_manual <> 0 AND tv_rows = 0
    )
    THEN 'NOT_IN_TV'
    WHEN delta <> 0 AND (
      NOT is_manual <> 0 AND in_tv_rows > 0 AND gl_entries > 0
    )
    THEN 'AMOUNT_DIFFERENCE'
    ELSE CAST(NULL AS VARCHAR)
  END AS bridge,
  CASE WHEN delta <> 0 AND (
    is_manual <> 0
  ) THEN 1 ELSE 0 END + CASE
    WHEN delta <> 0 AND (
      NOT is_manual <> 0 AND tv_rows > 0 AND in_tv_rows = 0
    )
    THEN 1
    ELSE 0
  END + CASE
    WHEN delta <> 0 AND (
      NOT is_manual <> 0 AND in_tv_rows > 0 AND gl_entries = 0
    )
    THEN 1
    ELSE 0
  END + CASE WHEN delta <> 0 AND (
    NOT is_manual <> 0 AND tv_rows = 0
  ) THEN 1 ELSE 0 END + CASE
    WHEN delta <> 0 AND (
      NOT is_manual <> 0 AND in_tv_rows > 0 AND gl_entries > 0
    )
    THEN 1
    ELSE 0
  END AS claims,
  CAST(CASE
    WHEN ABS(delta) >= CAST(? AS NUMERIC(38, 2))
    THEN 1
    WHEN NOT (
      ABS(delta) >= CAST(? AS NUMERIC(38, 2))
    )
    THEN 0
  END AS BIT) AS material
FROM key_rows
ORDER BY
  item_key
