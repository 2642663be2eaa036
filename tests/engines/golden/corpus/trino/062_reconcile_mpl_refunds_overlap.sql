SELECT
  item_key,
  delta,
  CASE WHEN delta <> 0 AND (
    is_manual
  ) THEN 'MANUAL_ADJUSTMENT' END AS rule_0,
  CASE
    WHEN delta <> 0 AND (
      NOT is_manual AND tv_rows > 0 AND in_tv_rows = 0
    )
    THEN 'TIMING'
  END AS rule_1,
  CASE
    WHEN delta <> 0 AND (
      NOT is_manual AND in_tv_rows > 0 AND gl_entries = 0
    )
    THEN 'NOT_POSTED'
  END AS rule_2,
  CASE WHEN delta <> 0 AND (
    NOT is_manual AND tv_rows = 0
  ) THEN 'NOT_IN_TV' END AS rule_3,
  CASE
    WHEN delta <> 0 AND (
      NOT is_manual AND in_tv_rows > 0 AND gl_entries > 0
    )
    THEN 'AMOUNT_DIFFERENCE'
  END AS rule_4
FROM rk_mpl_refunds_ec_ng_202509
WHERE
  claims > 1
ORDER BY
  item_key
LIMIT 20
