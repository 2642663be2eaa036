SELECT
  bridge,
  COUNT(*) AS keys,
  SUM(CASE WHEN delta <> 0 THEN 1 ELSE 0 END) AS nonzero_keys,
  SUM(g) AS g,
  SUM(t) AS t,
  SUM(delta) AS delta,
  SUM(CASE WHEN material THEN 1 ELSE 0 END) AS material_items,
  SUM(CASE WHEN claims > 1 THEN 1 ELSE 0 END) AS "overlaps"
FROM rk_packages_ec_ng_202509
GROUP BY
  bridge
ORDER BY
  bridge
