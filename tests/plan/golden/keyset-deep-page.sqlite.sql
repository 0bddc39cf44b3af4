-- keyset-deep-page: SalesOrderLines?%24select=InventoryLotId
-- page
SELECT line_1."INVENTTRANSID" AS p0, line_1."DATAAREAID" AS p1, line_1."RECID" AS e0, line_1."RECVERSION" AS e1, line_1."DATAAREAID" AS k0, line_1."INVENTTRANSID" AS k1 
FROM "SALESLINE" AS line_1 
WHERE (line_1."DATAAREAID" || ?) = ? AND (line_1."DATAAREAID", line_1."INVENTTRANSID") > (?, ?) ORDER BY line_1."DATAAREAID" ASC, line_1."INVENTTRANSID" ASC
 LIMIT ? OFFSET ?
-- parameters: [('DATAAREAID_1', ''), ('param_1', 'usmf'), ('param_2', 'usmf'), ('param_3', 'LOT-0200000'), ('param_4', 101), ('param_5', 0)]
