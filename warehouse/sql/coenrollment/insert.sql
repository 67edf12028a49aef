-- A built frame into its published table (the column names and types are the DDL's).
INSERT INTO {table} BY NAME SELECT * FROM coen_frame;
