-- apply-chained: SalesOrderLines?%24apply=orderby%28LineAmount+desc%29%2Ftop%28100%29%2Fcompute%28LineAmount+mul+2+as+Twice%29%2Fgroupby%28%28ItemNumber%29%2Caggregate%28Twice+with+max+as+M%2CItemNumber+with+countdistinct+as+D%29%29%2Ffilter%28M+gt+10%29%2Faggregate%28M+with+sum+as+S%29
-- page
SELECT apply_4.c0 AS c0 
FROM (SELECT sum(apply_3.c1) AS c0 
FROM (SELECT apply_2.c4 AS c0, max(apply_2.c12) AS c1, count(DISTINCT apply_2.c4) AS c2 
FROM (SELECT apply_1.c0 AS c0, apply_1.c1 AS c1, apply_1.c2 AS c2, apply_1.c3 AS c3, apply_1.c4 AS c4, apply_1.c5 AS c5, apply_1.c6 AS c6, apply_1.c7 AS c7, apply_1.c8 AS c8, apply_1.c9 AS c9, apply_1.c10 AS c10, apply_1.c11 AS c11, apply_1.c7 * %s AS c12, apply_1.o0 AS o0 
FROM (SELECT line_0.`DATAAREAID` AS c0, line_0.`INVENTTRANSID` AS c1, line_0.`SALESID` AS c2, line_0.`LINENUM` AS c3, line_0.`ITEMID` AS c4, line_0.`SALESQTY` AS c5, line_0.`SALESPRICE` AS c6, line_0.`LINEAMOUNT` AS c7, line_0.`SALESUNIT` AS c8, line_0.`SALESSTATUS` AS c9, line_0.`INVENTCOLORID` AS c10, line_0.`INVENTSIZEID` AS c11, line_0.`LINEAMOUNT` AS o0 
FROM `SALESLINE` AS line_0 
WHERE line_0.`DATAAREAID` = %s ORDER BY line_0.`LINEAMOUNT` DESC, line_0.`DATAAREAID` ASC, line_0.`INVENTTRANSID` ASC 
 LIMIT %s) AS apply_1) AS apply_2 GROUP BY apply_2.c4) AS apply_3 
WHERE apply_3.c1 IS NOT NULL AND apply_3.c1 > %s) AS apply_4 
 LIMIT %s
-- parameters: [('DATAAREAID_1', 'usmf'), ('param_1', 2), ('param_2', 100), ('param_3', 10), ('param_4', 101)]
