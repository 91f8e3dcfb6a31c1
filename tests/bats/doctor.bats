#!/usr/bin/env bats
# hoopctl setup makes an installation's layout, and hoopctl doctor checks
# a whole installation: each misconfiguration a test introduces is found
# and named. The installation is `make install DESTDIR=$T/root`, checked
# with --root; the group is a gid of its own.
load helpers

G=59997

setup() {
	T=$(mktemp -d /tmp/hoop-doctor.XXXXXX)
	chmod 755 "$T"
	R=$T/root
	make -s -C "$HOOP_SRC" B="${HOOP_BUILD#"$HOOP_SRC"/}" install DESTDIR="$R" PREFIX=/usr >/dev/null
	mkdir -p "$R/etc/pam.d" "$R/etc/ssh/sshd_config.d" \
	    "$R/etc/systemd/system/timers.target.wants" "$T/conf" "$T/secrets" "$T/keys"
	printf 'passwd:         files hoop\ngroup:          files hoop\nshadow:         files\n' \
	    >"$R/etc/nsswitch.conf"
	cp "$HOOP_SRC/etc/pam.d/sshd" "$R/etc/pam.d/sshd"
	cp "$HOOP_SRC/etc/sshd_config.d/hoop.conf" "$R/etc/ssh/sshd_config.d/hoop.conf"
	# Debian's own file: the snippet comes first, and the first value
	# of a keyword wins.
	cat >"$R/etc/ssh/sshd_config" <<'SSHD'
Include /etc/ssh/sshd_config.d/*.conf
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
SSHD
	ln -s /usr/lib/systemd/system/hoop-gc.timer \
	    "$R/etc/systemd/system/timers.target.wants/hoop-gc.timer"
	(umask 027 && printf 's3cret\n' >"$T/secrets/pg.password")
	printf '{"keys":[]}\n' >"$T/keys/jwks.json"
	cat >"$T/conf/hoop.conf" <<CONF
store = "$T/state/hoop.db"
recordings = "$T/state/recordings"
login_shell = "/usr/bin/hoop-shell"
mask_key_file = "$T/secrets/mask-key"
issuer "ci" {
	url = "https://issuer.example.test"
	audience = {"hoop"}
	jwks_file = "$T/keys/jwks.json"
}
issuer "sso" {
	url = "https://sso.example.test"
	audience = {"hoop"}
}
identity "deploy" {
	issuer = "ci"
	claim "repository" { equals = {"acme/app"} }
	login = "deploy"
}
target "prod" {
	type = "postgres"
	host = "127.0.0.1"
	user = "app"
	secret_file = "$T/secrets/pg.password"
}
CONF
	run ctl setup
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

teardown() {
	rm -rf "$T"
}

ctl() {
	"$HOOPCTL" -c "$T/conf/hoop.conf" --nss-db "$T/nss/passwd.db" "$@" --root "$R" --group "$G"
}

doctor_fails_with() {	# TEXT: doctor fails and says TEXT on a FAIL line
	run ctl doctor
	[ "$status" -eq 1 ] || { echo "$output"; false; }
	grep -F -- "$1" <<<"$output" | grep -q '^FAIL' || { echo "$output"; false; }
}

@test "setup lays out a fresh installation; doctor finds nothing wrong" {
	[ "$(stat -c '%u:%g %a' "$R/usr/bin/hoop-shell")" = "0:$G 6755" ]
	[ "$(stat -c '%u:%g %a' "$R/usr/sbin/hoopctl")" = "0:$G 2755" ]
	[ "$(stat -c '%u:%g %a' "$T/state")" = "0:$G 2770" ]
	[ "$(stat -c '%u:%g %a' "$T/state/recordings")" = "0:$G 2770" ]
	[ "$(stat -c '%u:%g %a' "$T/state/hoop.db")" = "0:$G 660" ]
	[ "$(stat -c '%u:%g %a' "$T/secrets/pg.password")" = "0:$G 640" ]
	[ "$(stat -c '%u:%g %a' "$T/secrets/mask-key")" = "0:$G 640" ]
	[ "$(wc -c <"$T/secrets/mask-key")" -eq 65 ]
	[ -f "$T/nss/passwd.db" ]
	run ctl doctor
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == *"doctor: "*" checks, 0 failed"* ]]
	# The issuer whose keys are fetched has none yet: a warning.
	[[ "$output" == *"warn  issuer sso: no keys fetched yet"* ]]
	# Setup again changes nothing.
	run ctl setup
	[ "$status" -eq 0 ]
	if grep -qE '^(set|made) ' <<<"$output"; then false; fi
}

@test "doctor: nsswitch.conf without hoop for group" {
	sed -i 's/^group: .*/group: files/' "$R/etc/nsswitch.conf"
	doctor_fails_with "the group line must name hoop"
}

@test "doctor: nsswitch.conf without hoop for passwd" {
	sed -i 's/^passwd: .*/passwd: files systemd/' "$R/etc/nsswitch.conf"
	doctor_fails_with "the passwd line must name hoop"
}

@test "doctor: a PAM stack that lets passwords in before pam_hoop" {
	sed -i '1i @include common-auth' "$R/etc/pam.d/sshd"
	doctor_fails_with "the first auth module must be pam_hoop.so"
}

@test "doctor: a PAM stack without pam_hoop for session" {
	sed -i '/^session.*pam_hoop/d' "$R/etc/pam.d/sshd"
	doctor_fails_with "no \"session required pam_hoop.so\""
}

@test "doctor: a PAM stack without pam_hoop for account" {
	sed -i '/^account.*pam_hoop/d' "$R/etc/pam.d/sshd"
	doctor_fails_with "no \"account required pam_hoop.so\""
}

@test "doctor: sshd with keyboard-interactive off (first value wins)" {
	sed -i '/KbdInteractiveAuthentication/d' "$R/etc/ssh/sshd_config.d/hoop.conf"
	doctor_fails_with "sshd: KbdInteractiveAuthentication is no, must be yes"
}

@test "doctor: sshd with TCP forwarding left at its default" {
	sed -i '/AllowTcpForwarding/d' "$R/etc/ssh/sshd_config.d/hoop.conf"
	doctor_fails_with "sshd: AllowTcpForwarding is yes (the default), must be no"
}

@test "doctor: sshd with X11 forwarding from the distribution's file" {
	sed -i '/X11Forwarding/d' "$R/etc/ssh/sshd_config.d/hoop.conf"
	doctor_fails_with "sshd: X11Forwarding is yes, must be no"
}

@test "doctor: sshd without ForceCommand, and one under Match" {
	sed -i '/ForceCommand/d' "$R/etc/ssh/sshd_config.d/hoop.conf"
	doctor_fails_with "sshd: ForceCommand is not set, must be /usr/bin/hoop-shell"
	printf 'ForceCommand /usr/bin/hoop-shell\nMatch User admin\n\tForceCommand /bin/bash\n' \
	    >>"$R/etc/ssh/sshd_config.d/hoop.conf"
	run ctl doctor
	[[ "$output" == *"warn  sshd: ForceCommand /usr/bin/hoop-shell, but a Match block sets it too"* ]]
}

@test "doctor: hoop-shell installed without its setuid bit" {
	chmod 2755 "$R/usr/bin/hoop-shell"
	doctor_fails_with "hoop-shell: $R/usr/bin/hoop-shell has mode 2755, not 6755"
}

@test "doctor: hoopctl owned by another group" {
	chgrp 0 "$R/usr/sbin/hoopctl"
	doctor_fails_with "hoopctl: $R/usr/sbin/hoopctl belongs to 0:0, not root:$G"
}

@test "doctor: a wrapper link missing from the sessions' PATH" {
	rm "$R/usr/lib/hoop/bin/psql"
	doctor_fails_with "psql: $R/usr/lib/hoop/bin/psql must be a link to /usr/bin/hoop-pgwrap"
}

@test "doctor: a secret its group may write, and one everyone may read" {
	chmod 0660 "$T/secrets/pg.password"
	doctor_fails_with "target prod secret: $T/secrets/pg.password has mode 0660, not 0640"
	# The configuration itself refuses the second, and says why.
	chmod 0644 "$T/secrets/pg.password"
	doctor_fails_with "is not valid (hoopctl config check)"
	[[ "$output" == *"pg.password\" is accessible by other users"* ]]
}

@test "doctor: the mask key owned by the wrong group" {
	chgrp 0 "$T/secrets/mask-key"
	doctor_fails_with "mask key: $T/secrets/mask-key belongs to 0:0"
}

@test "doctor: a state directory others can enter" {
	chmod 2775 "$T/state"
	doctor_fails_with "state directory: $T/state has mode 2775, not 2770"
}

@test "doctor: a recordings directory without its group" {
	chgrp 0 "$T/state/recordings"
	doctor_fails_with "recordings: $T/state/recordings belongs to 0:0"
}

@test "doctor: a store of an older schema" {
	sqlite3 "$T/state/hoop.db" "PRAGMA user_version = 3"
	doctor_fails_with "store: $T/state/hoop.db cannot be opened"
	[[ "$output" == *"schema version 3, need 4: run 'hoopctl db migrate'"* ]]
}

@test "doctor: a configuration others may write" {
	chmod 0666 "$T/conf/hoop.conf"
	doctor_fails_with "config: $T/conf/hoop.conf has mode 0666, not 0644"
}

@test "doctor: a secrets directory others can enter" {
	chmod 0755 "$R/etc/hoop/secrets"
	doctor_fails_with "secrets directory: $R/etc/hoop/secrets has mode 0755, not 0750"
}

@test "doctor: a configuration directory its group may write" {
	chmod 0775 "$T/conf"
	doctor_fails_with "config directory: $T/conf has mode 0775, not 0755"
}

@test "doctor: an invalid configuration" {
	echo 'bogus = 1' >>"$T/conf/hoop.conf"
	doctor_fails_with "is not valid (hoopctl config check)"
}

@test "doctor: a login shell other than hoop-shell" {
	sed -i 's|^login_shell = .*|login_shell = "/bin/bash"|' "$T/conf/hoop.conf"
	doctor_fails_with "config: login_shell is /bin/bash, must be /usr/bin/hoop-shell"
}

@test "doctor: the reaper's timer not enabled" {
	rm "$R/etc/systemd/system/timers.target.wants/hoop-gc.timer"
	doctor_fails_with "reaper: hoop-gc.timer is not enabled"
}

@test "doctor: an issuer's key file root does not own alone" {
	chown "0:$G" "$T/keys/jwks.json"
	doctor_fails_with "issuer ci keys: $T/keys/jwks.json belongs to 0:$G, not root:root"
}

@test "doctor: fetched keys past their time are a warning" {
	sqlite3 "$T/state/hoop.db" "INSERT INTO jwks_cache (issuer, jwks, fetched_at, expires_at)
	    VALUES ('https://sso.example.test', '{\"keys\":[]}', strftime('%s','now') - 7200,
	    strftime('%s','now') - 3600)"
	run ctl doctor
	[ "$status" -eq 0 ]
	[[ "$output" == *"warn  issuer sso: cached keys expired 3"*" s ago (last fetched 7"*" s ago): the issuer may be unreachable"* ]]
	sqlite3 "$T/state/hoop.db" "UPDATE jwks_cache SET fetched_at = strftime('%s','now') - 60, expires_at = strftime('%s','now') + 3600"
	run ctl doctor
	[[ "$output" == *"ok    issuer sso: keys fetched 6"*" s ago"* ]]
}

@test "doctor: the nss data file others may write" {
	chmod 0666 "$T/nss/passwd.db"
	doctor_fails_with "nss data: $T/nss/passwd.db has mode 0666, not 0644"
}

@test "doctor: no hoop group" {
	run "$HOOPCTL" -c "$T/conf/hoop.conf" doctor --root "$R" --group no-such-group-here
	[ "$status" -eq 1 ]
	[[ "$output" == *"FAIL  group: no-such-group-here does not exist (hoopctl setup)"* ]]
}
