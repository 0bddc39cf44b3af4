-- filter-null-semantics: CustomersV3?%24filter=AddressCity+ne+%27Seattle%27+and+AddressState+eq+null&%24select=CustomerAccount
-- page
SELECT cust_0."ACCOUNTNUM" AS p0, cust_0."DATAAREAID" AS p1, cust_0."RECID" AS e0, cust_0."RECVERSION" AS e1, party_1."RECID" AS e2, party_1."RECVERSION" AS e3, addr_2."RECID" AS e4, addr_2."RECVERSION" AS e5, cust_0."DATAAREAID" AS k0, cust_0."ACCOUNTNUM" AS k1 
FROM "CUSTTABLE" AS cust_0 JOIN "DIRPARTYTABLE" AS party_1 ON party_1."RECID" = cust_0."PARTY" LEFT OUTER JOIN "LOGISTICSPOSTALADDRESS" AS addr_2 ON addr_2."RECID" = party_1."PRIMARYADDRESS" 
WHERE cust_0."DATAAREAID" = ? AND addr_2."CITY" IS NOT ? AND addr_2."STATE" IS NULL ORDER BY cust_0."DATAAREAID" ASC, cust_0."ACCOUNTNUM" ASC
 LIMIT ? OFFSET ?
-- parameters: [('DATAAREAID_1', 'usmf'), ('param_1', 'Seattle'), ('param_2', 101), ('param_3', 0)]
