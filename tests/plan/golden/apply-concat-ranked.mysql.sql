-- apply-concat-ranked: SalesOrderLines?%24apply=concat%28topsum%285000%2CLineAmount%29%2Cgroupby%28%28rollup%28SalesOrderHeader%2FSalesOrderStatus%2CItemNumber%29%29%2Caggregate%28LineAmount+with+sum+as+Total%29%29%29&%24top=10
-- page
SELECT concat_19.c0 AS c0, concat_19.c1 AS c1, concat_19.c2 AS c2, concat_19.c3 AS c3, concat_19.c4 AS c4, concat_19.c5 AS c5, concat_19.c6 AS c6, concat_19.c7 AS c7, concat_19.c8 AS c8, concat_19.c9 AS c9, concat_19.c10 AS c10, concat_19.c11 AS c11, concat_19.c12 AS c12, concat_19.c13 AS c13, concat_19.c14 AS c14 
FROM (SELECT apply_15.c0 AS c0, apply_15.c1 AS c1, apply_15.c2 AS c2, apply_15.c3 AS c3, apply_15.c4 AS c4, apply_15.c5 AS c5, apply_15.c6 AS c6, apply_15.c7 AS c7, apply_15.c8 AS c8, apply_15.c9 AS c9, apply_15.c10 AS c10, apply_15.c11 AS c11, NULL AS c12, NULL AS c13, 0 AS c14, 0 AS c15, row_number() OVER (ORDER BY apply_15.c0 ASC, apply_15.c1 ASC) AS c16 
FROM (SELECT apply_6.c0 AS c0, apply_6.c1 AS c1, apply_6.c2 AS c2, apply_6.c3 AS c3, apply_6.c4 AS c4, apply_6.c5 AS c5, apply_6.c6 AS c6, apply_6.c7 AS c7, apply_6.c8 AS c8, apply_6.c9 AS c9, apply_6.c10 AS c10, apply_6.c11 AS c11 
FROM (SELECT apply_5.c0 AS c0, apply_5.c1 AS c1, apply_5.c2 AS c2, apply_5.c3 AS c3, apply_5.c4 AS c4, apply_5.c5 AS c5, apply_5.c6 AS c6, apply_5.c7 AS c7, apply_5.c8 AS c8, apply_5.c9 AS c9, apply_5.c10 AS c10, apply_5.c11 AS c11, apply_5.c12 AS c12, apply_5.c13 AS c13, min(CASE WHEN (coalesce(apply_5.c13, %s) >= %s) THEN apply_5.c12 ELSE NULL END) OVER () AS c14 
FROM (SELECT line_0.`DATAAREAID` AS c0, line_0.`INVENTTRANSID` AS c1, line_0.`SALESID` AS c2, line_0.`LINENUM` AS c3, line_0.`ITEMID` AS c4, line_0.`SALESQTY` AS c5, line_0.`SALESPRICE` AS c6, line_0.`LINEAMOUNT` AS c7, line_0.`SALESUNIT` AS c8, line_0.`SALESSTATUS` AS c9, line_0.`INVENTCOLORID` AS c10, line_0.`INVENTSIZEID` AS c11, row_number() OVER (ORDER BY line_0.`LINEAMOUNT` DESC, line_0.`DATAAREAID` ASC, line_0.`INVENTTRANSID` ASC) AS c12, sum(coalesce(line_0.`LINEAMOUNT`, %s)) OVER (ORDER BY line_0.`LINEAMOUNT` DESC, line_0.`DATAAREAID` ASC, line_0.`INVENTTRANSID` ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - coalesce(line_0.`LINEAMOUNT`, %s) AS c13 
FROM `SALESLINE` AS line_0 
WHERE line_0.`DATAAREAID` = %s) AS apply_5) AS apply_6 
WHERE apply_6.c14 IS NULL OR apply_6.c12 < apply_6.c14) AS apply_15 UNION ALL SELECT NULL AS c0, NULL AS c1, NULL AS c2, NULL AS c3, apply_16.c1 AS c4, NULL AS c5, NULL AS c6, NULL AS c7, NULL AS c8, NULL AS c9, NULL AS c10, NULL AS c11, apply_16.c0 AS c12, apply_16.c2 AS c13, 1 + apply_16.c3 AS c14, 1 AS c15, row_number() OVER (ORDER BY apply_16.c4 ASC, apply_16.c5 ASC) AS c16 
FROM (SELECT concat_14.c0 AS c0, concat_14.c1 AS c1, concat_14.c2 AS c2, concat_14.c3 AS c3, concat_14.c4 AS c4, concat_14.c5 AS c5 
FROM (SELECT apply_10.c0 AS c0, apply_10.c1 AS c1, apply_10.c2 AS c2, 0 AS c3, 0 AS c4, row_number() OVER (ORDER BY apply_10.c0 ASC, apply_10.c1 ASC) AS c5 
FROM (SELECT apply_8.c0 AS c0, apply_8.c1 AS c1, apply_8.c2 AS c2 
FROM (SELECT header_7.`SALESSTATUS` AS c0, line_0.`ITEMID` AS c1, sum(line_0.`LINEAMOUNT`) AS c2 
FROM `SALESLINE` AS line_0 LEFT OUTER JOIN `SALESTABLE` AS header_7 ON line_0.`DATAAREAID` = header_7.`DATAAREAID` AND line_0.`SALESID` = header_7.`SALESID` AND header_7.`DATAAREAID` = %s 
WHERE line_0.`DATAAREAID` = %s GROUP BY header_7.`SALESSTATUS`, line_0.`ITEMID`) AS apply_8) AS apply_10 UNION ALL SELECT apply_11.c0 AS c0, NULL AS c1, apply_11.c1 AS c2, 1 AS c3, 1 AS c4, row_number() OVER (ORDER BY apply_11.c0 ASC) AS c5 
FROM (SELECT apply_9.c0 AS c0, apply_9.c1 AS c1 
FROM (SELECT header_7.`SALESSTATUS` AS c0, sum(line_0.`LINEAMOUNT`) AS c1 
FROM `SALESLINE` AS line_0 LEFT OUTER JOIN `SALESTABLE` AS header_7 ON line_0.`DATAAREAID` = header_7.`DATAAREAID` AND line_0.`SALESID` = header_7.`SALESID` AND header_7.`DATAAREAID` = %s 
WHERE line_0.`DATAAREAID` = %s GROUP BY header_7.`SALESSTATUS`) AS apply_9) AS apply_11) AS concat_14) AS apply_16) AS concat_19 ORDER BY concat_19.c15 ASC, concat_19.c16 ASC 
 LIMIT %s
-- parameters: [('DATAAREAID_1', 'usmf'), ('DATAAREAID_2', 'usmf'), ('coalesce_1', 0), ('coalesce_2', 0), ('param_1', Decimal('5000')), ('param_2', 10)]
