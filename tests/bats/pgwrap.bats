#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# hoop-pgwrap with the real psql against a real PostgreSQL, run as leased
# test users: reads, refusals under a read-only rule (the session goes
# on), the bypass vectors of issue 6 over the simple and the extended
# protocol, startup parameters, approvals, cancel, upstream errors, TLS
# to the target, and where the secret must not be seen.
#
# hoop-pgwrap is the test build that reads $HOOP_BUILD/tests/pgwrap/hoop.conf
# and runs $HOOP_BUILD/tests/pgwrap/bin/psql, copied setgid to a group of
# its own (HOOP_GID) as it is installed. That psql is the real one, except
# that a file named *.steps makes it tests/tools/hoop-pg-client (the
# extended protocol message by message) and a file named *.pq
# tests/tools/pgwrap-pq (libpq: binary results, prepared statements,
# pipelines), with the same connection.
load helpers
load postgres

HOOP_GID=59998
PGW=$HOOP_BUILD/tests/pgwrap
CONF=$PGW/hoop.conf
CLIENT=$HOOP_BUILD/tests/hoop-pg-client
PQCLIENT=$HOOP_BUILD/tests/pgwrap-pq
READER=60301 APPROVER=60302 WRITER=60303 DUMPER=60304 MASKER=60305
MASKDUMP=60306

setup_file() {
	P=$(mktemp -d /tmp/hoop-pgwrap-bats.XXXXXX)
	chmod 755 "$P"
	mkdir -p "$P/bin" "$P/var" "$P/home" "$P/tls" "$P/work"
	chmod 1777 "$P/home" "$P/work"
	chgrp "$HOOP_GID" "$P/var"
	chmod 2770 "$P/var"
	APP_PW="app-pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
	secret "$P/app.pw" "$APP_PW"
	secret "$P/wrong.pw" "not-the-password-$RANDOM"
	secret "$P/md5.pw" "md5-pw-$RANDOM$RANDOM"
	secret "$P/clear.pw" "clear-pw-$RANDOM$RANDOM"
	secret "$P/mask.key" "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
	make_certs
	PG_CONF_EXTRA="ssl = on
ssl_cert_file = '$P/tls/server.crt'
ssl_key_file = '$P/tls/server.key'"
	pg_start \
		"hostssl all tlsonly $PG_HOST/32 password" \
		"host all clear $PG_HOST/32 password" \
		"host all mdapp $PG_HOST/32 md5" \
		"host all oldstyle $PG_HOST/32 scram-sha-256" \
		"host all app $PG_HOST/32 scram-sha-256" >/dev/null
	pg_role app scram-sha-256 "$APP_PW" >/dev/null
	pg_role mdapp md5 "$(cat "$P/md5.pw")" >/dev/null
	pg_role tlsonly scram-sha-256 "$(cat "$P/clear.pw")" >/dev/null
	pg_role clear scram-sha-256 "$(cat "$P/clear.pw")" >/dev/null
	pg_role oldstyle scram-sha-256 "$(cat "$P/clear.pw")" >/dev/null
	pg_sql "ALTER ROLE oldstyle SET standard_conforming_strings = off" >/dev/null
	pg_sql "CREATE TABLE t (id int, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b');
		CREATE SEQUENCE s; CREATE MATERIALIZED VIEW mv AS SELECT 1 AS one;
		CREATE PROCEDURE p() LANGUAGE sql AS 'DELETE FROM t';
		ALTER TABLE t OWNER TO app; ALTER SEQUENCE s OWNER TO app;
		ALTER MATERIALIZED VIEW mv OWNER TO app; ALTER PROCEDURE p() OWNER TO app" app >/dev/null
	# Masked data: columns by name, through aliases and views, patterns
	# in computed columns, a unique key whose error names its value.
	pg_sql "CREATE TABLE users (id int PRIMARY KEY, name text,
		    email text UNIQUE, card text, ssn text, note text);
		INSERT INTO users VALUES (1, 'Alice', 'alice@example.com',
		    '4111 1111 1111 1111', '123-45-6789', 'mail alice@example.com');
		CREATE VIEW v_users AS SELECT id, email AS contact FROM users;
		CREATE VIEW v_v_users AS SELECT contact FROM v_users;
		CREATE TABLE big AS SELECT g AS id, 'secret-a-' || g AS a,
		    'secret-b-' || g AS b, 'secret-c-' || g AS c
		    FROM generate_series(1, 1000000) g;
		ALTER TABLE users OWNER TO app; ALTER VIEW v_users OWNER TO app;
		ALTER VIEW v_v_users OWNER TO app; ALTER TABLE big OWNER TO app" app >/dev/null
	# COPY data: what text and CSV must quote and escape.
	pg_sql "CREATE TABLE people (id int, name text, ssn text, note text);
		INSERT INTO people VALUES (1, 'Bob, \"the\" builder', '987-65-4321',
		    E'line one\nmail bob@example.org\tand a back\\\\slash'),
		    (2, NULL, NULL, '');
		ALTER TABLE people OWNER TO app" app >/dev/null
	DOWN_PORT=$(free_port)

	mkdir -p "$PGW/bin"
	# Never write through a link left there (it may be the real psql).
	rm -f "$PGW/bin/psql" "$PGW/bin/pg_dump"
	cat >"$PGW/bin/psql" <<SH
#!/bin/sh
# psql for pgwrap.bats: a *.steps file is a hoop-pg-client script, a
# *.pq file a pgwrap-pq one.
for a in "\$@"; do
	case \$a in
	*.pq)
		exec "$PQCLIENT" "\$a" ;;
	*.steps)
		HOOP_PG_PASSWORD=\$(cut -d: -f5 "\$PGPASSFILE")
		export HOOP_PG_PASSWORD
		exec "$CLIENT" -S "\$PGHOST" -p "\$PGPORT" -U "\$PGUSER" \\
		    -d "\$PGDATABASE" --script "\$a" ;;
	esac
done
exec "$PG_BIN/psql" "\$@"
SH
	chmod 755 "$PGW/bin/psql"
	ln -sf "$PG_BIN/pg_dump" "$PGW/bin/pg_dump"
	write_conf
	"$HOOPCTL" -c "$CONF" config check >/dev/null
	"$HOOPCTL" -c "$CONF" db migrate >/dev/null
	chgrp "$HOOP_GID" "$P/var"/hoop.db*
	chmod 0660 "$P/var"/hoop.db*
	lease reader $READER readers
	lease approver $APPROVER sre
	lease writer $WRITER writers
	lease dumper $DUMPER dumpers
	lease masker $MASKER maskers
	lease maskdump $MASKDUMP maskers,maskdumpers
	cp "$PGW/hoop-pgwrap" "$P/bin/hoop-pgwrap"
	chgrp "$HOOP_GID" "$P/bin/hoop-pgwrap"
	chmod 2755 "$P/bin/hoop-pgwrap"
	ln -s hoop-pgwrap "$P/bin/psql"
	ln -s hoop-pgwrap "$P/bin/pg_dump"
	export P APP_PW PG_BIN PG_DIR PG_PORT PG_SOCKDIR DOWN_PORT
}

teardown_file() {
	pg_stop
	rm -rf "$P"
}

secret() {	# FILE VALUE: group hoop, 0640, as hoop.conf wants it
	printf '%s\n' "$2" >"$1"
	chgrp "$HOOP_GID" "$1"
	chmod 0640 "$1"
}

# A CA, the server's certificate for 127.0.0.1 and a CA that did not
# sign it.
make_certs() {
	local d=$P/tls
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 \
		-subj /CN=hoop-test-ca 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$d/other.key" -out "$d/other.crt" -days 2 \
		-subj /CN=hoop-other-ca 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/server.key" -out "$d/server.csr" \
		-subj /CN=127.0.0.1 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" \
		-CAkey "$d/ca.key" -CAcreateserial -out "$d/server.crt" \
		-days 2 -extfile "$d/ext" 2>/dev/null
	chown "${PG_OWNER:-nobody}" "$d/server.key" "$d/server.crt"
	chmod 0600 "$d/server.key"
	chmod 0644 "$d/ca.crt" "$d/other.crt"
}

target() {	# NAME USER SECRET [PORT] [TLS] [CA]
	cat <<CONF
target "$1" {
	type = "postgres"
	host = "$PG_HOST"
	port = ${4:-$PG_PORT}
	user = "$2"
	database = "app"
	tls = "${5:-disable}"
	secret_file = "$3"
${6:+	ca_file = \"$6\"}
}
CONF
}

write_conf() {
	{
		cat <<CONF
store = "$P/var/hoop.db"
recordings = "$P/var/rec"

issuer "ci" {
	url = "https://issuer.example.test"
	audience = {"hoop"}
}
CONF
		echo "mask_key_file = \"$P/mask.key\""
		for who in reader approver writer dumper masker maskdump; do
			cat <<CONF
identity "$who" {
	issuer = "ci"
	claim "repository" { equals = {"acme/$who"} }
	login = "$who"
	home = false
}
CONF
		done
		target prod app "$P/app.pw"
		target prodmd5 mdapp "$P/md5.pw"
		target down app "$P/app.pw" "$DOWN_PORT"
		target wrongpw app "$P/wrong.pw"
		target prodtls app "$P/app.pw" "$PG_PORT" verify-full "$P/tls/ca.crt"
		target badca app "$P/app.pw" "$PG_PORT" verify-full "$P/tls/other.crt"
		target cleartls tlsonly "$P/clear.pw" "$PG_PORT" require
		target clearplain clear "$P/clear.pw"
		target oldstyle oldstyle "$P/clear.pw"
		target other app "$P/app.pw"
		target masked app "$P/app.pw"
		target maskrefuse app "$P/app.pw"
		cat <<CONF
policy "readers" {
	groups = {"readers"}
	targets = {"prod", "prodmd5", "down", "wrongpw", "prodtls", "badca",
	    "cleartls", "clearplain", "oldstyle"}
	rule "reads" {
		action = "allow"
		statements = {"read", "transaction"}
	}
}
policy "writers" {
	groups = {"writers"}
	targets = {"prod"}
	rule "reads" {
		action = "allow"
		statements = {"read", "transaction"}
	}
	rule "writes" {
		action = "approve"
		statements = {"write"}
		approvers = {"sre"}
	}
}
policy "dumpers" {
	groups = {"dumpers"}
	targets = {"prod"}
	# pg_dump locks what it dumps (write) and calls set_config with a
	# setting name from a query (unknown).
	rule "dump" {
		action = "allow"
		statements = {"read", "transaction", "session", "copy", "write",
		    "unknown"}
	}
}
CONF
		cat <<CONF
policy "maskers" {
	groups = {"maskers"}
	targets = {"masked"}
	rule "all" {
		action = "allow"
		statements = {"read", "write", "transaction", "copy", "ddl"}
	}
	mask "ssn" {
		columns = {"users.ssn"}
		strategy = "partial"
		keep = 4
	}
	mask "email" {
		columns = {"public.users.email"}
		strategy = "hash"
	}
	mask "emails" {
		pattern = "builtin:email"
	}
	mask "cards" {
		columns = {"users.card"}
		pattern = "builtin:card"
		strategy = "partial"
	}
	mask "big" {
		columns = {"big.a", "big.b", "big.c"}
		strategy = "partial"
		keep = 2
	}
	mask "people" {
		columns = {"people.ssn"}
		strategy = "partial"
		keep = 4
	}
}
# With maskers: what pg_dump and LISTEN need besides.
policy "maskdumpers" {
	groups = {"maskdumpers"}
	targets = {"masked"}
	rule "dump" {
		action = "allow"
		statements = {"session", "unknown"}
	}
}
policy "refusers" {
	groups = {"maskers"}
	targets = {"maskrefuse"}
	mask_computed = "refuse"
	rule "reads" {
		action = "allow"
		statements = {"read", "transaction"}
	}
	mask "ssn" {
		columns = {"users.ssn"}
	}
}
CONF
	} >"$CONF"
}

lease() {	# LOGIN UID GROUPS
	db "INSERT INTO leases (login, uid, identity, issuer, subject,
	    claims_digest, created_at, expires_at, groups) VALUES ('$1', $2,
	    '$1', 'ci', 'repo:acme/$1', 'x', strftime('%s','now') - 5,
	    strftime('%s','now') + 3600, '$3')"
}

db() {
	sqlite3 -cmd '.timeout 10000' "$P/var/hoop.db" "$@"
}

# as UID CMD...: CMD under the leased uid, with what a login has.
as() {
	local uid=$1
	shift
	env -i HOME=/nonexistent PATH=/usr/bin:/bin LANG=C.UTF-8 TERM=dumb \
	    ${AS_ENV:-} setpriv --reuid="$uid" --regid="$uid" --clear-groups \
	    "$@"
}

# The real psql through hoop as the reader, on target prod.
psql_prod() {
	as $READER "$P/bin/psql" prod -X -v VERBOSITY=verbose "$@"
}

steps() {	# FILE CONTENT: a hoop-pg-client script the users can read
	printf '%s\n' "$2" >"$P/work/$1.steps"
	chmod 644 "$P/work/$1.steps"
	echo "$P/work/$1.steps"
}

@test "allowed reads run and return rows; each statement is audited with rows and time" {
	run psql_prod -At -c "SELECT id, v FROM t ORDER BY id"
	[ "$status" -eq 0 ]
	[ "$output" = $'1|a\n2|b' ]
	run db "SELECT decision || ' ' || coalesce(rule, '') FROM audit_events WHERE kind = 'sql' AND action = 'SELECT id, v FROM t ORDER BY id' ORDER BY seq"
	[ "$output" = $'allow reads\ninfo ' ]
	run db "SELECT json_extract(detail, '$.rows') || ' ' || json_extract(detail, '$.tag') || ' ' || (json_extract(detail, '$.duration_ms') >= 0) FROM audit_events WHERE action = 'SELECT id, v FROM t ORDER BY id' AND decision = 'info'"
	[ "$output" = "2 SELECT 2 1" ]
	run db "SELECT length(json_extract(detail, '$.fingerprint')), principal, target FROM audit_events WHERE action = 'SELECT id, v FROM t ORDER BY id' AND decision = 'allow'"
	[ "$output" = "16|reader|prod" ]
}

@test "result events wait for the next decision: each decision comes before its result, the last result is written at close" {
	seq=$(db "SELECT coalesce(max(seq), 0) FROM audit_events")
	run psql_prod -At -c "SELECT 'batch-1'" -c "SELECT 'batch-2'" -c "SELECT 'batch-last'"
	[ "$status" -eq 0 ]
	[ "$output" = $'batch-1\nbatch-2\nbatch-last' ]
	# Per statement, in seq order: its decision, then its result.
	for n in 1 2 last; do
		run db "SELECT group_concat(decision, ' ') FROM (SELECT decision FROM audit_events WHERE seq > $seq AND action = 'SELECT ''batch-$n''' ORDER BY seq)"
		[ "$output" = "allow info" ]
		run db "SELECT (r.seq > d.seq) || ' ' || (json_extract(r.detail, '$.decision_seq') = d.seq) || ' ' || json_extract(r.detail, '$.rows') FROM audit_events d JOIN audit_events r ON r.action = d.action AND r.decision = 'info' AND r.seq > $seq WHERE d.seq > $seq AND d.decision = 'allow' AND d.action = 'SELECT ''batch-$n'''"
		[ "$output" = "1 1 1" ]
	done
	# A result is on record before the next statement's decision,
	# nothing between them (written in its transaction).
	run db "SELECT d2.seq - r1.seq FROM audit_events r1, audit_events d2 WHERE r1.seq > $seq AND r1.action = 'SELECT ''batch-1''' AND r1.decision = 'info' AND d2.seq > $seq AND d2.action = 'SELECT ''batch-2''' AND d2.decision = 'allow'"
	[ "$output" = 1 ]
	run "$HOOPCTL" -c "$CONF" audit verify
	[ "$status" -eq 0 ]
}

# audit_refusing CONDITION PSQL_ARGS...: psql_prod -At while the store
# refuses every audit event that CONDITION (on NEW) matches; the session
# must end on it.
audit_refusing() {
	local cond=$1
	shift
	db "CREATE TRIGGER aud_refuse BEFORE INSERT ON audit_events WHEN $cond BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
	run psql_prod -At "$@"
	db "DROP TRIGGER aud_refuse"
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot write the audit log"* ]]
}

@test "an audit batch that cannot be written ends the session before the next statement runs" {
	seq=$(db "SELECT coalesce(max(seq), 0) FROM audit_events")
	# The result event of 'res-lost' cannot be written: the batch that
	# carries it with the next decision fails whole.
	audit_refusing "NEW.action = 'SELECT ''res-lost''' AND NEW.decision = 'info'" \
	    -c "SELECT 'res-lost'" -c "SELECT 'not-run'"
	[[ "$output" == *"res-lost"* ]]
	[[ "$output" != *"not-run"* ]]
	run db "SELECT count(*) FROM audit_events WHERE seq > $seq AND action IN ('SELECT ''not-run''', 'SELECT ''res-lost''')"
	[ "$output" = 1 ]
	run db "SELECT decision FROM audit_events WHERE seq > $seq AND action = 'SELECT ''res-lost'''"
	[ "$output" = allow ]
	# A decision that cannot be written: the statement is not sent.
	audit_refusing "NEW.action = 'SELECT ''dec-lost'''" \
	    -c "SELECT 'first-ok'" -c "SELECT 'dec-lost'"
	[[ "$output" == *"first-ok"* ]]
	[[ "$output" != *"dec-lost"* ]]
	run "$HOOPCTL" -c "$CONF" audit verify
	[ "$status" -eq 0 ]
}

@test "a write under a read-only rule is refused with 42501; the same psql goes on, also in a transaction" {
	printf '%s\n' "SELECT 1 AS before;" "DELETE FROM t;" "SELECT 2 AS after;" \
		"BEGIN;" "SELECT 3 AS intx;" "UPDATE t SET v = 'x';" \
		"SELECT 4 AS stillintx;" "COMMIT;" "SELECT count(*) AS n FROM t;" \
		>"$P/work/session.sql"
	chmod 644 "$P/work/session.sql"
	run psql_prod -At -f "$P/work/session.sql"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ERROR:  42501: hoop: DELETE refused: write: no rule allows it"* ]]
	[[ "$output" == *"ERROR:  42501: hoop: UPDATE refused"* ]]
	[[ "$output" != *"current transaction is aborted"* ]]
	for line in 1 2 3 4 COMMIT; do
		grep -qx -- "$line" <<<"$output"
	done
	[ "$(grep -cx 2 <<<"$output")" -ge 2 ]	# "after" and the count
	run pg_sql "SELECT string_agg(v, ',' ORDER BY id) FROM t" app
	[ "$output" = "a,b" ]
	run db "SELECT decision FROM audit_events WHERE action = 'DELETE FROM t' ORDER BY seq DESC LIMIT 1"
	[ "$output" = "deny" ]
}

@test "a large result passes whole (flow control both ways)" {
	run psql_prod -At -c "SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g"
	[ "$status" -eq 0 ]
	[ "$(wc -l <<<"$output")" = 100000 ]
	[[ "$output" == *"100000|xxx"* ]]
	run db "SELECT json_extract(detail, '$.rows') FROM audit_events WHERE decision = 'info' AND action LIKE 'SELECT g, repeat%'"
	[ "$output" = 100000 ]
}

@test "psql prod < file.sql: statements from stdin, refusals in the middle" {
	printf '%s\n' "SELECT 'one';" "INSERT INTO t VALUES (9, 'z');" "SELECT 'two';" \
		>"$P/work/stdin.sql"
	run psql_prod -At <"$P/work/stdin.sql"
	[ "$status" -eq 0 ]
	[[ "$output" == *one*"hoop: INSERT refused"*two* ]]
	[ "$(pg_sql "SELECT count(*) FROM t WHERE id = 9" app)" = 0 ]
}

@test "a query with several statements is refused whole when one is refused" {
	run psql_prod -At -c "SELECT 'x' AS first; DELETE FROM t"
	[ "$status" -eq 1 ]
	[[ "$output" == *"hoop: DELETE refused"* ]]
	if grep -qx x <<<"$output"; then false; fi
	# psql -c sends the string as one Query: comments and case hide
	# nothing.
	run psql_prod -At -c "SELECT 1 /* ; */ ; DeLeTe FrOm t"
	[ "$status" -eq 1 ]
	[[ "$output" == *"hoop: DELETE refused"* ]]
	run psql_prod -At -c "SELECT 'a'; SELECT 'b'"
	[ "$output" = $'a\nb' ]
	run db "SELECT reason FROM audit_events WHERE action = 'SELECT ''x'' AS first' ORDER BY seq DESC LIMIT 1"
	[ "$output" = "not run: statement 2 of the query was refused" ]
}

# Statements a read-only rule must refuse, each decided by hoop (its
# message, its audit event) before the server sees it.
VECTORS=(
	"DELETE FROM t"
	"INSERT INTO t VALUES (3, 'c')"
	"UPDATE t SET v = 'x'"
	"MERGE INTO t USING t AS u ON t.id = u.id WHEN MATCHED THEN DELETE"
	"WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x"
	"WITH x AS (SELECT 1) INSERT INTO t SELECT 1, 'w' FROM x"
	"SELECT * FROM (WITH y AS (UPDATE t SET v = 'y' RETURNING 1) SELECT * FROM y) z"
	"SELECT pg_terminate_backend(1)"
	"SELECT pg_catalog.pg_cancel_backend(1)"
	"SELECT lo_export(1, '/tmp/hoop-x')"
	"SELECT lo_import('/etc/passwd')"
	"SELECT pg_read_file('/etc/passwd')"
	"SELECT pg_ls_dir('.')"
	"SELECT set_config('role', 'postgres', false)"
	"SELECT set_config('standard_conforming_strings', 'off', false)"
	"SELECT * FROM dblink('dbname=app', 'DELETE FROM t') AS x(a int)"
	"SELECT query_to_xml('DELETE FROM t', true, true, '')"
	"SELECT nextval('s')"
	"SELECT setval('s', 100)"
	"SELECT pg_notify('ch', 'x')"
	"SELECT pg_advisory_lock(1)"
	"SELECT txid_current()"
	"COPY t TO PROGRAM 'id'"
	"COPY t TO '/tmp/hoop-copy'"
	"COPY (DELETE FROM t RETURNING *) TO STDOUT"
	"DO \$\$BEGIN DELETE FROM t; END\$\$"
	"CALL p()"
	"EXPLAIN ANALYZE DELETE FROM t"
	"EXPLAIN DELETE FROM t"
	"SELECT * INTO t2 FROM t"
	"CREATE TABLE t3 AS SELECT 1"
	"PREPARE w AS DELETE FROM t"
	"DECLARE c CURSOR FOR SELECT * FROM t FOR UPDATE"
	"SELECT * FROM t FOR UPDATE"
	"LOCK TABLE t"
	"SET ROLE postgres"
	"SET SESSION AUTHORIZATION postgres"
	"RESET ROLE"
	"SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE"
	"SET standard_conforming_strings = off"
	"SET client_encoding = 'SJIS'"
	"SET search_path = evil"
	"RESET ALL"
	"DISCARD ALL"
	"TRUNCATE t"
	"CREATE TABLE t4 (a int)"
	"DROP TABLE t"
	"ALTER TABLE t ADD COLUMN x int"
	"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'DELETE FROM t RETURNING 1'"
	"CREATE RULE r AS ON SELECT TO t DO INSTEAD NOTHING"
	"GRANT ALL ON t TO PUBLIC"
	"CREATE ROLE evil SUPERUSER"
	"ALTER SYSTEM SET work_mem = '1MB'"
	"VACUUM t"
	"CHECKPOINT"
	"CREATE EXTENSION dblink"
	"REFRESH MATERIALIZED VIEW mv"
	"NOTIFY ch"
	"LISTEN ch"
	"PREPARE TRANSACTION 'x'"
	"COMMIT PREPARED 'x'"
	"LOAD 'plpgsql'"
	"EXECUTE nothing_prepared"
	"SELECT pg_reload_conf()"
	"SELECT pg_stat_file('postgresql.conf')"
	"CREATE TEMP TABLE tt (a int)"
	"ALTER ROLE app SUPERUSER"
	# Last: psql reads the rest of a file after a failed COPY FROM STDIN.
	"COPY t FROM STDIN"
)

@test "bypass vectors over the simple protocol are each refused by hoop (${#VECTORS[@]} statements)" {
	local v i=0 script=$P/work/vectors.sql seq
	[ "${#VECTORS[@]}" -ge 60 ]
	seq=$(db "SELECT coalesce(max(seq), 0) FROM audit_events")
	: >"$script"
	for v in "${VECTORS[@]}"; do
		printf '\\warn vector %d\n%s;\n' "$i" "$v" >>"$script"
		i=$((i + 1))
	done
	chmod 644 "$script"
	run psql_prod -At -f "$script"
	[ "$status" -eq 0 ]
	i=0
	for v in "${VECTORS[@]}"; do
		# The text between this vector's marker and the next.
		block=$(sed -n "/^vector $i\$/,/^vector $((i + 1))\$/p" <<<"$output")
		if ! grep -q "ERROR:  42501: hoop: .* refused" <<<"$block"; then
			echo "not refused by hoop: $v"
			echo "$block"
			return 1
		fi
		i=$((i + 1))
	done
	# One deny per statement, none allowed, nothing reached the server.
	run db "SELECT count(*) FROM audit_events WHERE seq > $seq AND kind = 'sql' AND decision = 'deny'"
	[ "$output" -ge "${#VECTORS[@]}" ]
	run db "SELECT count(*) FROM audit_events WHERE seq > $seq AND kind = 'sql' AND decision = 'allow' AND action <> 'connect'"
	[ "$output" = 0 ]
	[ "$(pg_sql "SELECT string_agg(v, ',' ORDER BY id) FROM t" app)" = "a,b" ]
	[ "$(pg_sql "SELECT last_value FROM s" app)" = 1 ]
}

@test "quoting tricks that stay reads are allowed: the parser reads them as the server does" {
	run psql_prod -At -c "SELECT E'\\';DELETE FROM t;--' AS a" -c "SELECT \$\$;DELETE FROM t;\$\$ AS b" -c "SELECT 'it''s; DELETE FROM t' AS c"
	[ "$status" -eq 0 ]
	[[ "$output" == *";DELETE FROM t;--"*";DELETE FROM t;"*"it's; DELETE FROM t"* ]]
	[ "$(pg_sql "SELECT count(*) FROM t" app)" = 2 ]
}

@test "a syntax error is refused by hoop's parser (42601) and the session goes on" {
	run psql_prod -At -c "SELEC 1" -c "SELECT 'next'"
	[[ "$output" == *"42601: hoop: cannot check the statement"* ]]
	[[ "$output" == *next* ]]
}

@test "extended protocol: a refused Parse, and the connection goes on" {
	f=$(steps ext1 "x SELECT v FROM t WHERE id = 1
x DELETE FROM t
x SELECT 'after'
query BEGIN
x UPDATE t SET v = 'q'
x SELECT 'in-tx'
query COMMIT")
	run as $READER "$P/bin/psql" prod -f "$f"
	[ "$status" -eq 1 ]
	[[ "$output" == *"row: a"* ]]
	[[ "$output" == *"error: ERROR 42501 hoop: DELETE refused: write: no rule allows it"* ]]
	[[ "$output" == *"row: after"* ]]
	[[ "$output" == *"error: ERROR 42501 hoop: UPDATE refused"*"ready: T"*"row: in-tx"*"complete: COMMIT"* ]]
	[ "$(pg_sql "SELECT string_agg(v, ',' ORDER BY id) FROM t" app)" = "a,b" ]
}

@test "extended protocol: a refusal after messages already sent fails the batch at that point" {
	f=$(steps ext2 "query BEGIN
parse s1 SELECT 'first'
bind - s1
execute -
parse s2 DELETE FROM t
bind - s2
execute -
sync
x SELECT 'next'
query ROLLBACK")
	run as $READER "$P/bin/psql" prod -f "$f"
	[[ "$output" == *"row: first"*"complete: SELECT 1"*"error: ERROR 42501 hoop: DELETE refused"*"ready: E"* ]]
	[[ "$output" != *nonce* ]] && [[ "$output" != *hoop_refused_* ]]
	[[ "$output" == *"current transaction is aborted"* ]]
	[[ "$output" == *"complete: ROLLBACK"*"ready: I"* ]]
}

@test "extended protocol: named statements are tracked; unknown ones, several statements and lexer changes are refused" {
	f=$(steps ext3 "parse q1 SELECT id FROM t ORDER BY id
sync
bind - q1
execute -
sync
bind - nosuch
execute -
sync
query PREPARE r AS SELECT 'via-prepare'
query EXECUTE r
close S r
sync
query EXECUTE r
x EXECUTE q1
parse - SELECT 1; DELETE FROM t
sync
x SET standard_conforming_strings = off
execute someportal
sync
close S q1
sync
bind - q1
execute -
sync
x SELECT 'alive'")
	run as $READER "$P/bin/psql" prod -f "$f"
	[[ "$output" == *"row: 1"*"row: 2"* ]]
	[[ "$output" == *"42501 hoop: BIND refused: prepared statement \"nosuch\" is not one hoop allowed"* ]]
	[[ "$output" == *"row: via-prepare"* ]]
	[[ "$output" == *"42501 hoop: EXECUTE refused: prepared statement \"r\" is not one hoop allowed"* ]]
	[[ "$output" == *"hoop: cannot check the statement: a prepared statement holds one statement"* ]]
	[[ "$output" == *"42501 hoop: SET refused"* ]]
	[[ "$output" == *"portal \"someportal\" is not one hoop allowed"* ]]
	[[ "$output" == *"prepared statement \"q1\" is not one hoop allowed"* ]]
	[[ "$output" == *"row: alive"* ]]
}

@test "extended protocol: EXECUTE of an allowed prepared statement with a function call in its parameters is refused" {
	f=$(steps ext4 "query PREPARE r2(int) AS SELECT \$1
query EXECUTE r2(1)
query EXECUTE r2(pg_terminate_backend(1))")
	run as $READER "$P/bin/psql" prod -f "$f"
	[[ "$output" == *"row: 1"* ]]
	[[ "$output" == *"42501 hoop: EXECUTE refused: EXECUTE with function calls in its parameters is not supported"* ]]
}

@test "the FunctionCall message is refused (pg_terminate_backend by OID)" {
	f=$(steps fcall "call 2096
x SELECT 'still here'")
	run as $READER "$P/bin/psql" prod -f "$f"
	[[ "$output" == *"error: ERROR 42501 hoop: the FunctionCall message is refused"* ]]
	[[ "$output" == *"row: still here"* ]]
	run db "SELECT decision FROM audit_events WHERE action = 'FunctionCall 2096'"
	[ "$output" = deny ]
}

@test "startup parameters options and replication are refused with an ErrorResponse" {
	f=$(steps opts "startup options -c default_transaction_read_only=off
query SELECT 1")
	run as $READER "$P/bin/psql" prod -f "$f"
	[ "$status" -eq 2 ]
	[[ "$output" == *'error: FATAL 42501 hoop: the startup parameter "options" is not allowed'* ]]
	f=$(steps repl "startup replication database
query SELECT 1")
	run as $READER "$P/bin/psql" prod -f "$f"
	[ "$status" -eq 2 ]
	[[ "$output" == *'FATAL 42501 hoop: the startup parameter "replication" is not allowed'* ]]
	f=$(steps guc "startup search_path evil
query SELECT 1")
	run as $READER "$P/bin/psql" prod -f "$f"
	[[ "$output" == *'FATAL 42501 hoop: the startup parameter "search_path" is not allowed'* ]]
	f=$(steps enc "startup client_encoding SJIS
query SELECT 1")
	run as $READER "$P/bin/psql" prod -f "$f"
	[[ "$output" == *'client_encoding "SJIS" is not allowed'* ]]
}

@test "options that point psql elsewhere, connection strings and PG environment are refused" {
	for args in "-h 127.0.0.1 prod" "prod -p 5432" "prod -U postgres" "--host=x prod" \
	    "--ho x prod" "-Xh x prod" "postgresql://app@127.0.0.1/app" \
	    "host=127.0.0.1 dbname=app" "prod someuser" "-d prod other" "--cluster 15/main prod"; do
		# shellcheck disable=SC2086
		run as $READER "$P/bin/psql" $args -c "SELECT 1"
		[ "$status" -eq 2 ] || { echo "accepted: $args"; return 1; }
		[[ "$output" == hoop-pgwrap:* ]]
	done
	for var in PGHOST=x PGPORT=1 PGUSER=postgres PGPASSWORD=x PGSERVICE=x PGSERVICEFILE=/tmp/x \
	    PGPASSFILE=/tmp/x PGSSLMODE=disable PGOPTIONS=-cx; do
		AS_ENV=$var run as $READER "$P/bin/psql" prod -c "SELECT 1"
		[ "$status" -eq 2 ]
		[[ "$output" == *"${var%%=*} is set"* ]]
	done
	run as $READER "$P/bin/psql"
	[ "$status" -eq 2 ]
	[[ "$output" == *"name a target"* ]]
	run as $READER "$P/bin/psql" other -c "SELECT 1"
	[ "$status" -eq 2 ]
	[[ "$output" == *'"other" is not a PostgreSQL target you may use'* ]]
	[[ "$output" == *"targets you may use: prod"* ]]
	run as $READER "$P/bin/psql" --version
	[ "$status" -eq 0 ]
	[[ "$output" == "psql (PostgreSQL)"* ]]
	run as $READER "$P/bin/hoop-pgwrap" psql -d prod -At -c "SELECT 'dash-d'"
	[ "$output" = dash-d ]
}

@test "no live lease, no proxy" {
	run as 60399 "$P/bin/psql" prod -c "SELECT 1"
	[ "$status" -eq 2 ]
	[[ "$output" == *"uid 60399 has no live hoop lease"* ]]
}

@test "the session of HOOP_SESSION_ID is taken only when it is a live session of the same lease" {
	lid=$(db "SELECT id FROM leases WHERE login = 'reader'")
	db "INSERT INTO sessions (id, lease_id, login, started_at) VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', $lid, 'reader', strftime('%s','now'))"
	AS_ENV=HOOP_SESSION_ID=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa run psql_prod -At -c "SELECT 'with-session'"
	[ "$output" = with-session ]
	run db "SELECT count(*) FROM audit_events WHERE session_id = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' AND action = 'SELECT ''with-session'''"
	[ "$output" = 2 ]
	AS_ENV=HOOP_SESSION_ID=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb run psql_prod -At -c "SELECT 'no-session'"
	run db "SELECT count(*) FROM audit_events WHERE session_id IS NULL AND action = 'SELECT ''no-session'''"
	[ "$output" = 2 ]
}

# The proxy of a psql started with ARGS (its own command line), once the
# server runs the statement QUERY.
proxy_of() {	# QUERY ARGS
	for _ in $(seq 100); do
		[ "$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '$1%' AND state = 'active'")" = 1 ] && break
		sleep 0.1
	done
	ps -u $READER -o pid=,args= | awk -v want="$P/bin/psql $2" \
	    '{ pid = $1; sub(/^ *[0-9]+ /, ""); if ($0 == want) print pid }'
}

@test "Ctrl-C in psql cancels the running statement through a CancelRequest" {
	as $READER "$P/bin/psql" prod -X -v VERBOSITY=verbose -c "SELECT pg_sleep(30)" >"$P/work/cancel.out" 2>&1 &
	proxy=$(proxy_of "SELECT pg_sleep(30)" "prod -X -v VERBOSITY=verbose -c SELECT pg_sleep(30)")
	[ -n "$proxy" ]
	child=$(pgrep -P "$proxy")
	[ -n "$child" ]
	start=$(date +%s)
	kill -INT "$child"
	wait || true
	[ $(($(date +%s) - start)) -lt 10 ]
	run cat "$P/work/cancel.out"
	[[ "$output" == *"57014"*"canceling statement due to user request"* ]]
}

@test "upstream down: a clear error that names neither host nor port" {
	run as $READER "$P/bin/psql" down -c "SELECT 1"
	[ "$status" -eq 2 ]
	[[ "$output" == *"hoop: target down: cannot reach the target (Connection refused)"* ]]
	[[ "$output" != *"$DOWN_PORT"* ]]
	[[ "$output" != *127.0.0.1* ]]
	run db "SELECT decision FROM audit_events WHERE target = 'down' AND action = 'connect' ORDER BY seq DESC LIMIT 1"
	[ "$output" = error ]
}

@test "wrong secret: a clear error that shows no secret" {
	run as $READER "$P/bin/psql" wrongpw -c "SELECT 1"
	[ "$status" -eq 2 ]
	[[ "$output" == *"hoop: target wrongpw: the target refused hoop's credentials (SQLSTATE 28P01)"* ]]
	[[ "$output" != *"$(cat "$P/wrong.pw")"* ]]
	[[ "$output" != *"$APP_PW"* ]]
	[[ "$output" != *'"app"'* ]]
}

@test "md5 logins to the target; cleartext only over TLS" {
	run as $READER "$P/bin/psql" prodmd5 -At -c "SELECT current_user"
	[ "$status" -eq 0 ]
	[ "$output" = mdapp ]
	run as $READER "$P/bin/psql" cleartls -At -c "SELECT current_user || ' ' || ssl FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE pid = pg_backend_pid()"
	[ "$status" -eq 0 ]
	[ "$output" = "tlsonly true" ]
	run as $READER "$P/bin/psql" clearplain -c "SELECT 1"
	[ "$status" -eq 2 ]
	[[ "$output" == *"cleartext password without TLS: refused"* ]]
}

@test "a server that reads strings the old way ends the session before any statement" {
	run as $READER "$P/bin/psql" oldstyle -c "SELECT 1"
	[ "$status" -eq 2 ]
	[[ "$output" == *"hoop: the target reports standard_conforming_strings off"* ]]
	run db "SELECT decision FROM audit_events WHERE target = 'oldstyle' ORDER BY seq DESC LIMIT 1"
	[ "$output" = deny ]
}

@test "TLS to the target: verified against the target's CA; another CA is refused" {
	run as $READER "$P/bin/psql" prodtls -At -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
	[ "$status" -eq 0 ]
	[ "$output" = t ]
	run as $READER "$P/bin/psql" badca -c "SELECT 1"
	[ "$status" -eq 2 ]
	[[ "$output" == *"the target's certificate is not trusted"* ]]
}

@test "a statement that needs approval: refused with the request id, then runs once approved" {
	AS_ENV=HOOP_APPROVAL_WAIT=0 run as $WRITER "$P/bin/psql" prod -X -c "UPDATE t SET v = 'b' WHERE id = 2"
	[ "$status" -eq 1 ]
	[[ "$output" == *"this needs approval: request "* ]]
	[[ "$output" == *"hoop: UPDATE refused by rule \"writes\""*"not approved (request "* ]]
	id=$(db "SELECT id FROM approvals WHERE status = 'pending' AND principal = 'writer' ORDER BY created_at DESC LIMIT 1")
	[ -n "$id" ]
	run db "SELECT request || '|' || kind || '|' || target FROM approvals WHERE id = '$id'"
	[ "$output" = "UPDATE t SET v = 'b' WHERE id = 2|sql|prod" ]
	env -i PATH=/usr/bin:/bin setpriv --reuid=$APPROVER --regid=$HOOP_GID --clear-groups \
	    "$HOOPCTL" -c "$CONF" approvals approve "$id"
	# Another statement is not covered by that approval.
	AS_ENV=HOOP_APPROVAL_WAIT=0 run as $WRITER "$P/bin/psql" prod -X -c "UPDATE t SET v = 'b' WHERE id = 1"
	[ "$status" -eq 1 ]
	AS_ENV=HOOP_APPROVAL_WAIT=0 run as $WRITER "$P/bin/psql" prod -X -c "UPDATE t SET v = 'b' WHERE id = 2"
	[ "$status" -eq 0 ]
	[[ "$output" == *"UPDATE 1"* ]]
	run db "SELECT reason FROM audit_events WHERE action = 'UPDATE t SET v = ''b'' WHERE id = 2' AND decision = 'allow'"
	[[ "$output" == "approved (request $id, rule writes)" ]]
}

@test "pg_dump through the proxy under a policy that allows what it runs" {
	run as $DUMPER "$P/bin/pg_dump" prod -t t --data-only
	[ "$status" -eq 0 ]
	[[ "$output" == *"COPY public.t (id, v) FROM stdin;"* ]]
	run as $DUMPER "$P/bin/pg_dump" prod -h 127.0.0.1
	[ "$status" -eq 2 ]
}

@test "the secret is nowhere the user can look: ps, /proc of the user's processes, psql variables, \\! env, errors" {
	printf '%s\n' '\set' '\! env' 'SELECT pg_sleep(3);' >"$P/work/look.sql"
	chmod 644 "$P/work/look.sql"
	as $READER "$P/bin/psql" prod -X -f "$P/work/look.sql" >"$P/work/look.out" 2>&1 &
	wrapper=$(proxy_of "SELECT pg_sleep(3)" "prod -X -f $P/work/look.sql")
	[ -n "$wrapper" ]
	# What the user sees: every process of theirs, through their own
	# eyes (the proxy's files are closed to them).
	cat >"$P/work/look.sh" <<'SH'
ps -eo pid,user,args ww
for d in /proc/[0-9]*; do
	[ "$(stat -c %u "$d" 2>/dev/null)" = "$(id -u)" ] || continue
	cat "$d/environ" "$d/cmdline" 2>/dev/null | tr '\0' '\n'
	echo "== $d"
done
cat /tmp/hoop-pgwrap.*/* 2>/dev/null
SH
	run as $READER sh "$P/work/look.sh"
	looked=$output
	[[ "$looked" == *"hoop-pgwrap"* || "$looked" == *psql* ]]
	[[ "$looked" == *PGHOST=/tmp/hoop-pgwrap.* ]]
	[[ "$looked" != *"$APP_PW"* ]]
	# The proxy: the user cannot trace it or read its memory.
	run as $READER cat "/proc/$wrapper/environ"
	[ "$status" -ne 0 ]
	run as $READER head -c 1 "/proc/$wrapper/mem"
	[ "$status" -ne 0 ]
	wait
	run cat "$P/work/look.out"
	[[ "$output" == *"DBNAME = 'prod'"* ]]
	[[ "$output" == *PGPASSFILE=* ]]
	[[ "$output" != *"$APP_PW"* ]]
	run as $READER "$P/bin/psql" wrongpw -c "SELECT 1"
	[[ "$output" != *"$APP_PW"* ]]
	# The password file is gone once psql has logged in (this proxy's:
	# another session's may exist at the same time).
	dir=$(grep -o 'PGHOST=/tmp/hoop-pgwrap\.[A-Za-z0-9]*' <<<"$looked" | head -n 1)
	dir=${dir#PGHOST=}
	[ -n "$dir" ]
	run ls "$dir/pgpass"
	[ "$status" -ne 0 ]
}

# ---- Masking (lib/mask.c in the proxy) ----

psql_masked() {
	as $MASKER "$P/bin/psql" masked -X -v VERBOSITY=verbose "$@"
}

@test "masking: a column by its table and name, whatever the query calls it" {
	run psql_masked -At -c "SELECT ssn FROM users WHERE id = 1"
	[ "$status" -eq 0 ]
	[ "$output" = '*******6789' ]
	run psql_masked -At -c "SELECT u.ssn AS harmless FROM users u"
	[ "$output" = '*******6789' ]
	run psql_masked -At -c "WITH x AS (SELECT ssn AS s FROM users) SELECT s FROM (SELECT s FROM x) y"
	[ "$output" = '*******6789' ]
	run psql_masked -At -c "SELECT name FROM users"
	[ "$output" = Alice ]
	# The result event counts the masked columns.
	run db "SELECT json_extract(detail, '$.masked') FROM audit_events WHERE decision = 'info' AND action = 'SELECT u.ssn AS harmless FROM users u'"
	[ "$output" = 1 ]
}

@test "masking: SELECT * masks each column by its mask; other columns pass" {
	run psql_masked -At -F '|' -c "SELECT * FROM users"
	[ "$status" -eq 0 ]
	IFS='|' read -r id name email card ssn note <<<"$output"
	[ "$id" = 1 ] && [ "$name" = Alice ]
	[[ "$email" =~ ^[0-9a-f]{16}$ ]]
	[ "$card" = '***************1111' ]
	[ "$ssn" = '*******6789' ]
	[ "$note" = 'mail ***' ]
	[[ "$output" != *alice@example.com* ]]
	[[ "$output" != *"4111 1111"* ]]
}

@test "masking: hash is HMAC-SHA256 under mask_key_file, equal values stay equal" {
	run psql_masked -At -c "SELECT email FROM users"
	[ "$status" -eq 0 ]
	want=$(printf '%s' alice@example.com | openssl dgst -sha256 -hmac "$(cat "$P/mask.key")" | awk '{print $NF}')
	[ "$output" = "${want:0:16}" ]
	run psql_masked -At -c "SELECT a.email = b.email FROM users a, users b"
	[ "$output" = t ]
}

@test "masking: through a view and a view of a view" {
	run psql_masked -At -c "SELECT contact FROM v_users"
	[ "$status" -eq 0 ]
	[[ "$output" != *alice* ]]
	[[ "$output" =~ ^[0-9a-f]{16}$ ]]
	run psql_masked -At -c "SELECT contact FROM v_v_users"
	[[ "$output" =~ ^[0-9a-f]{16}$ ]]
}

@test "masking: computed columns get the patterns (email, builtin:card)" {
	run psql_masked -At -c "SELECT 'to: ' || email, card || '', upper(note) FROM users"
	[ "$status" -eq 0 ]
	[ "$output" = 'to: ***|***************1111|MAIL ***' ]
}

@test "masking: mask_computed = refuse refuses a computed column, not a table column" {
	run as $MASKER "$P/bin/psql" maskrefuse -X -At -c "SELECT count(*) FROM users"
	[ "$status" -eq 1 ]
	[[ "$output" == *"hoop: result refused by masking: column 1 (\"count\") is computed"* ]]
	run as $MASKER "$P/bin/psql" maskrefuse -X -At -c "SELECT id, ssn FROM users" -c "SELECT 1" -c "SELECT name FROM users"
	[[ "$output" == "1|***"$'\n'* ]]
	[[ "$output" == *"refused by masking"* ]]
	[[ "$output" == *Alice ]]
	run db "SELECT reason FROM audit_events WHERE decision = 'info' AND target = 'maskrefuse' AND action = 'SELECT count(*) FROM users' ORDER BY seq DESC LIMIT 1"
	[ "$output" = "failed: SQLSTATE 42501" ]
}

@test "masking: an error's DETAIL does not show a masked value (unique violation)" {
	run psql_masked -c "INSERT INTO users (id, email) VALUES (2, 'alice@example.com')"
	[ "$status" -eq 1 ]
	[[ "$output" == *"23505"*"duplicate key value"* ]]
	[[ "$output" != *alice@example.com* ]]
	[[ "$output" != *DETAIL* ]]
	[ "$(pg_sql "SELECT count(*) FROM users" app)" = 1 ]
}

@test "masking: error messages go through the patterns" {
	run psql_masked -c "SELECT 'bob@example.org'::int"
	[ "$status" -eq 1 ]
	# (psql quotes the query itself in LINE 1.)
	[ "$(grep ERROR <<<"$output")" = 'ERROR:  22P02: invalid input syntax for type integer: "***"' ]
}

@test "masking: a failed catalog lookup refuses the result (fail closed)" {
	pg_sql "REVOKE SELECT ON pg_catalog.pg_rewrite FROM PUBLIC" app >/dev/null
	run psql_masked -At -c "SELECT name FROM users" -c "SELECT 'x@example.com' AS computed"
	pg_sql "GRANT SELECT ON pg_catalog.pg_rewrite TO PUBLIC" app >/dev/null
	[[ "$output" == *"42501"*"hoop: result refused by masking: cannot tell which columns the result holds (the catalog lookup failed)"* ]]
	[[ "$output" != *Alice* ]]
	# A computed column needs no lookup.
	[[ "$output" == *$'\n***' ]]
}

@test "masking: COPY TO STDOUT in text: masked by column, escapes as the server writes them" {
	run psql_masked -c "COPY people TO STDOUT"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = $'1\tBob, "the" builder\t*******4321\tline one\\nmail ***\\tand a back\\\\slash' ]
	[ "${lines[1]}" = $'2\t\\N\t\\N\t' ]
	[ "${#lines[@]}" = 2 ]
	# What it wrote loads back as the masked values.
	psql_masked -c "COPY people TO STDOUT" >"$P/work/people.txt"
	pg_sql "CREATE TABLE people_back (LIKE people)" app >/dev/null
	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKDIR" -p "$PG_PORT" -U postgres -d app \
	    -c "\\copy people_back FROM '$P/work/people.txt'"
	run pg_sql "SELECT count(*) FROM people_back WHERE ssn = '*******4321' AND note = E'line one\\nmail ***\\tand a back\\\\slash' AND name = 'Bob, \"the\" builder'" app
	[ "$output" = 1 ]
	run pg_sql "SELECT count(*) FROM people_back WHERE id = 2 AND name IS NULL AND ssn IS NULL AND note = ''" app
	[ "$output" = 1 ]
	pg_sql "DROP TABLE people_back" app >/dev/null
	run db "SELECT json_extract(detail, '$.masked') || ' ' || json_extract(detail, '$.rows') FROM audit_events WHERE decision = 'info' AND action = 'COPY people TO STDOUT' ORDER BY seq DESC LIMIT 1"
	[ "$output" = "4 2" ]
}

@test "masking: COPY t TO STDOUT (FORMAT csv) with a header and options" {
	run psql_masked -c "COPY people (id, ssn, note, name) TO STDOUT (FORMAT csv, HEADER)"
	[ "$status" -eq 0 ]
	[ "$output" = 'id,ssn,note,name
1,"*******4321","line one
mail ***	and a back\slash","Bob, ""the"" builder"
2,,"",' ]
	run psql_masked -c "COPY users TO STDOUT WITH CSV DELIMITER ';' QUOTE '|' FORCE QUOTE *"
	[ "$status" -eq 0 ]
	[[ "$output" == '|1|;|Alice|;|'[0-9a-f]*'|;|***************1111|;|*******6789|;|mail ***|' ]]
	[[ "$output" != *alice@example.com* ]]
	run psql_masked -c "COPY users (ssn) TO STDOUT (DELIMITER '|', NULL 'nil')"
	[ "$output" = '*******6789' ]
}

@test "masking: \\copy (query) to stdout, several COPYs in one query" {
	run psql_masked -c "\\copy (SELECT u.ssn AS x, upper(u.note), 'n' || id FROM users u) to stdout"
	[ "$status" -eq 0 ]
	[ "$output" = $'*******6789\tMAIL ***\tn1' ]
	run psql_masked -At -c "COPY (SELECT ssn FROM users) TO STDOUT; COPY (SELECT contact FROM v_v_users) TO STDOUT; SELECT 'after'"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^'*******6789'$'\n'[0-9a-f]{16}$'\n'after$ ]]
}

@test "masking: COPY that masking cannot follow is refused, the session goes on" {
	run psql_masked -At -c "COPY users TO STDOUT (FORMAT binary)" -c "SELECT 'next'"
	[[ "$output" == *"42501"*"hoop: result refused by masking: COPY in binary format of masked columns: use text or csv"* ]]
	[[ "$output" == *$'\nnext' ]]
	[[ "$output" != *alice* ]]
	run psql_masked -At -c "COPY users TO STDOUT (ENCODING 'LATIN1')"
	[ "$status" -eq 1 ]
	[[ "$output" == *"hoop: COPY refused: COPY TO STDOUT while masks apply: COPY option encoding other than UTF8"* ]]
	run psql_masked -At -c "COPY users TO STDOUT (HEADER match)"
	[[ "$output" == *"hoop: COPY refused: COPY TO STDOUT while masks apply: COPY option header"* ]]
	# Through the extended protocol: refused at Parse.
	f=$(steps mcopy "parse - COPY users TO STDOUT
bind - -
execute -
sync
x SELECT 'alive'")
	run as $MASKER "$P/bin/psql" masked -f "$f"
	[[ "$output" == *"COPY TO STDOUT through the extended protocol is not masked"* ]]
	[[ "$output" == *"row: alive"* ]]
	# What the COPY reads does not exist yet when hoop describes it.
	run psql_masked -c "CREATE TEMP TABLE tmp_copy AS SELECT 1 AS a; COPY tmp_copy TO STDOUT"
	[[ "$output" == *"hoop could not describe the COPY's columns before it ran (SQLSTATE 42P01)"* ]]
	run psql_masked -At -c "COPY users (id) TO STDOUT"
	[ "$output" = 1 ]
	# The server leaves generated columns out of a COPY without a
	# column list; the description has them: refused. Named columns
	# (as pg_dump names them) pass.
	pg_sql "CREATE TABLE gen (ssn text, g text GENERATED ALWAYS AS (ssn || '!') STORED);
		INSERT INTO gen (ssn) VALUES ('x'); ALTER TABLE gen OWNER TO app" app >/dev/null
	run psql_masked -At -c "COPY gen TO STDOUT"
	[[ "$output" == *"refused by masking: the COPY sends 1 columns in text, hoop expected 2"*"name the columns"* ]]
	run psql_masked -At -c "COPY gen (ssn) TO STDOUT"
	[ "$output" = x ]
	pg_sql "DROP TABLE gen" app >/dev/null
}

@test "masking: pg_dump of a masked target dumps masked data that restores" {
	run as $MASKDUMP "$P/bin/pg_dump" masked -t users -t people
	[ "$status" -eq 0 ]
	dump=$output
	[[ "$dump" == *"COPY public.users (id, name, email, card, ssn, note) FROM stdin;"* ]]
	[[ "$dump" == *"*******6789"* ]]
	[[ "$dump" == *"*******4321"* ]]
	[[ "$dump" != *alice@example.com* ]]
	[[ "$dump" != *987-65-4321* ]]
	[[ "$dump" != *"4111 1111"* ]]
	printf '%s\n' "$dump" >"$P/work/dump.sql"
	pg_sql "CREATE DATABASE restored" >/dev/null
	run "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKDIR" -p "$PG_PORT" -U postgres -d restored -f "$P/work/dump.sql"
	[ "$status" -eq 0 ]
	run pg_sql "SELECT name, card, ssn, note, email ~ '^[0-9a-f]{16}\$' FROM users" restored
	[ "$output" = 'Alice|***************1111|*******6789|mail ***|t' ]
	run pg_sql "SELECT coalesce(ssn, 'null') FROM people ORDER BY id" restored
	[ "$output" = $'*******4321\nnull' ]
	pg_sql "DROP DATABASE restored" >/dev/null
}

@test "masking: the extended protocol is masked per portal, with or without a Describe" {
	f=$(steps mext "x SELECT ssn FROM users
parse - SELECT card FROM users
bind - -
execute -
sync
parse named SELECT email AS e, ssn FROM users
bind p1 named
describe P p1
execute p1
bind p2 named
execute p2
sync
x SELECT 'alive'")
	run as $MASKER "$P/bin/psql" masked -f "$f"
	[[ "$output" == *'row: *******6789'* ]]
	[[ "$output" == *'row: ***************1111'* ]]
	[ "$(grep -cE '^row: [0-9a-f]{16}\|\*{7}6789$' <<<"$output")" = 2 ]
	[[ "$output" != *"4111 1111"* ]]
	[[ "$output" != *alice@* ]]
	[[ "$output" == *"row: alive"* ]]
	# libpq's PQexecParams (Parse, Bind, Describe, Execute, Sync of the
	# unnamed statement; psql 15 has no \bind).
	printf '%s\n' "text SELECT ssn, 'bob@example.org' AS p FROM users" \
		"prepare q SELECT name, ssn FROM users WHERE id = \$1" \
		"exec q text 1" "exec q text 1" >"$P/work/ext.pq"
	chmod 644 "$P/work/ext.pq"
	run as $MASKER "$P/bin/psql" masked -f "$P/work/ext.pq"
	[ "$status" -eq 0 ]
	[ "$output" = $'row: *******6789|***\nok: SELECT 1\nok\nrow: Alice|*******6789\nok: SELECT 1\nrow: Alice|*******6789\nok: SELECT 1' ]
}

@test "masking: results in binary format: text types masked, others refused; the batch stays in step" {
	printf '%s\n' "binary SELECT id, ssn, name FROM users" \
		"text SELECT ssn FROM users" \
		"binary SELECT 1.5::numeric AS n" \
		"text SELECT 'after'" \
		"prepare s SELECT ssn, card FROM users WHERE id = \$1" \
		"exec s binary 1" "exec s text 1" \
		"pipeline" "text SELECT 'one'" "binary SELECT now()" "text SELECT 'skipped'" "sync" \
		"text SELECT 'after pipeline'" \
		"pipeline" "text SELECT 'two'" "text SELECT nope FROM nothing" "text SELECT 'skipped'" "sync" \
		"text SELECT 'after the second'" >"$P/work/bin.pq"
	chmod 644 "$P/work/bin.pq"
	run as $MASKER "$P/bin/psql" masked -f "$P/work/bin.pq"
	[ "$status" -eq 0 ]
	[[ "$output" == *'row: \x00000001|*******6789|Alice'* ]]
	[[ "$output" == *'error: 42501 hoop: BIND refused: result refused by masking: column 1 ("n") is masked and asked for in binary format'* ]]
	[[ "$output" == *'row: after'* ]]
	[ "$(grep -c '^row: \*\*\*\*\*\*\*6789|\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*1111$' <<<"$output")" = 2 ]
	[[ "$output" == *$'row: one\nok: SELECT 1\nerror: 42501 hoop: BIND refused: result refused by masking: column 1 ("now")'*$'\naborted\nsynced\nrow: after pipeline'* ]]
	# A statement the server cannot parse: hoop's Describe waits for
	# nothing (the server skips it with the rest of the batch).
	[[ "$output" == *$'row: two\nok: SELECT 1\nerror: 42P01 relation "nothing" does not exist\naborted\nsynced\nrow: after the second'* ]]
	[[ "$output" != *skipped* ]]
	[[ "$output" != *123-45* ]]
}

@test "masking: NOTIFY payloads go through the patterns" {
	run as $MASKDUMP "$P/bin/psql" masked -X -c "LISTEN ch; NOTIFY ch, 'mail bob@example.org now'; SELECT pg_notify('ch', 'card 4111 1111 1111 1111')"
	[ "$status" -eq 0 ]
	[[ "$output" == *'Asynchronous notification "ch" with payload "mail *** now" received'* ]]
	[[ "$output" == *'with payload "card ***************1111" received'* ]]
	[[ "$output" != *bob@example.org* ]]
}

@test "masking: after DDL, a new view is looked up again" {
	run psql_masked -At -c "SELECT ssn FROM users" -c "CREATE VIEW v_new AS SELECT ssn AS s FROM users" -c "SELECT s FROM v_new"
	[ "$status" -eq 0 ]
	[ "$output" = $'*******6789\nCREATE VIEW\n*******6789' ]
	pg_sql "DROP VIEW v_new" app >/dev/null
}

@test "masking: 1,000,000 rows with three masked columns" {
	start=$(date +%s.%N)
	psql_masked -At -c "SELECT a, b, c FROM big" >"$P/work/big.out"
	end=$(date +%s.%N)
	echo "# 1,000,000 rows, three masked columns: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s" >&3
	[ "$(wc -l <"$P/work/big.out")" = 1000000 ]
	if grep -q secret "$P/work/big.out"; then false; fi
	[ "$(grep -cvE '^\*{7,}[-0-9]{2}\|\*{7,}[-0-9]{2}\|\*{7,}[-0-9]{2}$' "$P/work/big.out")" = 0 ]
	rm -f "$P/work/big.out"
}
