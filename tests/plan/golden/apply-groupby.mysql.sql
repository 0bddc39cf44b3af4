-- apply-groupby: SalesOrderLines?%24apply=filter%28LineAmount+gt+1000%29%2Fgroupby%28%28SalesOrderHeader%2FOrderingCustomerAccountNumber%29%2Caggregate%28LineAmount+with+sum+as+Total%2CLineAmount+with+average+as+Avg%2C%24count+as+N%29%29&%24orderby=Total+desc&%24top=5&%24count=true
-- page
SELECT apply_2.c0 AS c0, apply_2.c1 AS c1, apply_2.c2 AS c2, apply_2.c3 AS c3 
FROM (SELECT header_1.`CUSTACCOUNT` AS c0, sum(line_0.`LINEAMOUNT`) AS c1, avg(CAST(line_0.`LINEAMOUNT` AS DOUBLE)) AS c2, count(*) AS c3 
FROM `SALESLINE` AS line_0 LEFT OUTER JOIN `SALESTABLE` AS header_1 ON line_0.`DATAAREAID` = header_1.`DATAAREAID` AND line_0.`SALESID` = header_1.`SALESID` AND header_1.`DATAAREAID` = %s 
WHERE line_0.`DATAAREAID` = %s AND line_0.`LINEAMOUNT` > %s GROUP BY header_1.`CUSTACCOUNT`) AS apply_2 ORDER BY apply_2.c1 DESC, apply_2.c0 ASC 
 LIMIT %s
-- parameters: [('DATAAREAID_1', 'usmf'), ('DATAAREAID_2', 'usmf'), ('param_1', 1000), ('param_2', 5)]

-- count
SELECT count(*) AS count_1 
FROM (SELECT apply_2.c0 AS c0, apply_2.c1 AS c1, apply_2.c2 AS c2, apply_2.c3 AS c3 
FROM (SELECT header_1.`CUSTACCOUNT` AS c0, sum(line_0.`LINEAMOUNT`) AS c1, avg(CAST(line_0.`LINEAMOUNT` AS DOUBLE)) AS c2, count(*) AS c3 
FROM `SALESLINE` AS line_0 LEFT OUTER JOIN `SALESTABLE` AS header_1 ON line_0.`DATAAREAID` = header_1.`DATAAREAID` AND line_0.`SALESID` = header_1.`SALESID` AND header_1.`DATAAREAID` = %s 
WHERE line_0.`DATAAREAID` = %s AND line_0.`LINEAMOUNT` > %s GROUP BY header_1.`CUSTACCOUNT`) AS apply_2) AS counted_3
-- parameters: [('DATAAREAID_1', 'usmf'), ('DATAAREAID_2', 'usmf'), ('param_1', 1000)]
