WITH base AS (
  SELECT
    entry_no AS entry_no,
    posting_date AS posting_date,
    document_no AS document_no,
    document_type AS document_type,
    voucher_no AS voucher_no,
    description AS description,
    amount AS amount,
    integration_type AS integration_type,
    bal_account_type AS bal_account_type,
    CASE
      WHEN integration_type IN ('Manual') AND voucher_no IS NULL
      THEN 'Adjustment'
      WHEN integration_type IN ('Manual')
      AND UPPER(description) LIKE '%EXPR\_APLGY%' ESCAPE '\'
      THEN 'Expired'
      WHEN integration_type IN ('Manual')
      AND UPPER(description) LIKE '%EXPR\_JFORCE%' ESCAPE '\'
      THEN 'Expired'
      WHEN integration_type IN ('Manual')
      AND (
        UPPER(description) LIKE '%EXPR\_STR CRDT%' ESCAPE '\'
        OR UPPER(description) LIKE '%EXPR\_STR\_CRDT%' ESCAPE '\'
      )
      THEN 'Expired'
      WHEN integration_type IN ('Manual') AND UPPER(description) LIKE '%EXPR%' ESCAPE '\'
      THEN 'Expired'
      WHEN UPPER(description) LIKE '%MANUAL RND%' ESCAPE '\'
      THEN 'VTC'
      WHEN integration_type IN ('Manual')
      AND amount > 0
      AND bal_account_type IN ('Bank Account')
      THEN 'VTC'
      WHEN amount > 0 AND UPPER(description) LIKE '%VOUCHER ACCRUAL%' ESCAPE '\'
      THEN 'Cancellation'
      WHEN integration_type IN ('Manual') AND amount > 0 AND document_type IN ('Credit Memo')
      THEN 'Cancellation'
      WHEN amount < 0
      THEN 'Issuance'
      WHEN integration_type IN ('Integration') AND amount > 0
      THEN 'Usage'
      ELSE 'Unclassified'
    END AS category,
    CASE
      WHEN integration_type IN ('Manual') AND voucher_no IS NULL
      THEN 'MANUAL_JOURNAL'
      WHEN integration_type IN ('Manual')
      AND UPPER(description) LIKE '%EXPR\_APLGY%' ESCAPE '\'
      THEN 'EXPIRED_APOLOGY'
      WHEN integration_type IN ('Manual')
      AND UPPER(description) LIKE '%EXPR\_JFORCE%' ESCAPE '\'
      THEN 'EXPIRED_JFORCE'
      WHEN integration_type IN ('Manual')
      AND (
        UPPER(description) LIKE '%EXPR\_STR CRDT%' ESCAPE '\'
        OR UPPER(description) LIKE '%EXPR\_STR\_CRDT%' ESCAPE '\'
      )
      THEN 'EXPIRED_STORE_CREDIT'
      WHEN integration_type IN ('Manual') AND UPPER(description) LIKE '%EXPR%' ESCAPE '\'
      THEN 'EXPIRED'
      WHEN UPPER(description) LIKE '%MANUAL RND%' ESCAPE '\'
      THEN 'VTC_MANUAL_RND'
      WHEN integration_type IN ('Manual')
      AND amount > 0
      AND bal_account_type IN ('Bank Account')
      THEN 'VTC_BANK'
      WHEN amount > 0 AND UPPER(description) LIKE '%VOUCHER ACCRUAL%' ESCAPE '\'
      THEN 'CANCELLED_ACCRUAL_REVERSAL'
      WHEN integration_type IN ('Manual') AND amount > 0 AND document_type IN ('Credit Memo')
      THEN 'CANCELLED_CREDIT_MEMO'
      WHEN amount < 0
      THEN 'ISSUANCE'
      WHEN integration_type IN ('Integration') AND amount > 0
      THEN 'USAGE'
      ELSE NULL
    END AS category_rule,
    CASE
      WHEN integration_type IN ('Manual') AND voucher_no IS NULL
      THEN NULL
      WHEN integration_type IN ('Manual')
      AND UPPER(description) LIKE '%EXPR\_APLGY%' ESCAPE '\'
      THEN 'Apology'
      WHEN integration_type IN ('Manual')
      AND UPPER(description) LIKE '%EXPR\_JFORCE%' ESCAPE '\'
      THEN 'JForce'
      WHEN integration_type IN ('Manual')
      AND (
        UPPER(description) LIKE '%EXPR\_STR CRDT%' ESCAPE '\'
        OR UPPER(description) LIKE '%EXPR\_STR\_CRDT%' ESCAPE '\'
      )
      THEN 'Store Credit'
      WHEN integration_type IN ('Manual') AND UPPER(description) LIKE '%EXPR%' ESCAPE '\'
      THEN NULL
      WHEN UPPER(description) LIKE '%MANUAL RND%' ESCAPE '\'
      THEN NULL
      WHEN integration_type IN ('Manual')
      AND amount > 0
      AND bal_account_type IN ('Bank Account')
      THEN NULL
      WHEN amount > 0 AND UPPER(description) LIKE '%VOUCHER ACCRUAL%' ESCAPE '\'
      THEN NULL
      WHEN integration_type IN ('Manual') AND amount > 0 AND document_type IN ('Credit Memo')
      THEN NULL
      WHEN amount < 0
      THEN NULL
      WHEN integration_type IN ('Integration') AND amount > 0
      THEN NULL
      ELSE NULL
    END AS fixed_type
  FROM rc_cr_03_ec_ng_202509
  WHERE
    gl_account_no IN ('18412') AND company_id = ? AND posting_date <= ?
), typed AS (
  SELECT
    entry_no AS entry_no,
    posting_date AS posting_date,
    document_no AS document_no,
    document_type AS document_type,
    voucher_no AS voucher_no,
    description AS description,
    amount AS amount,
    integration_type AS integration_type,
    bal_account_type AS bal_account_type,
    category AS category,
    category_rule AS category_rule,
    fixed_type AS fixed_type,
    CASE
      WHEN (
        UPPER(description) LIKE '%RF\_%' ESCAPE '\'
        OR UPPER(description) LIKE '%RF %' ESCAPE '\'
        OR UPPER(description) LIKE '%RFN%' ESCAPE '\'
        OR UPPER(description) LIKE '%REFUND%' ESCAPE '\'
      )
      THEN 'Refund'
      WHEN (
        UPPER(description) LIKE '%COMMERCIAL GESTURE%' ESCAPE '\'
        OR UPPER(description) LIKE '%CXP%' ESCAPE '\'
        OR UPPER(description) LIKE '%APOLOGY%' ESCAPE '\'
      )
      THEN 'Apology'
      WHEN UPPER(description) LIKE '%PYT\_%' ESCAPE '\'
      THEN 'JForce'
      WHEN integration_type IN ('Manual')
      AND UPPER(SUBSTRING(document_no, 1, 2)) = ?
      AND category IN ('Issuance')
      THEN 'Store Credit'
      ELSE NULL
    END AS own_type,
    CASE
      WHEN (
        UPPER(description) LIKE '%RF\_%' ESCAPE '\'
        OR UPPER(description) LIKE '%RF %' ESCAPE '\'
        OR UPPER(description) LIKE '%RFN%' ESCAPE '\'
        OR UPPER(description) LIKE '%REFUND%' ESCAPE '\'
      )
      THEN 'TYPE_REFUND'
      WHEN (
        UPPER(description) LIKE '%COMMERCIAL GESTURE%' ESCAPE '\'
        OR UPPER(description) LIKE '%CXP%' ESCAPE '\'
        OR UPPER(description) LIKE '%APOLOGY%' ESCAPE '\'
      )
      THEN 'TYPE_APOLOGY'
      WHEN UPPER(description) LIKE '%PYT\_%' ESCAPE '\'
      THEN 'TYPE_JFORCE'
      WHEN integration_type IN ('Manual')
      AND UPPER(SUBSTRING(document_no, 1, 2)) = ?
      AND category IN ('Issuance')
      THEN 'TYPE_STORE_CREDIT'
      ELSE NULL
    END AS type_rule
  FROM base
), inherit AS (
  SELECT
    entry_no AS entry_no,
    posting_date AS posting_date,
    document_no AS document_no,
    document_type AS document_type,
    voucher_no AS voucher_no,
    description AS description,
    amount AS amount,
    integration_type AS integration_type,
    bal_account_type AS bal_account_type,
    category AS category,
    category_rule AS category_rule,
    fixed_type AS fixed_type,
    own_type AS own_type,
    type_rule AS type_rule,
    CASE
      WHEN NOT voucher_no IS NULL
      THEN MAX(CASE WHEN category = 'Issuance' THEN own_type ELSE NULL END) OVER (PARTITION BY voucher_no)
      ELSE NULL
    END AS issuance_type
  FROM typed
)
SELECT
  entry_no,
  posting_date,
  document_no,
  document_type,
  voucher_no,
  description,
  amount,
  integration_type,
  bal_account_type,
  category,
  COALESCE(fixed_type, own_type, issuance_type, 'Unspecified') AS voucher_type,
  category_rule,
  CASE WHEN fixed_type IS NULL THEN type_rule ELSE NULL END AS type_rule,
  CASE
    WHEN NOT fixed_type IS NULL
    THEN 'category rule'
    WHEN NOT own_type IS NULL
    THEN 'type rule'
    WHEN NOT issuance_type IS NULL
    THEN 'issuance'
    ELSE 'none'
  END AS type_from,
  CASE WHEN posting_date >= ? THEN CAST(1 AS BIT) ELSE CAST(0 AS BIT) END AS in_period
FROM inherit
ORDER BY
  entry_no
