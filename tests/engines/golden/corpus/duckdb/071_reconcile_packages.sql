SELECT
  external_document_no AS item_key,
  entry_no,
  document_no,
  posting_date,
  CAST(amount AS DECIMAL(38, 2)) AS amount
FROM rc_cr_06_ec_ng_202509
WHERE
  gl_account_no IN ($gl_accounts__0)
  AND posting_date > $cutoff
  AND external_document_no IN (
    SELECT
      item_key
    FROM rk_packages_ec_ng_202509
    WHERE
      bridge IN ($clearing_bridges__0) AND delta <> 0 AND NOT is_manual
  )
ORDER BY
  item_key,
  posting_date,
  entry_no
