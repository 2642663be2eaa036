SELECT
  rule_id,
  SUM(CASE WHEN in_tv THEN 1 ELSE 0 END) AS open_items,
  SUM(CASE WHEN in_tv THEN amount ELSE 0 END) AS amount,
  SUM(CASE WHEN NOT in_tv THEN 1 ELSE 0 END) AS context_items
FROM (
  SELECT
    *,
    CASE rule_id
      WHEN 'DEPOSIT_RETURNED'
      THEN 'deposit cancellation'
      WHEN 'DEPOSIT_CANCELLED'
      THEN 'deposit cancellation'
      WHEN 'CASH_DEPOSIT'
      THEN 'cash deposit'
      WHEN 'JFORCE_PAYOUT'
      THEN 'JForce payout'
      WHEN 'THIRD_PARTY_DELIVERY'
      THEN 'sales delivery'
      WHEN 'SALES_DELIVERY'
      THEN 'sales delivery'
      WHEN 'PREPAYMENT'
      THEN 'prepayment'
      WHEN 'SALES_CREDIT_MEMO'
      THEN 'sales credit memo'
      WHEN 'REFUND'
      THEN 'refund'
      WHEN 'PAYMENT_RECONCILE'
      THEN 'payment reconcile'
      WHEN 'SELLER_ACCOUNT_STATEMENT'
      THEN 'seller account statement'
      ELSE NULL
    END AS accounting_rule,
    CASE rule_id
      WHEN 'DEPOSIT_RETURNED'
      THEN '13011'
      WHEN 'DEPOSIT_CANCELLED'
      THEN '13011'
      WHEN 'CASH_DEPOSIT'
      THEN '51100'
      WHEN 'JFORCE_PAYOUT'
      THEN '40100'
      WHEN 'THIRD_PARTY_DELIVERY'
      THEN '13011'
      WHEN 'SALES_DELIVERY'
      THEN '13011'
      WHEN 'PREPAYMENT'
      THEN '13012'
      WHEN 'SALES_CREDIT_MEMO'
      THEN '70100'
      WHEN 'REFUND'
      THEN '18350'
      WHEN 'PAYMENT_RECONCILE'
      THEN '51100'
      WHEN 'SELLER_ACCOUNT_STATEMENT'
      THEN '13011'
      ELSE NULL
    END AS debit_account,
    CASE rule_id
      WHEN 'DEPOSIT_RETURNED'
      THEN '51100'
      WHEN 'DEPOSIT_CANCELLED'
      THEN '51100'
      WHEN 'CASH_DEPOSIT'
      THEN '13011'
      WHEN 'JFORCE_PAYOUT'
      THEN '13011'
      WHEN 'THIRD_PARTY_DELIVERY'
      THEN '13005'
      WHEN 'SALES_DELIVERY'
      THEN '13005'
      WHEN 'PREPAYMENT'
      THEN '18350'
      WHEN 'SALES_CREDIT_MEMO'
      THEN '13011'
      WHEN 'REFUND'
      THEN '13012'
      WHEN 'PAYMENT_RECONCILE'
      THEN '13012'
      WHEN 'SELLER_ACCOUNT_STATEMENT'
      THEN '40100'
      ELSE NULL
    END AS credit_account
  FROM (
    SELECT
      *,
      CASE
        WHEN transaction_type IN ('Transfer From')
        THEN 'DEPOSIT_RETURNED'
        WHEN transaction_type IN ('Transfer to') AND status IN ('cancelled')
        THEN 'DEPOSIT_CANCELLED'
        WHEN transaction_type IN ('Transfer to')
        THEN 'CASH_DEPOSIT'
        WHEN transaction_type IN ('Third Party Collection')
        AND collection_partner IN ('JForce')
        THEN 'JFORCE_PAYOUT'
        WHEN transaction_type IN ('Third Party Collection')
        THEN 'THIRD_PARTY_DELIVERY'
        WHEN transaction_type IN ('Payment')
        AND collection_partner IN ('Jumia Express', 'GIG Logistics', 'Kwik Delivery', 'Aramex', 'DHL Express')
        THEN 'SALES_DELIVERY'
        WHEN transaction_type IN ('Payment')
        AND collection_partner IN ('JumiaPay', 'Paystack', 'Flutterwave', 'Cellulant')
        THEN 'PREPAYMENT'
        WHEN transaction_type IN ('Payment - Rev')
        AND collection_partner IN ('Jumia Express', 'GIG Logistics', 'Kwik Delivery', 'Aramex', 'DHL Express')
        THEN 'SALES_CREDIT_MEMO'
        WHEN transaction_type IN ('Payment - Rev')
        AND collection_partner IN ('JumiaPay', 'Paystack', 'Flutterwave', 'Cellulant')
        THEN 'REFUND'
        WHEN transaction_type IN ('Translist in progress', 'Payment Charges Rev')
        THEN 'PAYMENT_RECONCILE'
        WHEN transaction_type IN ('Reallocation From')
        THEN 'SELLER_ACCOUNT_STATEMENT'
        ELSE NULL
      END AS rule_id
    FROM rc_ipe_31_ec_ng_202509
  ) AS t
  ORDER BY
    transaction_id NULLS FIRST
) AS g
GROUP BY
  rule_id
