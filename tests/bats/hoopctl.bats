#!/usr/bin/env bats
# hoopctl against real files: config check, store migrations, audit log.
load helpers

migrated() {
	write_config
	run "$HOOPCTL" -c "$T/hoop.conf" db migrate
	[ "$status" -eq 0 ]
}

@test "config check accepts a valid file" {
	write_config
	run "$HOOPCTL" config check "$T/hoop.conf"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$T/hoop.conf: ok"* ]]
}

@test "config check reports file and line of an unknown option and exits 1" {
	write_config
	sed -i 's/^\tlogin = "deploy"/\tlogin = "deploy"\n\tshell = "\/bin\/sh"/' "$T/hoop.conf"
	line=$(grep -n 'shell = ' "$T/hoop.conf" | cut -d: -f1)
	run "$HOOPCTL" config check "$T/hoop.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/hoop.conf:$line:"* ]]
	[[ "$output" == *shell* ]]
}

@test "config check refuses a world-readable secret file" {
	write_config
	chmod 0644 "$T/pg.secret"
	run "$HOOPCTL" config check "$T/hoop.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"pg.secret"* ]]
	# The secret's contents never reach the output.
	[[ "$output" != *"s3cret-value"* ]]
}

@test "config check names a dangling reference" {
	write_config
	sed -i 's/identities = {"deploy"}/identities = {"nobody-here"}/' "$T/hoop.conf"
	run "$HOOPCTL" config check "$T/hoop.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"nobody-here"* ]]
	[[ "$output" == *"$T/hoop.conf:"[0-9]* ]]
}

@test "config check of a missing file fails clearly" {
	run "$HOOPCTL" config check "$T/absent.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"absent.conf"* ]]
}

@test "config check never quotes the contents of a file it cannot parse" {
	printf 'token = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln\n' >"$T/not-a-config"
	run "$HOOPCTL" config check "$T/not-a-config"
	[ "$status" -eq 1 ]
	[[ "$output" != *"c2VjcmV0"* ]]
}

@test "commands fail closed on an invalid configuration" {
	write_config
	echo 'bogus_option = 1' >>"$T/hoop.conf"
	run "$HOOPCTL" -c "$T/hoop.conf" db migrate
	[ "$status" -ne 0 ]
	[ ! -e "$T/hoop.db" ]
}

@test "db migrate creates the store, records it, and is idempotent" {
	migrated
	[ -f "$T/hoop.db" ]
	run "$HOOPCTL" -c "$T/hoop.conf" db migrate
	[ "$status" -eq 0 ]
	[[ "$output" == "schema 4 -> 4" ]]
	run "$HOOPCTL" -c "$T/hoop.conf" db version
	[ "$status" -eq 0 ]
	run "$HOOPCTL" -c "$T/hoop.conf" audit list --kind admin
	[ "$(echo "$output" | wc -l)" -eq 1 ]
	[[ "$output" == *"db migrate 0 -> 4"* ]]
}

@test "a store from a newer version is refused" {
	migrated
	sqlite3 "$T/hoop.db" 'PRAGMA user_version=42'
	run "$HOOPCTL" -c "$T/hoop.conf" audit list
	[ "$status" -eq 1 ]
	[[ "$output" == *"newer than this program"* ]]
	run "$HOOPCTL" -c "$T/hoop.conf" db migrate
	[ "$status" -eq 1 ]
}

@test "a store that was never migrated is refused with the fix named" {
	write_config
	sqlite3 "$T/hoop.db" 'PRAGMA user_version=0; CREATE TABLE x(y)'
	run "$HOOPCTL" -c "$T/hoop.conf" audit list
	[ "$status" -eq 1 ]
	[[ "$output" == *"hoopctl db migrate"* ]]
}

@test "audit list filters and emits JSON lines" {
	migrated
	"$HOOP_BUILD/tests/hoop-audit-writer" "$T/hoop.db" 3 sql allow alice prod
	"$HOOP_BUILD/tests/hoop-audit-writer" "$T/hoop.db" 2 sql deny bob prod
	"$HOOP_BUILD/tests/hoop-audit-writer" "$T/hoop.db" 4 auth deny mallory
	run "$HOOPCTL" -c "$T/hoop.conf" audit list --principal bob --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -l)" -eq 2 ]
	echo "$output" | jq -e 'select(.principal == "bob" and .decision == "deny" and .target == "prod" and (.hash | length) == 64)' >/dev/null
	[ "$(echo "$output" | jq -s 'length')" -eq 2 ]
	run "$HOOPCTL" -c "$T/hoop.conf" audit list --decision deny --kind auth
	[ "$(echo "$output" | wc -l)" -eq 4 ]
	run "$HOOPCTL" -c "$T/hoop.conf" audit list --target prod --limit 4
	[ "$(echo "$output" | wc -l)" -eq 4 ]
	run "$HOOPCTL" -c "$T/hoop.conf" audit list --since 1h --until "$(date -u -d '+1 min' +%Y-%m-%dT%H:%M:%SZ)"
	[ "$(echo "$output" | wc -l)" -eq 10 ]
	run "$HOOPCTL" -c "$T/hoop.conf" audit list --since 2999-01-01
	[ -z "$output" ]
	run "$HOOPCTL" -c "$T/hoop.conf" audit list --since yesterday-ish
	[ "$status" -eq 2 ]
}

@test "audit verify passes an intact chain and names the first broken link" {
	migrated
	"$HOOP_BUILD/tests/hoop-audit-writer" "$T/hoop.db" 20 sql allow alice prod
	run "$HOOPCTL" -c "$T/hoop.conf" audit verify
	[ "$status" -eq 0 ]
	[[ "$output" == *"intact: 21 events"* ]]
	sqlite3 "$T/hoop.db" "UPDATE audit_events SET decision='deny' WHERE seq=7"
	run "$HOOPCTL" -c "$T/hoop.conf" audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"BROKEN at event 7"* ]]
}

@test "audit verify detects deletion and reordering" {
	migrated
	"$HOOP_BUILD/tests/hoop-audit-writer" "$T/hoop.db" 10 sql allow alice prod
	cp "$T/hoop.db" "$T/copy.db"
	sqlite3 "$T/hoop.db" "DELETE FROM audit_events WHERE seq=4"
	run "$HOOPCTL" -c "$T/hoop.conf" audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"BROKEN at event 4"*missing* ]]
	run "$HOOPCTL" -s "$T/copy.db" audit verify
	[ "$status" -eq 0 ]
	sqlite3 "$T/copy.db" "UPDATE audit_events SET seq=-1 WHERE seq=3; UPDATE audit_events SET seq=3 WHERE seq=5; UPDATE audit_events SET seq=5 WHERE seq=-1"
	run "$HOOPCTL" -s "$T/copy.db" audit verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"BROKEN at event 3"* ]]
}

@test "an anchor from audit head catches deletion of the newest events" {
	migrated
	"$HOOP_BUILD/tests/hoop-audit-writer" "$T/hoop.db" 5 shell deny eve
	run "$HOOPCTL" -c "$T/hoop.conf" audit head
	[ "$status" -eq 0 ]
	anchor=$output
	[[ "$anchor" =~ ^6:[0-9a-f]{64}$ ]]
	run "$HOOPCTL" -c "$T/hoop.conf" audit verify --anchor "$anchor"
	[ "$status" -eq 0 ]
	sqlite3 "$T/hoop.db" "DELETE FROM audit_events WHERE seq>=5"
	run "$HOOPCTL" -c "$T/hoop.conf" audit verify
	[ "$status" -eq 0 ]
	run "$HOOPCTL" -c "$T/hoop.conf" audit verify --anchor "$anchor"
	[ "$status" -eq 1 ]
	[[ "$output" == *deleted* ]]
	run "$HOOPCTL" -c "$T/hoop.conf" audit verify --anchor "6:nothex"
	[ "$status" -eq 2 ]
}

@test "hoopctl rejects unknown commands and options" {
	run "$HOOPCTL" frobnicate
	[ "$status" -eq 2 ]
	run "$HOOPCTL" audit list --bogus
	[ "$status" -eq 2 ]
}

@test "hoopctl closes stray descriptors it inherits" {
	migrated
	# fd 7 open on a file; hoopctl must not keep or use it.
	run bash -c "exec 7>'$T/leak'; ls -l /proc/self/fd/ >/dev/null; '$HOOPCTL' -c '$T/hoop.conf' audit list >/dev/null; echo \$?"
	[ "$output" = 0 ]
}

@test "auth events reach syslog as authpriv; other kinds do not" {
	migrated
	# A private /dev whose log socket this test reads (host untouched).
	mkdir "$T/dev"
	touch "$T/dev/null"
	run unshare -m bash -c "
		mount --bind /dev/null '$T/dev/null' &&
		mount --bind '$T/dev' /dev || exit 99
		socat -u UNIX-RECV:/dev/log CREATE:'$T/syslog' & pid=\$!
		for i in \$(seq 50); do [ -S /dev/log ] && break; sleep 0.05; done
		'$HOOP_BUILD/tests/hoop-audit-writer' '$T/hoop.db' 1 auth deny mallory
		'$HOOP_BUILD/tests/hoop-audit-writer' '$T/hoop.db' 1 sql deny bob prod
		sleep 0.3; kill \$pid"
	[ "$status" -ne 99 ]
	cat "$T/syslog"
	# authpriv (10) * 8 + warning (4) = 84
	grep -q '<84>.*auth deny: principal=mallory' "$T/syslog"
	if grep -q 'principal=bob' "$T/syslog"; then false; fi
}
