WITH gl_keys AS (
  SELECT
    voucher_no AS item_key,
    -(
      SUM(amount)
    ) AS g,
    COUNT(*) AS gl_entries,
    SUM(CASE WHEN category = 'Usage' THEN amount ELSE 0 END) AS nav_usage
  FROM (
    SELECT
      gl_entry.*,
      gl_class.category,
      gl_class.voucher_type
    FROM rc_cr_03_ec_ng_202509 AS gl_entry
    LEFT JOIN rc_classified_ec_ng_202509 AS gl_class
      ON gl_entry.entry_no = gl_class.entry_no
  ) AS gl_rows
  WHERE
    gl_account_no IN ($gl_accounts__0) AND posting_date <= $cutoff
  GROUP BY
    voucher_no
), tv_keys AS (
  SELECT
    voucher_id AS item_key,
    SUM(CASE WHEN in_tv THEN remaining_amount ELSE 0 END) AS t,
    COUNT(*) AS tv_rows,
    SUM(CASE WHEN in_tv THEN 1 ELSE 0 END) AS in_tv_rows,
    SUM(used_discount_amount) AS used_discount_amount,
    BOOL_OR(CAST(is_expired AS BOOLEAN)) AS is_expired,
    BOOL_OR(CAST(is_active AS BOOLEAN)) AS is_active,
    MAX(COALESCE(inactive_reason, '')) AS inactive_reason
  FROM rc_ipe_08_ec_ng_202509
  GROUP BY
    voucher_id
), key_rows AS (
  SELECT
    CASE
      WHEN gl_keys.item_key IS NULL AND NOT gl_keys.gl_entries IS NULL
      THEN 'manual'
      ELSE COALESCE(gl_keys.item_key, tv_keys.item_key)
    END AS item_key,
    gl_keys.item_key IS NULL AND NOT gl_keys.gl_entries IS NULL AS is_manual,
    CAST(COALESCE(gl_keys.g, 0) AS DECIMAL(38, 2)) AS g,
    CAST(COALESCE(tv_keys.t, 0) AS DECIMAL(38, 2)) AS t,
    CAST(COALESCE(gl_keys.g, 0) - COALESCE(tv_keys.t, 0) AS DECIMAL(38, 2)) AS delta,
    COALESCE(gl_keys.gl_entries, 0) AS gl_entries,
    COALESCE(tv_keys.tv_rows, 0) AS tv_rows,
    COALESCE(tv_keys.in_tv_rows, 0) AS in_tv_rows,
    COALESCE(gl_keys.nav_usage, 0) AS nav_usage,
    COALESCE(tv_keys.used_discount_amount, 0) AS used_discount_amount,
    COALESCE(tv_keys.is_expired, FALSE) AS is_expired,
    COALESCE(tv_keys.is_active, FALSE) AS is_active,
    COALESCE(tv_keys.inactive_reason, '') AS inactive_reason
  FROM gl_keys
  FULL OUTER JOIN tv_keys
    ON gl_keys.item_key = tv_keys.item_key
)
SELECT
  *,
  CASE
    WHEN delta <> 0 AND (
      is_manual
    )
    THEN 'MANUAL_ADJUSTMENT'
    WHEN delta <> 0
    AND (
      NOT is_manual AND in_tv_rows > 0 AND nav_usage < used_discount_amount
    )
    THEN 'TIMING_USAGE'
    WHEN delta <> 0
    AND (
      NOT is_manual AND tv_rows > 0 AND in_tv_rows = 0 AND is_expired
    )
    THEN 'EXPIRED_NOT_WRITTEN_OFF'
    WHEN delta <> 0
    AND (
      NOT is_manual
      AND tv_rows > 0
      AND in_tv_rows = 0
      AND NOT is_expired
      AND NOT is_active
      AND inactive_reason = 'converted_to_cash'
    )
    THEN 'VTC_NOT_BOOKED'
    WHEN delta <> 0
    AND (
      NOT is_manual
      AND tv_rows > 0
      AND in_tv_rows = 0
      AND NOT is_expired
      AND NOT is_active
      AND inactive_reason = 'cancelled'
    )
    THEN 'CANCELLED_NOT_BOOKED'
    ELSE CAST(NULL AS TEXT)
  END AS bridge,
  CASE WHEN delta <> 0 AND (
    is_manual
  ) THEN 1 ELSE 0 END + CASE
    WHEN delta <> 0
    AND (
      NOT is_manual AND in_tv_rows > 0 AND nav_usage < used_discount_amount
    )
    THEN 1
    ELSE 0
  END + CASE
    WHEN delta <> 0
    AND (
      NOT is_manual AND tv_rows > 0 AND in_tv_rows = 0 AND is_expired
    )
    THEN 1
    ELSE 0
  END + CASE
    WHEN delta <> 0
    AND (
      NOT is_manual
      AND tv_rows > 0
      AND in_tv_rows = 0
      AND NOT is_expired
      AND NOT is_active
      AND inactive_reason = 'converted_to_cash'
    )
    THEN 1
    ELSE 0
  END + CASE
    WHEN delta <> 0
    AND (
      NOT is_manual
      AND tv_rows > 0
      AND in_tv_rows = 0
      AND NOT is_expired
      AND NOT is_active
      AND inactive_reason = 'cancelled'
    )
    THEN 1
    ELSE 0
  END AS claims,
  ABS(delta) >= CAST($material_lcy AS DECIMAL(38, 2)) AS material
FROM key_rows
ORDER BY
  item_key
