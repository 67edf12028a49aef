-- The WP qualifying (staff-assisted) services of linked customers up to $as_of: the same codes that
-- make a WP period. A service whose registration has no customer cannot be tied to a claim or case.
CREATE OR REPLACE TEMP TABLE coen_wp_services AS
SELECT DISTINCT x.customer_id, s.service_date
FROM stg_wp_services AS s
JOIN coen_xref AS x ON x.source_system = 'wp' AND x.source_record_id = s.individual_id
WHERE s.service_date <= $as_of AND list_contains($codes, s.service_code);
