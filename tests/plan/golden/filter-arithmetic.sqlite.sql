-- filter-arithmetic: CustomersV3?%24filter=CreditLimit+div+3+gt+10+and+length%28OrganizationName%29+div+2+eq+5+and+length%28OrganizationName%29+mod+2+eq+0+and+round%28CreditLimit%29+ge+floor%28CreditLimit%29+and+cast%28CreditLimit%2CEdm.Int32%29+eq+2000&%24select=CustomerAccount
-- page
SELECT cust_0."ACCOUNTNUM" AS p0, cust_0."DATAAREAID" AS p1, cust_0."RECID" AS e0, cust_0."RECVERSION" AS e1, party_1."RECID" AS e2, party_1."RECVERSION" AS e3, addr_2."RECID" AS e4, addr_2."RECVERSION" AS e5, cust_0."DATAAREAID" AS k0, cust_0."ACCOUNTNUM" AS k1 
FROM "CUSTTABLE" AS cust_0 JOIN "DIRPARTYTABLE" AS party_1 ON party_1."RECID" = cust_0."PARTY" LEFT OUTER JOIN "LOGISTICSPOSTALADDRESS" AS addr_2 ON addr_2."RECID" = party_1."PRIMARYADDRESS" 
WHERE cust_0."DATAAREAID" = ? AND CAST(cust_0."CREDITMAX" AS FLOAT) / (nullif(?, ?) + 0.0) > ? AND FLOOR(length(party_1."NAME") / nullif(?, ?)) = ? AND length(party_1."NAME") % nullif(?, ?) = ? AND CAST(round(cust_0."CREDITMAX") AS NUMERIC) >= CAST(floor(cust_0."CREDITMAX") AS NUMERIC) AND CAST(cust_0."CREDITMAX" AS INTEGER) = ? ORDER BY cust_0."DATAAREAID" ASC, cust_0."ACCOUNTNUM" ASC
 LIMIT ? OFFSET ?
-- parameters: [('DATAAREAID_1', 'usmf'), ('nullif_1', 0), ('nullif_2', 0), ('nullif_3', 0), ('param_1', 3), ('param_2', 10), ('param_3', 2), ('param_4', 5), ('param_5', 2), ('param_6', 0), ('param_7', 2000), ('param_8', 101), ('param_9', 0)]
