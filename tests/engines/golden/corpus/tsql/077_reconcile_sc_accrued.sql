SELECT
  external_document_no AS item_key,
  entry_no,
  document_no,
  posting_date,
  CAST(amount AS NUMERIC(38, 2)) AS amount
FROM rc_cr_06_ec_ng_202509
WHERE
  gl_account_no IN (?)
  AND posting_date > ?
  AND external_document_no IN (
    SELECT
      item_key
    FROM rk_sc_accrued_ec_ng_202509
    WHERE
      bridge IN (?) AND delta <> 0 AND NOT is_manual <> 0
  )
ORDER BY
  item_key,
  posting_date,
  entry_no
