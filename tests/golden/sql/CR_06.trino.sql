SELECT
  e.company_id,
  e.entry_no,
  e.posting_date,
  e.document_date,
  e.document_no,
  e.document_type,
  e.external_document_no,
  e.gl_account_no,
  e.description,
  e.amount,
  e.bal_account_type,
  e.bal_account_no,
  e.voucher_no,
  e.source_type,
  e.source_no,
  e.user_id,
  e.source_code,
  e.busline_code,
  e.comment,
  e.reversed,
  CASE WHEN e.user_id = :integration_user THEN 'Integration' ELSE 'Manual' END AS integration_type
FROM nav.gl_entries AS e
WHERE
  e.company_id = :company_id
  AND e.posting_date > :cutoff
  AND e.posting_date <= :window_end
  AND e.posting_date <= :horizon
  AND e.gl_account_no IN (:gl_accounts)
ORDER BY
  e.entry_no
