SELECT
  company_id,
  country_code,
  currency
FROM ref.companies
WHERE
  in_conso_scope <> 0
ORDER BY
  company_id
