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
  CASE WHEN e.user_id = ? THEN 'Integration' ELSE 'Manual' END AS integration_type
FROM (
  SELECT
    [Company] AS company_id,
    [Entry No_] AS entry_no,
    [Posting Date] AS posting_date,
    [Document Date] AS document_date,
    [Document No_] AS document_no,
    [Document Type] AS document_type,
    [External Document No_] AS external_document_no,
    [G_L Account No_] AS gl_account_no,
    [Description] AS description,
    [Amount] AS amount,
    [Bal_ Account Type] AS bal_account_type,
    [Bal_ Account No_] AS bal_account_no,
    [Voucher No_] AS voucher_no,
    [Source Type] AS source_type,
    [Source No_] AS source_no,
    [User ID] AS user_id,
    [Source Code] AS source_code,
    [Global Dimension 1 Code] AS busline_code,
    [Comment] AS comment,
    [Reversed] AS reversed
  FROM [AIG_Nav_DW].[dbo].[G_L Entries]
) AS e
WHERE
  e.company_id = ?
  AND e.posting_date <= ?
  AND e.gl_account_no IN (
    ?,
    ?,
    ?,
    ?,
    ?,
    ?,
    ?,
    ?,
    ?,
    ?
  )
ORDER BY
  CASE WHEN e.entry_no IS NULL THEN 1 ELSE 0 END, e.entry_no
