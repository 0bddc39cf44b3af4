-- filter-navigation: SalesOrderHeadersV2?%24filter=Customer%2FCustomerGroup%2FDescription+eq+%27Wholesale+customers%27&%24select=SalesOrderNumber
-- page
SELECT TOP __[POSTCOMPILE_param_1] header_0.[SALESID] AS p0, header_0.[DATAAREAID] AS p1, header_0.[RECID] AS e0, header_0.[RECVERSION] AS e1, header_0.[DATAAREAID] AS k0, header_0.[SALESID] AS k1 
FROM [SALESTABLE] AS header_0 LEFT OUTER JOIN ([CUSTTABLE] AS cust_1 JOIN [DIRPARTYTABLE] AS party_2 ON party_2.[RECID] = cust_1.[PARTY] LEFT OUTER JOIN [LOGISTICSPOSTALADDRESS] AS addr_3 ON addr_3.[RECID] = party_2.[PRIMARYADDRESS] LEFT OUTER JOIN [CUSTGROUP] AS grp_4 ON cust_1.[DATAAREAID] = grp_4.[DATAAREAID] AND cust_1.[CUSTGROUP] = grp_4.[CUSTGROUP] AND grp_4.[DATAAREAID] = :DATAAREAID_1) ON header_0.[DATAAREAID] = cust_1.[DATAAREAID] AND header_0.[CUSTACCOUNT] = cust_1.[ACCOUNTNUM] AND cust_1.[DATAAREAID] = :DATAAREAID_2 
WHERE header_0.[DATAAREAID] = :DATAAREAID_3 AND grp_4.[NAME] IS NOT NULL AND grp_4.[NAME] = :param_2 ORDER BY header_0.[DATAAREAID] ASC, header_0.[SALESID] ASC
-- parameters: [('DATAAREAID_1', 'usmf'), ('DATAAREAID_2', 'usmf'), ('DATAAREAID_3', 'usmf'), ('param_1', 101), ('param_2', 'Wholesale customers')]
