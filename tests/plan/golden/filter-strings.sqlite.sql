-- filter-strings: CustomersV3?%24filter=contains%28OrganizationName%2C%2750%25%27%29+and+startswith%28tolower%28AddressCity%29%2C%27s%27%29+and+OrganizationName+ne+%27%2AOutlet%2A%27&%24select=CustomerAccount
-- page
SELECT cust_0."ACCOUNTNUM" AS p0, cust_0."DATAAREAID" AS p1, cust_0."RECID" AS e0, cust_0."RECVERSION" AS e1, party_1."RECID" AS e2, party_1."RECVERSION" AS e3, addr_2."RECID" AS e4, addr_2."RECVERSION" AS e5, cust_0."DATAAREAID" AS k0, cust_0."ACCOUNTNUM" AS k1 
FROM "CUSTTABLE" AS cust_0 JOIN "DIRPARTYTABLE" AS party_1 ON party_1."RECID" = cust_0."PARTY" LEFT OUTER JOIN "LOGISTICSPOSTALADDRESS" AS addr_2 ON addr_2."RECID" = party_1."PRIMARYADDRESS" 
WHERE cust_0."DATAAREAID" = ? AND (party_1."NAME" LIKE '%' || ? || '%' ESCAPE '/') AND (lower(addr_2."CITY") LIKE ? || '%' ESCAPE '/') AND party_1."NAME" NOT LIKE ? ESCAPE '\' ORDER BY cust_0."DATAAREAID" ASC, cust_0."ACCOUNTNUM" ASC
 LIMIT ? OFFSET ?
-- parameters: [('DATAAREAID_1', 'usmf'), ('NAME_1', '50/%'), ('NAME_2', '%Outlet%'), ('lower_1', 's'), ('param_1', 101), ('param_2', 0)]
