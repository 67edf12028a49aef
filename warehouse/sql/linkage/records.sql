-- The person records as linkage reads them ({columns}: the model's inputs, person key, delivery date).
SELECT {columns} FROM person_records ORDER BY source_system, source_record_id;
