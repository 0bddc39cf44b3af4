-- orderby-nulls: CustomersV3?%24orderby=AddressCity+desc%2CCustomerGroup%2FDescription&%24select=CustomerAccount&%24top=20&%24skip=5
-- page
SELECT cust_0."ACCOUNTNUM" AS p0, cust_0."DATAAREAID" AS p1, cust_0."RECID" AS e0, cust_0."RECVERSION" AS e1, party_1."RECID" AS e2, party_1."RECVERSION" AS e3, addr_2."RECID" AS e4, addr_2."RECVERSION" AS e5, addr_2."CITY" AS k0, grp_3."NAME" AS k1, cust_0."DATAAREAID" AS k2, cust_0."ACCOUNTNUM" AS k3 
FROM "CUSTTABLE" AS cust_0 JOIN "DIRPARTYTABLE" AS party_1 ON party_1."RECID" = cust_0."PARTY" LEFT OUTER JOIN "LOGISTICSPOSTALADDRESS" AS addr_2 ON addr_2."RECID" = party_1."PRIMARYADDRESS" LEFT OUTER JOIN "CUSTGROUP" AS grp_3 ON cust_0."DATAAREAID" = grp_3."DATAAREAID" AND cust_0."CUSTGROUP" = grp_3."CUSTGROUP" AND grp_3."DATAAREAID" = %(DATAAREAID_1)s::VARCHAR 
WHERE cust_0."DATAAREAID" = %(DATAAREAID_2)s::VARCHAR ORDER BY addr_2."CITY" DESC NULLS LAST, grp_3."NAME" ASC NULLS FIRST, cust_0."DATAAREAID" ASC, cust_0."ACCOUNTNUM" ASC 
 LIMIT %(param_1)s::INTEGER OFFSET %(param_2)s::INTEGER
-- parameters: [('DATAAREAID_1', 'usmf'), ('DATAAREAID_2', 'usmf'), ('param_1', 20), ('param_2', 5)]
