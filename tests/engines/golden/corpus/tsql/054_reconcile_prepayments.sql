SELECT
  (
    SELECT
      -(
        COALESCE(SUM(balance_lcy), 0)
      )
    FROM rc_cr_04_ec_ng_202509
    WHERE
      gl_account_no IN (?) AND closing_date = ?
  ) AS gl_amount,
  (
    SELECT
      COUNT(DISTINCT gl_account_no)
    FROM rc_cr_04_ec_ng_202509
    WHERE
      gl_account_no IN (?) AND closing_date = ?
  ) AS gl_balance_accounts,
  (
    SELECT
      COALESCE(SUM(CASE WHEN in_tv <> 0 THEN paid_price ELSE 0 END), 0)
    FROM rc_ipe_10_ec_ng_202509
  ) AS tv_amount,
  (
    SELECT
      COUNT(*)
    FROM rc_ipe_10_ec_ng_202509
  ) AS tv_rows,
  (
    SELECT
      COUNT(*)
    FROM rc_cr_03_ec_ng_202509
    WHERE
      gl_account_no IN (?) AND posting_date BETWEEN ? AND ?
  ) AS gl_entries_in_period
