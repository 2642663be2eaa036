SELECT
  item_key,
  delta,
  CASE WHEN delta <> 0 AND (
    is_manual
  ) THEN 'MANUAL_ADJUSTMENT' END AS rule_0,
  CASE
    WHEN delta <> 0
    AND (
      NOT is_manual AND in_tv_rows > 0 AND nav_usage < used_discount_amount
    )
    THEN 'TIMING_USAGE'
  END AS rule_1,
  CASE
    WHEN delta <> 0
    AND (
      NOT is_manual AND tv_rows > 0 AND in_tv_rows = 0 AND is_expired
    )
    THEN 'EXPIRED_NOT_WRITTEN_OFF'
  END AS rule_2,
  CASE
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
  END AS rule_3,
  CASE
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
  END AS rule_4
FROM rk_vouchers_ec_ng_202509
WHERE
  claims > 1
ORDER BY
  item_key
LIMIT 20
