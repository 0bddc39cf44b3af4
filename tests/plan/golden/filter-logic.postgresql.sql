-- filter-logic: CustomersV3?%24filter=%28CreditLimit+gt+1000+or+OnHoldStatus+eq+Microsoft.Dynamics.DataEntities.CustVendorBlocked%27All%27%29+and+not+%28CustomerGroupId+in+%28%2710%27%2C%2720%27%29%29&%24select=CustomerAccount
-- page
SELECT cust_0."ACCOUNTNUM" AS p0, cust_0."DATAAREAID" AS p1, cust_0."RECID" AS e0, cust_0."RECVERSION" AS e1, party_1."RECID" AS e2, party_1."RECVERSION" AS e3, addr_2."RECID" AS e4, addr_2."RECVERSION" AS e5, cust_0."DATAAREAID" AS k0, cust_0."ACCOUNTNUM" AS k1 
FROM "CUSTTABLE" AS cust_0 JOIN "DIRPARTYTABLE" AS party_1 ON party_1."RECID" = cust_0."PARTY" LEFT OUTER JOIN "LOGISTICSPOSTALADDRESS" AS addr_2 ON addr_2."RECID" = party_1."PRIMARYADDRESS" 
WHERE cust_0."DATAAREAID" = %(DATAAREAID_1)s::VARCHAR AND (cust_0."CREDITMAX" > %(param_1)s::INTEGER OR cust_0."BLOCKED" = %(param_2)s::INTEGER) AND (cust_0."CUSTGROUP" NOT IN (%(param_3)s::VARCHAR, %(param_4)s::VARCHAR)) ORDER BY cust_0."DATAAREAID" ASC, cust_0."ACCOUNTNUM" ASC 
 LIMIT %(param_5)s::INTEGER
-- parameters: [('DATAAREAID_1', 'usmf'), ('param_1', 1000), ('param_2', 2), ('param_3', '10'), ('param_4', '20'), ('param_5', 101)]
