-- filter-functions: CustomersV3?%24filter=indexof%28OrganizationName%2C%27a%27%29+ge+1+and+length%28substring%28OrganizationName%2C1%2C3%29%29+eq+3+and+year%28CreatedDateTime%29+eq+2020+and+date%28CreatedDateTime%29+lt+2021-01-01&%24select=CustomerAccount
-- page
SELECT cust_0.`ACCOUNTNUM` AS p0, cust_0.`DATAAREAID` AS p1, cust_0.`RECID` AS e0, cust_0.`RECVERSION` AS e1, party_1.`RECID` AS e2, party_1.`RECVERSION` AS e3, addr_2.`RECID` AS e4, addr_2.`RECVERSION` AS e5, cust_0.`DATAAREAID` AS k0, cust_0.`ACCOUNTNUM` AS k1 
FROM `CUSTTABLE` AS cust_0 INNER JOIN `DIRPARTYTABLE` AS party_1 ON party_1.`RECID` = cust_0.`PARTY` LEFT OUTER JOIN `LOGISTICSPOSTALADDRESS` AS addr_2 ON addr_2.`RECID` = party_1.`PRIMARYADDRESS` 
WHERE cust_0.`DATAAREAID` = %s AND instr(party_1.`NAME`, %s) - %s >= %s AND char_length(substr(party_1.`NAME`, %s + %s, %s)) = %s AND CAST(EXTRACT(year FROM cust_0.`CREATEDDATETIME`) AS SIGNED INTEGER) = %s AND CAST(cust_0.`CREATEDDATETIME` AS DATE) < %s ORDER BY cust_0.`DATAAREAID` ASC, cust_0.`ACCOUNTNUM` ASC 
 LIMIT %s
-- parameters: [('DATAAREAID_1', 'usmf'), ('instr_1', 1), ('param_1', 'a'), ('param_2', 1), ('param_3', 1), ('param_4', 1), ('param_5', 3), ('param_6', 3), ('param_7', 2020), ('param_8', datetime.date(2021, 1, 1)), ('param_9', 101)]
