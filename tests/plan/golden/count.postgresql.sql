-- count: SalesOrderLines?%24filter=LineAmount+gt+100&%24count=true&%24select=InventoryLotId
-- page
SELECT line_0."INVENTTRANSID" AS p0, line_0."DATAAREAID" AS p1, line_0."RECID" AS e0, line_0."RECVERSION" AS e1, line_0."DATAAREAID" AS k0, line_0."INVENTTRANSID" AS k1 
FROM "SALESLINE" AS line_0 
WHERE line_0."DATAAREAID" = %(DATAAREAID_1)s::VARCHAR AND line_0."LINEAMOUNT" > %(param_1)s::INTEGER ORDER BY line_0."DATAAREAID" ASC, line_0."INVENTTRANSID" ASC 
 LIMIT %(param_2)s::INTEGER
-- parameters: [('DATAAREAID_1', 'usmf'), ('param_1', 100), ('param_2', 101)]

-- count
SELECT count(*) AS count_1 
FROM "SALESLINE" AS line_0 
WHERE line_0."DATAAREAID" = %(DATAAREAID_1)s::VARCHAR AND line_0."LINEAMOUNT" > %(param_1)s::INTEGER
-- parameters: [('DATAAREAID_1', 'usmf'), ('param_1', 100)]
