#!/usr/bin/env bats
# The protocol library (lib/pgproto.c, lib/pgauth.c) against a real
# PostgreSQL server, through tests/tools/hoop-pg-client, which speaks
# only through the library: SCRAM-SHA-256, md5, trust and cleartext
# logins, simple and extended queries, errors, notices, COPY, cancel,
# SSL and GSSENC negotiation bytes; and the library's server side
# against the real psql.

load helpers
load postgres

CLIENT=$HOOP_BUILD/tests/hoop-pg-client
SCRAM_PW="scram pw, with 'quote'"
MD5_PW=md5-secret
CLEAR_PW=clear-secret

setup_file() {
	pg_start \
		"host all scram_user $PG_HOST/32 scram-sha-256" \
		"local all scram_user scram-sha-256" \
		"host all md5_user $PG_HOST/32 md5" \
		"host all trust_user $PG_HOST/32 trust" \
		"host all clear_user $PG_HOST/32 password"
	pg_role scram_user scram-sha-256 "$SCRAM_PW" >/dev/null
	pg_role md5_user md5 "$MD5_PW" >/dev/null
	pg_role trust_user trust >/dev/null
	pg_role clear_user scram-sha-256 "$CLEAR_PW" >/dev/null
	pg_sql "CREATE DATABASE app" >/dev/null
	pg_sql "CREATE TABLE people (id int, email text, note text);
		INSERT INTO people VALUES (1, 'alice@example.com', NULL),
			(2, 'bob@example.com', 'a|b');
		GRANT SELECT ON people TO PUBLIC" app >/dev/null
	PEOPLE_OID=$(pg_sql "SELECT 'people'::regclass::oid" app)
	export PG_BIN PG_DIR PG_PORT PG_SOCKDIR PEOPLE_OID
}

teardown_file() {
	pg_stop
}

setup() {
	T=$(mktemp -d /tmp/hoop-bats.XXXXXX)
	SERVE_PID=
}

teardown() {
	if [ -n "$SERVE_PID" ]; then
		kill "$SERVE_PID" 2>/dev/null
		wait "$SERVE_PID" 2>/dev/null
	fi
	rm -rf "$T"
}

# The client over TCP as USER with PASSWORD; more arguments follow.
pgc() {
	local user=$1 pw=$2
	shift 2
	HOOP_PG_PASSWORD=$pw "$CLIENT" -h "$PG_HOST" -p "$PG_PORT" -U "$user" -d app "$@"
}

has_line() {
	printf '%s\n' "$output" | grep -qxF -- "$1" || {
		echo "missing line: $1"
		echo "output was:"
		printf '%s\n' "$output"
		return 1
	}
}

@test "scram-sha-256: login, rows with table oid and attribute numbers" {
	run pgc scram_user "$SCRAM_PW" -c "SELECT id, email, note FROM people ORDER BY id"
	[ "$status" -eq 0 ]
	has_line "auth: scram-sha-256"
	has_line "field: id table=$PEOPLE_OID attnum=1 type=23 typlen=4 typmod=-1 format=0"
	has_line "field: email table=$PEOPLE_OID attnum=2 type=25 typlen=-1 typmod=-1 format=0"
	has_line 'row: 1|alice@example.com|\N'
	has_line 'row: 2|bob@example.com|a\x7cb'
	has_line "complete: SELECT 2"
	[ "$(printf '%s\n' "$output" | tail -n 1)" = "ready: I" ]
}

@test "scram-sha-256 over the socket directory" {
	run env HOOP_PG_PASSWORD="$SCRAM_PW" "$CLIENT" -S "$PG_SOCKDIR" -p "$PG_PORT" \
		-U scram_user -d app -c "SELECT current_user, inet_client_addr() IS NULL"
	[ "$status" -eq 0 ]
	has_line "auth: scram-sha-256"
	has_line "row: scram_user|t"
}

@test "md5: login and a computed column (no table)" {
	run pgc md5_user "$MD5_PW" -c "SELECT upper(email) AS e FROM people WHERE id = 1"
	[ "$status" -eq 0 ]
	has_line "auth: md5"
	has_line "field: e table=0 attnum=0 type=25 typlen=-1 typmod=-1 format=0"
	has_line "row: ALICE@EXAMPLE.COM"
}

@test "trust: login without a password" {
	run env -u HOOP_PG_PASSWORD "$CLIENT" -h "$PG_HOST" -p "$PG_PORT" -U trust_user -d app -c "SELECT 40 + 2"
	[ "$status" -eq 0 ]
	has_line "auth: trust"
	has_line "row: 42"
}

@test "cleartext: refused unless allowed" {
	run pgc clear_user "$CLEAR_PW" -c "SELECT 1"
	[ "$status" -eq 2 ]
	[[ "$output" == *"cleartext password: refused"* ]]
	[[ "$output" != *"auth:"* ]]
	run pgc clear_user "$CLEAR_PW" --allow-cleartext -c "SELECT 1"
	[ "$status" -eq 0 ]
	has_line "auth: cleartext"
	has_line "row: 1"
}

@test "wrong password: scram and md5 end with the server's FATAL" {
	run pgc scram_user "not the password" -c "SELECT 1"
	[ "$status" -eq 2 ]
	has_line 'error: FATAL 28P01 password authentication failed for user "scram_user"'
	[[ "$output" != *"auth:"* ]]
	run pgc md5_user "not the password" -c "SELECT 1"
	[ "$status" -eq 2 ]
	has_line 'error: FATAL 28P01 password authentication failed for user "md5_user"'
	run env -u HOOP_PG_PASSWORD "$CLIENT" -h "$PG_HOST" -p "$PG_PORT" -U scram_user -d app -c "SELECT 1"
	[ "$status" -eq 2 ]
	[[ "$output" == *"password needed"* ]]
}

@test "a user pg_hba does not know: the server's refusal" {
	run pgc postgres x -c "SELECT 1"
	[ "$status" -eq 2 ]
	[[ "$output" == *"error: FATAL 28000 no pg_hba.conf entry"* ]]
}

@test "errors keep the session usable; transaction status follows" {
	run pgc scram_user "$SCRAM_PW" -c "SELECT * FROM nope" -c "BEGIN" \
		-c "SELECT 1/0" -c "SELECT 1" -c "ROLLBACK" -c "SELECT 'after'"
	[ "$status" -eq 1 ]
	has_line 'error: ERROR 42P01 relation "nope" does not exist'
	has_line "error: ERROR 22012 division by zero"
	has_line "error: ERROR 25P02 current transaction is aborted, commands ignored until end of transaction block"
	[ "$(printf '%s\n' "$output" | grep '^ready:' | tr -d '\n')" = "ready: Iready: Iready: Tready: Eready: Eready: Iready: I" ]
	has_line "row: after"
}

@test "several statements in one Query, and an empty one" {
	run pgc scram_user "$SCRAM_PW" -c "SELECT 1 AS a; SELECT 'x' AS b, NULL AS c" -c ""
	[ "$status" -eq 0 ]
	has_line "row: 1"
	has_line 'row: x|\N'
	[ "$(printf '%s\n' "$output" | grep -c '^complete: SELECT 1$')" -eq 2 ]
	has_line "empty"
}

@test "extended protocol: Parse, Bind with a NULL, Describe, Execute, Sync" {
	run pgc scram_user "$SCRAM_PW" -x 'SELECT $1::int + 1 AS n, $2::text IS NULL AS isnull' -a 41 -N \
		-x 'SELECT email FROM people WHERE id = $1' -a 2
	[ "$status" -eq 0 ]
	has_line "parse-complete"
	has_line "bind-complete"
	has_line "field: n table=0 attnum=0 type=23 typlen=4 typmod=-1 format=0"
	has_line "row: 42|t"
	has_line "row: bob@example.com"
	run pgc scram_user "$SCRAM_PW" -x 'SELECT $1::int' -a notanumber -x 'SELECT 7'
	[ "$status" -eq 1 ]
	has_line 'error: ERROR 22P02 invalid input syntax for type integer: "notanumber"'
	has_line "row: 7"
}

@test "notices" {
	run pgc scram_user "$SCRAM_PW" -c "DO \$\$BEGIN RAISE NOTICE 'hello %', 42; END\$\$"
	[ "$status" -eq 0 ]
	has_line "notice: NOTICE 00000 hello 42"
	has_line "complete: DO"
}

@test "COPY TO STDOUT, and COPY FROM STDIN refused by the client" {
	run pgc scram_user "$SCRAM_PW" -c "COPY (SELECT id, email FROM people ORDER BY id) TO STDOUT"
	[ "$status" -eq 0 ]
	has_line "copy-out: format=0 columns=2"
	has_line 'copy: 1\x09alice@example.com\x0a'
	has_line "copy-done"
	has_line "complete: COPY 2"
	run pgc trust_user "" -c "CREATE TEMP TABLE t (a int); COPY t FROM STDIN"
	[ "$status" -eq 1 ]
	has_line "copy-in: format=0 columns=1"
	[[ "$output" == *"error: ERROR 57014 COPY from stdin failed: no data here"* ]]
}

@test "large results: many rows and one 8 MB value, framed across reads" {
	run pgc scram_user "$SCRAM_PW" -c "SELECT g, repeat('x', 500) FROM generate_series(1, 20000) g"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^row: ')" -eq 20000 ]
	has_line "complete: SELECT 20000"
	pgc scram_user "$SCRAM_PW" -c "SELECT repeat('y', 8388608)" >"$T/big"
	[ "$(grep '^row: ' "$T/big" | wc -c)" -eq $((5 + 8388608 + 1)) ]
}

@test "CancelRequest stops a running statement" {
	SECONDS=0
	run pgc scram_user "$SCRAM_PW" --cancel-after 500 -c "SELECT pg_sleep(30)" -c "SELECT 'still here'"
	[ "$status" -eq 1 ]
	[ "$SECONDS" -lt 20 ]
	has_line "cancel: sent"
	has_line "error: ERROR 57014 canceling statement due to user request"
	has_line "row: still here"
}

@test "SSLRequest answered N, then the login goes on in clear" {
	run pgc scram_user "$SCRAM_PW" --ssl-request -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
	[ "$status" -eq 0 ]
	has_line "ssl: N"
	has_line "auth: scram-sha-256"
	has_line "row: f"
}

@test "GSSENCRequest on the socket answered N; over TCP the answer is read too" {
	run env HOOP_PG_PASSWORD="$SCRAM_PW" "$CLIENT" -S "$PG_SOCKDIR" -p "$PG_PORT" \
		-U scram_user -d app --gssenc-request -c "SELECT 1"
	[ "$status" -eq 0 ]
	has_line "gssenc: N"
	has_line "row: 1"
	# A server built with GSSAPI offers it ('G') on TCP; the client,
	# which has no GSSAPI, must then stop rather than go on in clear.
	run pgc scram_user "$SCRAM_PW" --gssenc-request -c "SELECT 1"
	if has_line "gssenc: G" >/dev/null; then
		[ "$status" -eq 2 ]
		[[ "$output" != *"auth:"* ]]
	else
		has_line "gssenc: N"
		[ "$status" -eq 0 ]
	fi
}

# The library's server side, in front of the real psql.
serve() {
	HOOP_PG_PASSWORD=$1 "$CLIENT" --serve -S "$T" -p 5999 >"$T/serve.out" 2>&1 3>&- &
	SERVE_PID=$!
	for _ in $(seq 100); do
		grep -q listening "$T/serve.out" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

@test "server side: psql logs in with SCRAM and gets its query back" {
	local otp=0123456789abcdef0123456789abcdef0123456789abcdef
	serve "$otp"
	run env PGPASSWORD="$otp" "$PG_BIN/psql" -X -At \
		"host=$T port=5999 user=alice dbname=prod sslmode=disable" -c "select 'through the library'"
	[ "$status" -eq 0 ]
	[ "$output" = "select 'through the library'" ]
	wait "$SERVE_PID"
	SERVE_PID=
	grep -qx "authenticated: alice" "$T/serve.out"
}

@test "server side: psql with a wrong password is refused" {
	serve 0123456789abcdef0123456789abcdef0123456789abcdef
	run env PGPASSWORD=wrong "$PG_BIN/psql" -X -At \
		"host=$T port=5999 user=alice dbname=prod sslmode=disable" -c "select 1"
	[ "$status" -eq 2 ]
	[[ "$output" == *'password authentication failed for user "alice"'* ]]
	rc=0
	wait "$SERVE_PID" || rc=$?
	SERVE_PID=
	[ "$rc" -eq 1 ]
	grep -q "SCRAM: wrong password" "$T/serve.out"
}
