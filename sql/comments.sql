-- comments: every object a user can see in schema clm has a COMMENT
-- (what \df+, \dT+, \d+ and \dC+ show): functions and aggregates, types
-- (table row types are described by their table), tables, views,
-- sequences, the columns of tables, views and composite types, and any
-- cast or operator involving a clm type.  The query lists those without
-- one: it must return no row.  (An object added without COMMENT ON fails
-- here; write one next to its definition.)
CREATE TEMP VIEW clm_objects AS
SELECT 'function' AS kind, p.oid::regprocedure::text AS object,
	   obj_description(p.oid, 'pg_proc') AS comment
FROM pg_proc p WHERE p.pronamespace = 'clm'::regnamespace
UNION ALL
SELECT 'type', t.oid::regtype::text, obj_description(t.oid, 'pg_type')
FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid
WHERE t.typnamespace = 'clm'::regnamespace
  AND NOT (t.typcategory = 'A' AND t.typelem <> 0)       -- array types
  AND (c.oid IS NULL OR c.relkind = 'c')                 -- row types of tables
UNION ALL
SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
		   WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' ELSE 'foreign table' END,
	   c.oid::regclass::text, obj_description(c.oid, 'pg_class')
FROM pg_class c
WHERE c.relnamespace = 'clm'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
UNION ALL
SELECT 'column', format('%s.%I', a.attrelid::regclass, a.attname),
	   col_description(a.attrelid, a.attnum)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace = 'clm'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
  AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'cast', format('%s AS %s', k.castsource::regtype, k.casttarget::regtype),
	   obj_description(k.oid, 'pg_cast')
FROM pg_cast k
WHERE 'clm'::regnamespace IN ((SELECT typnamespace FROM pg_type WHERE oid = k.castsource),
							  (SELECT typnamespace FROM pg_type WHERE oid = k.casttarget))
UNION ALL
SELECT 'operator', o.oid::regoperator::text, obj_description(o.oid, 'pg_operator')
FROM pg_operator o WHERE o.oprnamespace = 'clm'::regnamespace;

SELECT kind, object FROM clm_objects
WHERE comment IS NULL OR btrim(comment) = '' ORDER BY 1, 2;

-- the view sees every kind of object it checks (so the empty answer above
-- is not an empty view): counts are lower bounds, as objects get added
SELECT kind, count(*) >= min_count AS enough
FROM clm_objects
JOIN (VALUES ('function', 80), ('type', 10), ('table', 7), ('view', 4),
			 ('sequence', 4), ('column', 150)) m(kind, min_count) USING (kind)
GROUP BY kind, min_count ORDER BY kind;

-- and it would catch a missing comment
BEGIN;
COMMENT ON COLUMN clm.models.owner IS NULL;
CREATE FUNCTION clm.uncommented() RETURNS int LANGUAGE sql AS 'SELECT 1';
SELECT kind, object FROM clm_objects WHERE comment IS NULL ORDER BY 1, 2;
ROLLBACK;
