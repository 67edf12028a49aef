INSERT INTO write_audit
VALUES ($run_id, $step, $table_name, $rows, $os_user, $host, $started_at, $finished_at);
