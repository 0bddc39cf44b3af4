-- count: SalesOrderLines?%24filter=LineAmount+gt+100&%24count=true&%24select=InventoryLotId
-- page
SELECT TOP __[POSTCOMPILE_param_1] line_0.[INVENTTRANSID] AS p0, line_0.[DATAAREAID] AS p1, line_0.[RECID] AS e0, line_0.[RECVERSION] AS e1, line_0.[DATAAREAID] AS k0, line_0.[INVENTTRANSID] AS k1 
FROM [SALESLINE] AS line_0 
WHERE line_0.[DATAAREAID] = :DATAAREAID_1 AND line_0.[LINEAMOUNT] > :param_2 ORDER BY line_0.[DATAAREAID] ASC, line_0.[INVENTTRANSID] ASC
-- parameters: [('DATAAREAID_1', 'usmf'), ('param_1', 101), ('param_2', 100)]

-- count
SELECT count(*) AS count_1 
FROM [SALESLINE] AS line_0 
WHERE line_0.[DATAAREAID] = :DATAAREAID_1 AND line_0.[LINEAMOUNT] > :param_1
-- parameters: [('DATAAREAID_1', 'usmf'), ('param_1', 100)]
