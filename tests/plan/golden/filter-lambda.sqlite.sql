-- filter-lambda: CustomersV3?%24filter=SalesOrders%2Fany%28o%3Ao%2FSalesOrderLines%2Fall%28l%3Al%2FLineAmount+gt+10%29%29+and+SalesOrders%2F%24count+gt+2&%24select=CustomerAccount
-- page
SELECT cust_0."ACCOUNTNUM" AS p0, cust_0."DATAAREAID" AS p1, cust_0."RECID" AS e0, cust_0."RECVERSION" AS e1, party_1."RECID" AS e2, party_1."RECVERSION" AS e3, addr_2."RECID" AS e4, addr_2."RECVERSION" AS e5, cust_0."DATAAREAID" AS k0, cust_0."ACCOUNTNUM" AS k1 
FROM "CUSTTABLE" AS cust_0 JOIN "DIRPARTYTABLE" AS party_1 ON party_1."RECID" = cust_0."PARTY" LEFT OUTER JOIN "LOGISTICSPOSTALADDRESS" AS addr_2 ON addr_2."RECID" = party_1."PRIMARYADDRESS" 
WHERE cust_0."DATAAREAID" = ? AND (EXISTS (SELECT ? AS anon_1 
FROM "SALESTABLE" AS header_3 
WHERE cust_0."DATAAREAID" = header_3."DATAAREAID" AND cust_0."ACCOUNTNUM" = header_3."CUSTACCOUNT" AND header_3."DATAAREAID" = ? AND NOT (EXISTS (SELECT ? AS anon_2 
FROM "SALESLINE" AS line_4 
WHERE header_3."DATAAREAID" = line_4."DATAAREAID" AND header_3."SALESID" = line_4."SALESID" AND line_4."DATAAREAID" = ? AND coalesce(line_4."LINEAMOUNT" > ?, 0) = 0)))) AND (SELECT count(*) AS count_1 
FROM "SALESTABLE" AS header_5 
WHERE cust_0."DATAAREAID" = header_5."DATAAREAID" AND cust_0."ACCOUNTNUM" = header_5."CUSTACCOUNT" AND header_5."DATAAREAID" = ?) > ? ORDER BY cust_0."DATAAREAID" ASC, cust_0."ACCOUNTNUM" ASC
 LIMIT ? OFFSET ?
-- parameters: [('DATAAREAID_1', 'usmf'), ('DATAAREAID_2', 'usmf'), ('DATAAREAID_3', 'usmf'), ('DATAAREAID_4', 'usmf'), ('param_1', 1), ('param_2', 1), ('param_3', 10), ('param_4', 2), ('param_5', 101), ('param_6', 0)]
