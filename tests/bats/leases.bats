#!/usr/bin/env bats
# Leases, the nss_hoop data file and the reaper, through hoopctl against
# real files: nss sync/show, leases list, gc killing a real uid's
# processes and removing its home (as root; skipped otherwise).
load helpers

PIDS=()

# The helpers' configuration plus ephemeral-user settings in $T.
lease_config() {
	write_config
	mkdir -p "$T/home"
	cat >>"$T/hoop.conf" <<CONF

home_base = "$T/home"
login_shell = "/usr/bin/hoop-shell"

identity "staff" {
	issuer = "ci"
	claim "role" { equals = {"staff"} }
	login_template = "sso-\${preferred_username}"
	local_groups = {"dba:users", "*:adm"}
}
CONF
	run "$HOOPCTL" -c "$T/hoop.conf" db migrate
	[ "$status" -eq 0 ]
	NSSDB=$T/nss/passwd.db
}

hoopctl() {
	"$HOOPCTL" -c "$T/hoop.conf" --nss-db "$NSSDB" "$@"
}

# The uid hoop gives a name, from the data file.
uid_of() {
	hoopctl nss show "$1" | head -n 1 | cut -d: -f3
}

# add_lease LOGIN UID EXPIRES_IN_SECONDS [GROUPS]
add_lease() {
	sqlite3 "$T/hoop.db" "INSERT INTO leases (login, uid, identity, issuer,
	    subject, claims_digest, created_at, expires_at, groups) VALUES
	    ('$1', $2, '$( [[ $1 == sso-* ]] && echo staff || echo deploy )',
	    'ci', 'sub-$1', 'd', strftime('%s','now') - 100,
	    strftime('%s','now') + $3, '${4:-}')"
}

# A process of uid (real uid, no groups), detached from bats' output.
start_as() {	# uid
	setpriv --reuid="$1" --regid="$1" --clear-groups sleep 1000 \
	    </dev/null >/dev/null 2>&1 3>&- &
	PIDS+=($!)
	LAST_PID=$!
}

alive() {	# pid: running, not a zombie
	local s
	s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ $s != Z* ]]
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$T"
}

@test "nss sync writes a world-readable file that resolves logins and templates" {
	lease_config
	run hoopctl nss sync
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$NSSDB")" = 644 ]
	run hoopctl nss show deploy
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^deploy:\*:6[0-9]{4}:6[0-9]{4}:hoop\ identity\ deploy:$T/home/deploy:/usr/bin/hoop-shell$ ]]
	uid=$(uid_of deploy)
	[ "$(uid_of deploy)" = "$uid" ]
	run hoopctl nss show sso-zoe
	[ "$status" -eq 0 ]
	[[ "$output" == "sso-zoe:*:"*":hoop identity staff:$T/home/sso-zoe:/usr/bin/hoop-shell" ]]
	run hoopctl nss show stranger
	[ "$status" -eq 1 ]
	# Before any login, a uid resolves to nobody.
	run hoopctl nss show "$uid"
	[ "$status" -eq 1 ]
}

@test "a live lease resolves by uid, with its local groups; an expired one does not" {
	lease_config
	uid=$(hoopctl nss sync >/dev/null && uid_of sso-ann)
	add_lease sso-ann "$uid" 600 "dba,dev"
	old=$(uid_of sso-old)
	add_lease sso-old "$old" -5
	run hoopctl nss sync
	[ "$status" -eq 0 ]
	run hoopctl nss show "$uid"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "sso-ann:*:$uid:$uid:"* ]]
	users=$(getent group users | cut -d: -f3)
	adm=$(getent group adm | cut -d: -f3)
	[[ "${lines[1]}" == "# lease until @"*", local groups: $users,$adm" ]]
	run hoopctl nss show "$old"
	[ "$status" -eq 1 ]
	run hoopctl nss show
	[[ "$output" == *"# template sso-* (hoop identity staff)"* ]]
	[[ "$output" == *"sso-ann:"* ]]
	[[ "$output" != *"sso-old:"* ]]
}

@test "leases list shows live leases, --all ended ones too, --json one object per line" {
	lease_config
	run hoopctl leases list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == ID*LOGIN*UID*STATE*EXPIRES* ]]
	add_lease sso-ann 60001 600 "dba"
	add_lease sso-bea 60002 -5
	sqlite3 "$T/hoop.db" "UPDATE leases SET subject = 'evil' || char(27) || '[2J' WHERE login = 'sso-bea'"
	add_lease sso-cy 60003 -50
	sqlite3 "$T/hoop.db" "UPDATE leases SET ended_at = 1, end_reason = 'expired' WHERE login = 'sso-cy'"
	run hoopctl leases list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "$output" == *"sso-ann"*"60001"*"live"* ]]
	[[ "$output" == *"sso-bea"*"expired"* ]]
	# A principal's text cannot drive the auditor's terminal.
	[[ "$output" == *'evil\x1b[2J'* ]]
	[[ "$output" != *sso-cy* ]]
	run hoopctl leases list --all
	[[ "$output" == *"sso-cy"*"ended"* ]]
	run hoopctl leases list --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -l)" -eq 2 ]
	echo "$output" | jq -s -e 'any(.[]; .login == "sso-ann" and .uid == 60001 and .state == "live" and .groups == ["dba"] and .ended_at == null)' >/dev/null
	echo "$output" | jq -s -e 'any(.[]; .login == "sso-bea" and .state == "expired")' >/dev/null
	run hoopctl leases list --bogus
	[ "$status" -eq 2 ]
}

@test "gc kills every process of an expired lease's uid, removes its home, ends it" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	lease_config
	hoopctl nss sync >/dev/null
	uid=$(uid_of sso-gc)
	[ -n "$uid" ]
	add_lease sso-gc "$uid" -5
	lease=$(sqlite3 "$T/hoop.db" "SELECT id FROM leases WHERE login = 'sso-gc'")
	sqlite3 "$T/hoop.db" "INSERT INTO sessions (id, lease_id, login, started_at) VALUES ('sess-1', $lease, 'sso-gc', 1)"
	mkdir -p "$T/home/sso-gc/.cache/deep"
	echo data >"$T/home/sso-gc/.cache/deep/file"
	chown -R "$uid:$uid" "$T/home/sso-gc"
	start_as "$uid"; p1=$LAST_PID
	start_as "$uid"; p2=$LAST_PID
	# A process that tries to survive: ignores every signal it can.
	setpriv --reuid="$uid" --regid="$uid" --clear-groups \
	    bash -c 'trap "" TERM HUP INT; while :; do sleep 1; done' \
	    </dev/null >/dev/null 2>&1 3>&- &
	PIDS+=($!); p3=$!
	sleep 0.2
	alive "$p1" && alive "$p2" && alive "$p3"
	run hoopctl gc
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 expired, 1 ended, 0 left"* ]]
	if alive "$p1"; then false; fi
	if alive "$p2"; then false; fi
	if alive "$p3"; then false; fi
	[ ! -e "$T/home/sso-gc" ]
	[ "$(sqlite3 "$T/hoop.db" "SELECT end_reason FROM leases WHERE id = $lease AND ended_at IS NOT NULL")" = expired ]
	[ "$(sqlite3 "$T/hoop.db" "SELECT end_reason FROM sessions WHERE id = 'sess-1' AND ended_at IS NOT NULL")" = "lease ended" ]
	run hoopctl audit list --kind lease --json
	echo "$output" | jq -s -e "any(.[]; .principal == \"sso-gc\" and .action == \"end\" and .decision == \"info\" and (.detail | .uid == $uid and .home == \"removed\" and .killed >= 3))" >/dev/null
	# No longer resolves by uid; the name still does (for the next login).
	run hoopctl nss show "$uid"
	[ "$status" -eq 1 ]
	run hoopctl nss show sso-gc
	[ "$status" -eq 0 ]
	# Nothing left to do.
	run hoopctl gc
	[[ "$output" == *"0 expired"* ]]
}

@test "gc leaves live leases, and never touches a uid outside uid_min..uid_max" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	lease_config
	hoopctl nss sync >/dev/null
	live=$(uid_of sso-live)
	add_lease sso-live "$live" 600
	mkdir "$T/home/sso-live" && chown "$live" "$T/home/sso-live"
	start_as "$live"; plive=$LAST_PID
	add_lease sso-low 1500 -5
	mkdir "$T/home/sso-low" && chown 1500 "$T/home/sso-low"
	start_as 1500; plow=$LAST_PID
	sleep 0.2
	run hoopctl gc
	[ "$status" -eq 0 ]
	alive "$plive"
	alive "$plow"
	[ -d "$T/home/sso-live" ]
	[ -d "$T/home/sso-low" ]
	[ "$(sqlite3 "$T/hoop.db" "SELECT end_reason FROM leases WHERE login = 'sso-low'")" = "expired (not reaped)" ]
	[ -z "$(sqlite3 "$T/hoop.db" "SELECT ended_at FROM leases WHERE login = 'sso-live'")" ]
	run hoopctl audit list --kind lease --decision error
	[[ "$output" == *sso-low*"outside uid_min..uid_max"* ]]
}

@test "gc never follows a symlinked home, nor symlinks inside one" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	lease_config
	hoopctl nss sync >/dev/null
	a=$(uid_of sso-link)
	b=$(uid_of sso-inner)
	mkdir "$T/victim" && echo keep >"$T/victim/file"
	chown -R "$a" "$T/victim"
	ln -s "$T/victim" "$T/home/sso-link"
	add_lease sso-link "$a" -5
	mkdir "$T/home/sso-inner"
	ln -s "$T/victim" "$T/home/sso-inner/escape"
	ln -s /etc/passwd "$T/home/sso-inner/passwd"
	chown -hR "$b" "$T/home/sso-inner"
	add_lease sso-inner "$b" -5
	run hoopctl gc
	[ "$status" -eq 0 ]
	[ -L "$T/home/sso-link" ]
	[ ! -e "$T/home/sso-inner" ]
	[ "$(cat "$T/victim/file")" = keep ]
	[ -s /etc/passwd ]
	run hoopctl audit list --kind lease --json
	echo "$output" | jq -s -e 'any(.[]; .principal == "sso-link" and (.detail | .home | startswith("kept")))' >/dev/null
}

@test "gc and nss sync refuse without the rights they need" {
	lease_config
	chmod 755 "$T"
	chmod 644 "$T/hoop.conf"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$HOOPCTL" -c "$T/hoop.conf" gc
	[ "$status" -eq 1 ]
	[[ "$output" == *"gc needs root"* ]]
	run hoopctl nss show
	[ "$status" -eq 1 ]
	[[ "$output" == *"no such"* || "$output" == *"not found"* ]]
	echo garbage >"$T/bad.db"
	run "$HOOPCTL" --nss-db "$T/bad.db" nss show
	[ "$status" -eq 1 ]
	[[ "$output" == *"corrupt or not an nss_hoop file"* ]]
}

@test "make install ships nss_hoop(8) and the reaper's systemd units" {
	run make -s -C "$HOOP_SRC" B="${HOOP_BUILD#"$HOOP_SRC"/}" install DESTDIR="$T/root" PREFIX=/usr
	[ "$status" -eq 0 ]
	[ -f "$T/root/usr/share/man/man8/nss_hoop.8" ]
	[ -f "$T/root/usr/lib/systemd/system/hoop-gc.timer" ]
	grep -q '^ExecStart=/usr/sbin/hoopctl gc$' "$T/root/usr/lib/systemd/system/hoop-gc.service"
	grep -q '^OnUnitActiveSec=1min$' "$T/root/usr/lib/systemd/system/hoop-gc.timer"
	[ "$(stat -c %a "$T/root/var/lib/hoop-nss")" = 755 ]
	[ -d "$T/root/var/lib/hoop-home" ]
}
