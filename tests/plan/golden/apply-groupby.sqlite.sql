-- apply-groupby: SalesOrderLines?%24apply=filter%28LineAmount+gt+1000%29%2Fgroupby%28%28SalesOrderHeader%2FOrderingCustomerAccountNumber%29%2Caggregate%28LineAmount+with+sum+as+Total%2CLineAmount+with+average+as+Avg%2C%24count+as+N%29%29&%24orderby=Total+desc&%24top=5&%24count=true
-- page
SELECT apply_2.c0 AS c0, apply_2.c1 AS c1, apply_2.c2 AS c2, apply_2.c3 AS c3 
FROM (SELECT header_1."CUSTACCOUNT" AS c0, sum(CAST(round(line_0."LINEAMOUNT" * ?) AS BIGINT)) AS c1, avg(CAST(line_0."LINEAMOUNT" AS DOUBLE)) AS c2, count(*) AS c3 
FROM "SALESLINE" AS line_0 LEFT OUTER JOIN "SALESTABLE" AS header_1 ON line_0."DATAAREAID" = header_1."DATAAREAID" AND line_0."SALESID" = header_1."SALESID" AND header_1."DATAAREAID" = ? 
WHERE line_0."DATAAREAID" = ? AND line_0."LINEAMOUNT" > ? GROUP BY header_1."CUSTACCOUNT") AS apply_2 ORDER BY CAST(apply_2.c1 AS DOUBLE) / (? + 0.0) DESC, apply_2.c0 ASC
 LIMIT ? OFFSET ?
-- parameters: [('DATAAREAID_1', 'usmf'), ('DATAAREAID_2', 'usmf'), ('param_1', 1000000), ('param_2', 1000), ('param_3', 1000000.0), ('param_4', 5), ('param_5', 0)]

-- count
SELECT count(*) AS count_1 
FROM (SELECT apply_2.c0 AS c0, apply_2.c1 AS c1, apply_2.c2 AS c2, apply_2.c3 AS c3 
FROM (SELECT header_1."CUSTACCOUNT" AS c0, sum(CAST(round(line_0."LINEAMOUNT" * ?) AS BIGINT)) AS c1, avg(CAST(line_0."LINEAMOUNT" AS DOUBLE)) AS c2, count(*) AS c3 
FROM "SALESLINE" AS line_0 LEFT OUTER JOIN "SALESTABLE" AS header_1 ON line_0."DATAAREAID" = header_1."DATAAREAID" AND line_0."SALESID" = header_1."SALESID" AND header_1."DATAAREAID" = ? 
WHERE line_0."DATAAREAID" = ? AND line_0."LINEAMOUNT" > ? GROUP BY header_1."CUSTACCOUNT") AS apply_2) AS counted_3
-- parameters: [('DATAAREAID_1', 'usmf'), ('DATAAREAID_2', 'usmf'), ('param_1', 1000000), ('param_2', 1000)]
