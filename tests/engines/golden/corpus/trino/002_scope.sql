SELECT
  company_id,
  country_code,
  currency
FROM ref.companies
WHERE
  in_conso_scope
ORDER BY
  company_id NULLS FIRST
