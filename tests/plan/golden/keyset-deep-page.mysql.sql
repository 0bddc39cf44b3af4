-- keyset-deep-page: SalesOrderLines?%24select=InventoryLotId
-- page
SELECT line_1.`INVENTTRANSID` AS p0, line_1.`DATAAREAID` AS p1, line_1.`RECID` AS e0, line_1.`RECVERSION` AS e1, line_1.`DATAAREAID` AS k0, line_1.`INVENTTRANSID` AS k1 
FROM `SALESLINE` AS line_1 
WHERE line_1.`DATAAREAID` = %s AND (line_1.`DATAAREAID` > %s OR line_1.`DATAAREAID` = %s AND line_1.`INVENTTRANSID` > %s) ORDER BY line_1.`DATAAREAID` ASC, line_1.`INVENTTRANSID` ASC 
 LIMIT %s
-- parameters: [('DATAAREAID_1', 'usmf'), ('DATAAREAID_2', 'usmf'), ('DATAAREAID_3', 'usmf'), ('INVENTTRANSID_1', 'LOT-0200000'), ('param_1', 101)]
