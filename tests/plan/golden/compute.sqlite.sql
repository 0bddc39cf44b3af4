-- compute: CustomersV3?%24compute=CreditLimit+mul+2+as+DoubleLimit&%24filter=DoubleLimit+gt+5&%24orderby=DoubleLimit+desc&%24select=DoubleLimit
-- page
SELECT round(cust_0."CREDITMAX" * ?, ?) AS p0, cust_0."DATAAREAID" AS p1, cust_0."ACCOUNTNUM" AS p2, cust_0."RECID" AS e0, cust_0."RECVERSION" AS e1, party_1."RECID" AS e2, party_1."RECVERSION" AS e3, addr_2."RECID" AS e4, addr_2."RECVERSION" AS e5, round(cust_0."CREDITMAX" * ?, ?) AS k0, cust_0."DATAAREAID" AS k1, cust_0."ACCOUNTNUM" AS k2 
FROM "CUSTTABLE" AS cust_0 JOIN "DIRPARTYTABLE" AS party_1 ON party_1."RECID" = cust_0."PARTY" LEFT OUTER JOIN "LOGISTICSPOSTALADDRESS" AS addr_2 ON addr_2."RECID" = party_1."PRIMARYADDRESS" 
WHERE cust_0."DATAAREAID" = ? AND round(cust_0."CREDITMAX" * ?, ?) > ? ORDER BY round(cust_0."CREDITMAX" * ?, ?) DESC, cust_0."DATAAREAID" ASC, cust_0."ACCOUNTNUM" ASC
 LIMIT ? OFFSET ?
-- parameters: [('DATAAREAID_1', 'usmf'), ('param_1', 2), ('param_2', 5), ('param_3', 101), ('param_4', 0), ('round_1', 10)]
