-- keyset-mixed-directions: SalesOrderLines?%24orderby=LineAmount+desc
-- page
SELECT line_1."DATAAREAID" AS p0, line_1."INVENTTRANSID" AS p1, line_1."SALESID" AS p2, line_1."LINENUM" AS p3, line_1."ITEMID" AS p4, line_1."SALESQTY" AS p5, line_1."SALESPRICE" AS p6, line_1."LINEAMOUNT" AS p7, line_1."SALESUNIT" AS p8, line_1."SALESSTATUS" AS p9, line_1."INVENTCOLORID" AS p10, line_1."INVENTSIZEID" AS p11, line_1."RECID" AS e0, line_1."RECVERSION" AS e1, line_1."LINEAMOUNT" AS k0, line_1."DATAAREAID" AS k1, line_1."INVENTTRANSID" AS k2 
FROM "SALESLINE" AS line_1 
WHERE (line_1."DATAAREAID" || ?) = ? AND (line_1."LINEAMOUNT" < ? OR line_1."LINEAMOUNT" = ? AND line_1."DATAAREAID" > ? OR line_1."LINEAMOUNT" = ? AND line_1."DATAAREAID" = ? AND line_1."INVENTTRANSID" > ?) ORDER BY line_1."LINEAMOUNT" DESC, line_1."DATAAREAID" ASC, line_1."INVENTTRANSID" ASC
 LIMIT ? OFFSET ?
-- parameters: [('DATAAREAID_1', ''), ('DATAAREAID_2', 'usmf'), ('DATAAREAID_3', 'usmf'), ('INVENTTRANSID_1', 'LOT-1'), ('param_1', 'usmf'), ('param_2', Decimal('100.5')), ('param_3', Decimal('100.5')), ('param_4', 101), ('param_5', 0)]
