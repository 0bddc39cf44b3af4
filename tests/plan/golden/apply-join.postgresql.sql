-- apply-join: SalesOrderHeadersV2?%24apply=outerjoin%28SalesOrderLines+as+L%2Cfilter%28LineAmount+gt+1000%29%2Faggregate%28%24count+as+N%29%29&%24select=SalesOrderNumber&%24expand=L
-- page
WITH joined_2 AS 
(SELECT header_0."DATAAREAID" AS c0, header_0."SALESID" AS c1, header_0."CUSTACCOUNT" AS c2, header_0."SALESSTATUS" AS c3, header_0."CURRENCYCODE" AS c4, header_0."SHIPPINGDATEREQUESTED" AS c5, header_0."CUSTOMERREF" AS c6, header_0."CREATEDDATETIME" AS c7, row_number() OVER (ORDER BY header_0."DATAAREAID" ASC, header_0."SALESID" ASC) AS c8 
FROM "SALESTABLE" AS header_0 
WHERE header_0."DATAAREAID" = %(DATAAREAID_1)s::VARCHAR)
 SELECT joined_2.c1 AS c0, joined_5.c1 AS c1, joined_5.c0 AS c2 
FROM joined_2 LEFT OUTER JOIN (SELECT joined_2.c8 AS c0, coalesce(apply_4.c1, %(coalesce_1)s::INTEGER) AS c1 
FROM joined_2 LEFT OUTER JOIN (SELECT joined_2.c8 AS c0, count(*) AS c1 
FROM joined_2 JOIN "SALESLINE" AS line_3 ON joined_2.c0 = line_3."DATAAREAID" AND joined_2.c1 = line_3."SALESID" 
WHERE line_3."DATAAREAID" = %(DATAAREAID_2)s::VARCHAR AND line_3."LINEAMOUNT" > %(param_1)s::INTEGER GROUP BY joined_2.c8) AS apply_4 ON joined_2.c8 = apply_4.c0) AS joined_5 ON joined_2.c8 = joined_5.c0 ORDER BY joined_2.c8 ASC, joined_2.c0 ASC, joined_2.c1 ASC 
 LIMIT %(param_2)s::INTEGER
-- parameters: [('DATAAREAID_1', 'usmf'), ('DATAAREAID_2', 'usmf'), ('coalesce_1', 0), ('param_1', 1000), ('param_2', 101)]
