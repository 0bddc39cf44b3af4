-- count: SalesOrderLines?%24filter=LineAmount+gt+100&%24count=true&%24select=InventoryLotId
-- page
SELECT line_0."INVENTTRANSID" AS p0, line_0."DATAAREAID" AS p1, line_0."RECID" AS e0, line_0."RECVERSION" AS e1, line_0."DATAAREAID" AS k0, line_0."INVENTTRANSID" AS k1 
FROM "SALESLINE" AS line_0 
WHERE line_0."DATAAREAID" = ? AND line_0."LINEAMOUNT" > ? ORDER BY line_0."DATAAREAID" ASC, line_0."INVENTTRANSID" ASC
 LIMIT ? OFFSET ?
-- parameters: [('DATAAREAID_1', 'usmf'), ('param_1', 100), ('param_2', 101), ('param_3', 0)]

-- count
SELECT count(*) AS count_1 
FROM "SALESLINE" AS line_0 
WHERE line_0."DATAAREAID" = ? AND line_0."LINEAMOUNT" > ?
-- parameters: [('DATAAREAID_1', 'usmf'), ('param_1', 100)]
