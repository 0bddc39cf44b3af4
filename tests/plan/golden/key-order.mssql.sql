-- key-order: CustomersV3?%24select=CustomerAccount%2CCreditLimit
-- page
SELECT TOP __[POSTCOMPILE_param_1] cust_0.[ACCOUNTNUM] AS p0, cust_0.[CREDITMAX] AS p1, cust_0.[DATAAREAID] AS p2, cust_0.[RECID] AS e0, cust_0.[RECVERSION] AS e1, party_1.[RECID] AS e2, party_1.[RECVERSION] AS e3, addr_2.[RECID] AS e4, addr_2.[RECVERSION] AS e5, cust_0.[DATAAREAID] AS k0, cust_0.[ACCOUNTNUM] AS k1 
FROM [CUSTTABLE] AS cust_0 JOIN [DIRPARTYTABLE] AS party_1 ON party_1.[RECID] = cust_0.[PARTY] LEFT OUTER JOIN [LOGISTICSPOSTALADDRESS] AS addr_2 ON addr_2.[RECID] = party_1.[PRIMARYADDRESS] 
WHERE cust_0.[DATAAREAID] = :DATAAREAID_1 ORDER BY cust_0.[DATAAREAID] ASC, cust_0.[ACCOUNTNUM] ASC
-- parameters: [('DATAAREAID_1', 'usmf'), ('param_1', 101)]
