#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# hoop-shell as the ForceCommand of a real sshd: commands with stdin,
# stdout, stderr and exit status; refusals; an interactive session
# driven through tmux; recordings (ttyplay, sealing, echo-off input);
# limits; a killed recorder; a full disk; what the user cannot touch.
#
# hoop-shell is the test build that reads $HOOP_BUILD/tests/shell/hoop.conf,
# copied setuid root and setgid to a group of its own (HOOP_GID) as it is
# installed. The
# normal build logs in with tokens through pam_hoop and nss_hoop; the
# ASan build's module cannot run inside sshd (sshd.bash), so there the
# users are fixed, sshd lets them in, and their leases are written to
# the store directly: hoop-shell itself is the same.
load helpers
load sshd
load issuer

FIX=$HOOP_SRC/tests/fixtures/claims
ISS=https://issuer.shell.test
AUD=https://bastion.acme-corp.example
HOOP_GID=59999
CONF=$HOOP_BUILD/tests/shell/hoop.conf
LOGINS="deploy bulk capped idler shorty approver"

setup_file() {
	P=$(mktemp -d /tmp/hoop-shell.XXXXXX)
	chmod 755 "$P"
	export P
	mkdir -p "$P/bin" "$P/var" "$P/home" "$P/data"
	chgrp "$HOOP_GID" "$P/var"
	chmod 2770 "$P/var"
	mkdir "$P/var/rec"
	# A small disk for the recordings, so that one test can fill it.
	mount -t tmpfs -o size=4m,mode=2770,gid=$HOOP_GID tmpfs "$P/var/rec"
	chmod 755 "$P/home"
	cp "$HOOP_BUILD/tests/shell/hoop-shell" "$P/bin/hoop-shell"
	chown "root:$HOOP_GID" "$P/bin/hoop-shell"
	chmod 6755 "$P/bin/hoop-shell"
	printf 'secret recording test data\n' >"$P/data/file"
	chmod 644 "$P/data/file"
	mint keygen rsa "$P/k.pem"
	mint jwks "$P/k.pem:k1" >"$P/jwks.json"
	cat >"$CONF" <<CONF
store = "$P/var/hoop.db"
recordings = "$P/var/rec"
home_base = "$P/home"
login_shell = "$P/bin/hoop-shell"
shell_path = {"/usr/bin", "/bin"}

issuer "ci" {
	url = "$ISS"
	audience = {"$AUD"}
	jwks_file = "$P/jwks.json"
}
identity "deploy" {
	issuer = "ci"
	claim "repository" { equals = {"acme/deploy"} }
	login = "deploy"
	groups = {"deployers"}
	home = false
}
identity "bulk" {
	issuer = "ci"
	claim "repository" { equals = {"acme/bulk"} }
	login = "bulk"
	groups = {"deployers"}
	home = false
	recording_max_size = "256K"
	recording_limit = "skip"
}
identity "capped" {
	issuer = "ci"
	claim "repository" { equals = {"acme/capped"} }
	login = "capped"
	groups = {"deployers"}
	home = false
	recording_max_size = "64K"
	record_input = false
}
identity "idler" {
	issuer = "ci"
	claim "repository" { equals = {"acme/idler"} }
	login = "idler"
	groups = {"deployers"}
	home = false
	idle_timeout = "2s"
}
identity "shorty" {
	issuer = "ci"
	claim "repository" { equals = {"acme/shorty"} }
	login = "shorty"
	groups = {"deployers"}
	home = false
	max_session = "3s"
	token_grace = "0s"
}
identity "approver" {
	issuer = "ci"
	claim "repository" { equals = {"acme/approver"} }
	login = "approver"
	groups = {"sre"}
	home = false
}
target "prod" {
	type = "postgres"
	host = "127.0.0.1"
	user = "app"
}
policy "deployers" {
	groups = {"deployers"}
	targets = {"prod"}
	rule "tools" {
		action = "allow"
		commands = {"cat", "echo", "printf", "sh", "sleep", "head",
		    "printenv", "true", "false", "id", "stty"}
	}
	rule "no-rm" {
		action = "deny"
		reason = "nothing is deleted from here"
		commands = {"rm"}
	}
	rule "reviewed" {
		action = "approve"
		commands = {"date"}
		approvers = {"sre"}
	}
}
CONF
	hoop_ready "$CONF"
	fix_store_modes
	T=$P
	local extra="ForceCommand $P/bin/hoop-shell
AllowTcpForwarding no
PermitTTY yes"
	if sshd_can_host_module; then
		SSHD_USERS="" SSHD_NSS=1
		sshd_start "$(hoop_pam_stack "$CONF")" "$extra"
	else
		SSHD_USERS="deploy:60100 bulk:60101 capped:60102 idler:60103 shorty:60104 approver:60105"
		# hoop-shell is their login shell, as nss_hoop hands it out:
		# a shell that stays to wait for it would hold the terminal.
		SSHD_USER_SHELL=$P/bin/hoop-shell \
		sshd_start "auth required pam_permit.so
account required pam_permit.so
session required pam_permit.so" "$extra"
		local now i=0 login
		now=$(date +%s)
		for login in $LOGINS; do
			sqlite3 -cmd '.timeout 10000' "$P/var/hoop.db" "INSERT INTO leases
			    (login, uid, identity, issuer, subject, claims_digest,
			    created_at, expires_at, groups) VALUES ('$login',
			    $((60100 + i)), '$login', 'ci', 'repo:acme/$login', 'x',
			    $now, $((now + 3600)), '$([ "$login" = approver ] && echo sre || echo deployers)')"
			i=$((i + 1))
		done
	fi
	export SSHD_DIR SSHD_PORT SSHD_NS_PID
}

teardown_file() {
	tmux -L "hoop-shell-${P##*/}" kill-server 2>/dev/null || true
	sshd_stop
	umount -l "$P/var/rec" 2>/dev/null
	rm -rf "$P"
}

# Group hoop (HOOP_GID) owns the store, as `make install` sets it up.
fix_store_modes() {
	chgrp "$HOOP_GID" "$P/var"/hoop.db*
	chmod 0660 "$P/var"/hoop.db*
}

token_for() {	# LOGIN
	mint sign --kid k1 "$P/k.pem" "$FIX/github-actions-claims.json" \
		--set iss="\"$ISS\"" --set repository="\"acme/$1\"" --set sub="\"repo:acme/$1\"" \
		--time iat=-5 --time nbf=-10 --time exp=600
}

# on LOGIN CMD...: ssh to the bastion as LOGIN (stdin from the caller).
on() {
	local login=$1; shift
	token_for "$login" >"$P/token.$login"
	HOOP_TOKEN_FILE=$P/token.$login \
	SSH_ASKPASS=$HOOP_BUILD/hoop-askpass SSH_ASKPASS_REQUIRE=force DISPLAY= \
	setsid -w ssh -F /dev/null -p "$SSHD_PORT" \
		-o UserKnownHostsFile="$SSHD_DIR/known_hosts" \
		-o StrictHostKeyChecking=yes -o BatchMode=no \
		-o PreferredAuthentications=keyboard-interactive \
		-o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 \
		${SSH_OPTS:-} "$login@127.0.0.1" "$@"
}

db() {
	sqlite3 -cmd '.timeout 10000' "$P/var/hoop.db" "$@"
}

# The newest session of LOGIN.
last_session() {
	db "SELECT id FROM sessions WHERE login = '$1' ORDER BY started_at DESC, rowid DESC LIMIT 1"
}

frames() {	# SESSION: the recording's frames, one per line
	"$HOOP_BUILD/tests/hoop-rec-sample" -d "$P/var/rec" "$1"
}

# Interactive sessions: ssh -tt inside a tmux pane of 100x30.
# A tmux server of this run's own (another run may be going on).
TMUX_SOCK=hoop-shell-${P##*/}
tmux_start() {	# NAME LOGIN
	token_for "$2" >"$P/token.$2"
	tmux -L "$TMUX_SOCK" new-session -d -s "$1" -x 100 -y 30 \
		"env HOOP_TOKEN_FILE=$P/token.$2 SSH_ASKPASS=$HOOP_BUILD/hoop-askpass \
		SSH_ASKPASS_REQUIRE=force DISPLAY= ssh -tt -F /dev/null -p $SSHD_PORT \
		-o UserKnownHostsFile=$SSHD_DIR/known_hosts -o StrictHostKeyChecking=yes \
		-o PreferredAuthentications=keyboard-interactive $2@127.0.0.1; \
		echo SSH-EXITED-\$?; sleep 60"
}

screen() {
	tmux -L "$TMUX_SOCK" capture-pane -p -t "$1"
}

# wait_screen NAME TEXT: until the pane shows TEXT (10 s).
wait_screen() {
	local i
	for i in $(seq 200); do
		screen "$1" | grep -qF -- "$2" && return 0
		sleep 0.05
	done
	echo "pane $1 never showed: $2"; screen "$1"
	return 1
}

# wait_prompt NAME LOGIN: until the pane's last line is a fresh prompt
# (input typed while a command runs is the command's).
wait_prompt() {
	local i
	for i in $(seq 200); do
		[ "$(screen "$1" | grep -v '^$' | tail -n 1)" = "$2@hoop>" ] && return 0
		sleep 0.05
	done
	echo "pane $1 never came back to the prompt"; screen "$1"
	return 1
}

keys() {	# NAME KEYS...
	local name=$1; shift
	tmux -L "$TMUX_SOCK" send-keys -t "$name" "$@"
}

@test "a command runs with stdin, stdout, stderr and exit status passed through" {
	run on deploy cat <"$P/data/file"
	[ "$status" -eq 0 ] || { echo "$output"; sshd_syslog | tail -5; false; }
	[ "$output" = "secret recording test data" ]
	# ssh joins its arguments into one line: quote for the bastion.
	run --separate-stderr on deploy "sh -c 'echo out; echo err >&2; exit 7'"
	[ "$status" -eq 7 ]
	[ "$output" = "out" ]
	[ "$stderr" = "err" ]
}

@test "quoting is honoured and nothing is expanded" {
	run on deploy "printf '%s|' 'a b' \"c  d\" e\\ f '\$HOME'"
	[ "$status" -eq 0 ]
	[ "$output" = 'a b|c  d|e f|$HOME|' ]
}

@test "a command no rule allows, and a denied one, are refused with the reason" {
	run on deploy uname -a
	[ "$status" -eq 126 ]
	[[ "$output" == *"uname: no rule allows it"* ]]
	run on deploy rm -rf /tmp/x
	[ "$status" -eq 126 ]
	[[ "$output" == *"rm: nothing is deleted from here"* ]]
	sid=$(last_session deploy)
	run db "SELECT decision || ' ' || rule || ' ' || action FROM audit_events WHERE kind = 'shell' AND session_id = '$sid'"
	[ "$output" = "deny no-rm rm -rf /tmp/x" ]
}

# as_principal LOGIN CMD...: CMD under LOGIN's leased uid (and the
# store's group, which the installed hoopctl has by setgid).
as_principal() {
	local login=$1 uid; shift
	uid=$(db "SELECT uid FROM leases WHERE login = '$login' AND ended_at IS NULL")
	setpriv --reuid "$uid" --regid "$HOOP_GID" --clear-groups "$@"
}

# The newest pending approval request.
pending_request() {
	local i id
	for i in $(seq 100); do
		id=$(db "SELECT id FROM approvals WHERE status = 'pending' ORDER BY created_at DESC, rowid DESC LIMIT 1")
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.1
	done
	return 1
}

@test "a command that needs approval waits, and runs once another identity approves" {
	on approver true || true
	on deploy date >"$P/approve.out" 2>&1 3>&- &
	id=$(pending_request) || { cat "$P/approve.out"; kill %1; false; }
	# No one approves their own request.
	run as_principal deploy "$HOOPCTL" -c "$CONF" approvals approve "$id"
	[ "$status" -ne 0 ]
	run as_principal approver "$HOOPCTL" -c "$CONF" approvals approve "$id" --reason "looks fine"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	wait $!
	grep -q "$id" "$P/approve.out"
	grep -Eq '[0-9]{2}:[0-9]{2}:[0-9]{2}' "$P/approve.out"
	sid=$(last_session deploy)
	run db "SELECT decision FROM audit_events WHERE kind = 'shell' AND session_id = '$sid' ORDER BY seq"
	[ "$output" = "approve
allow" ]
}

@test "a command whose approval is denied does not run" {
	on approver true || true
	on deploy date >"$P/deny.out" 2>&1 3>&- &
	pid=$!
	id=$(pending_request)
	run as_principal approver "$HOOPCTL" -c "$CONF" approvals deny "$id" --reason "not today"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	status=0
	wait $pid || status=$?
	[ "$status" -eq 126 ]
	grep -q "not today" "$P/deny.out"
	if grep -Eq '[0-9]{2}:[0-9]{2}:[0-9]{2} ' "$P/deny.out"; then false; fi
}

@test "shell metacharacters are refused, with what was found" {
	local line
	for line in 'echo a; id' 'echo a && id' 'echo a | cat' 'echo a > /tmp/x' \
	    'echo $HOME' 'echo `id`' 'echo $(id)' 'cat /etc/*' 'echo {a,b}' 'cat ~/x'; do
		run on deploy "$line"
		[ "$status" -eq 126 ] || { echo "not refused: $line"; return 1; }
		[[ "$output" == *"hoop: refused: "*"not allowed"* ]] || { echo "$line: $output"; return 1; }
	done
	run on deploy /bin/id
	[ "$status" -eq 126 ]
	[[ "$output" == *"not a command name"* ]]
}

@test "the command's environment is built from an allowlist" {
	run on deploy printenv
	[ "$status" -eq 0 ]
	[[ "$output" == *"HOOP_SESSION_ID="* ]]
	[[ "$output" == *"PATH=/usr/bin:/bin"* ]]
	[[ "$output" != *"SSH_ORIGINAL_COMMAND"* ]]
	[[ "$output" != *"HOOP_AUTH_ID"* ]]
	[[ "$output" != *"LD_"* ]]
	# The session's own terminal is not handed to commands.
	[[ "$output" != *"SSH_TTY"* ]]
	sid=$(last_session deploy)
	[[ "$output" == *"HOOP_SESSION_ID=$sid"* ]]
}

@test "the command runs with the user's rights only" {
	run on deploy id -G
	[ "$status" -eq 0 ]
	[[ " $output " != *" $HOOP_GID "* ]]
	run on deploy cat /proc/self/status
	[ "$status" -eq 0 ]
	gids=$(echo "$output" | awk '/^Gid:/ {print $2, $3, $4, $5}')
	[[ " $gids " != *" $HOOP_GID "* ]]
}

@test "a session is recorded and sealed: output, commands, decisions, exit" {
	run on deploy "sh -c 'echo recorded-output; exit 3'"
	[ "$status" -eq 3 ]
	sid=$(last_session deploy)
	run db "SELECT recording = id, seal IS NOT NULL, ended_at IS NOT NULL FROM sessions WHERE id = '$sid'"
	[ "$output" = "1|1|1" ]
	run frames "$sid"
	[ "$status" -eq 0 ]
	[[ "$output" == *"recorded-output"* ]]
	[[ "$output" == *"allow"*"tools"* ]]
	[[ "$output" == *"exit"*"3"* ]]
	# The recorded output is plain ttyrec.
	ttyplay -n "$P/var/rec/$sid/output.ttyrec" >"$P/played" 2>/dev/null </dev/null || true
	grep -q recorded-output "$P/played"
}

@test "with pam_hoop, the recording takes the session row pam_hoop opened" {
	sshd_can_host_module || skip "the ASan build's module runs outside sshd (see sshd.bash)"
	before=$(db "SELECT count(*) FROM sessions WHERE login = 'deploy'")
	run on deploy true
	[ "$status" -eq 0 ]
	after=$(db "SELECT count(*) FROM sessions WHERE login = 'deploy'")
	[ "$after" -eq $((before + 1)) ]
	sid=$(last_session deploy)
	run db "SELECT recording = id, remote FROM sessions WHERE id = '$sid'"
	[ "$output" = "1|127.0.0.1" ]
}

@test "scp, sftp and rsync are refused, and so is port forwarding" {
	run on deploy scp -t /tmp
	[ "$status" -ne 0 ]
	[[ "$output" == *"scp: no rule allows it"* ]]
	run scp -F /dev/null -P "$SSHD_PORT" -o UserKnownHostsFile="$SSHD_DIR/known_hosts" \
		-o BatchMode=yes -o PreferredAuthentications=keyboard-interactive \
		"$P/data/file" "deploy@127.0.0.1:/tmp/" </dev/null
	[ "$status" -ne 0 ]
	run on deploy rsync --server -e.LsfxCIvu . /tmp
	[ "$status" -eq 126 ]
	run db "SELECT count(*) FROM audit_events WHERE kind = 'shell' AND decision = 'deny' AND action LIKE 'rsync%'"
	[ "$output" -ge 1 ]
	# Forwarding is refused when a connection comes through it.
	port=$(free_port)
	SSH_OPTS="-L 127.0.0.1:$port:127.0.0.1:$SSHD_PORT" on deploy sleep 3 \
		</dev/null >/dev/null 2>&1 3>&- &
	for _ in $(seq 50); do
		ss -Hltn "sport = :$port" | grep -q . && break
		sleep 0.1
	done
	run timeout 5 socat -T 2 - "TCP:127.0.0.1:$port" </dev/null
	[[ "$output" != *"SSH-2.0"* ]]
	wait
	grep -q "refused local port forward" "$SSHD_DIR/sshd.log"
}

@test "an interactive session: prompt, completion, history, a refusal, a password never recorded" {
	tmux_start t1 deploy
	wait_screen t1 "deploy@hoop>"
	keys t1 "ech" Tab
	wait_screen t1 "deploy@hoop> echo"
	keys t1 "interactive-hello" Enter
	wait_screen t1 "interactive-hello"
	wait_prompt t1 deploy
	keys t1 "rm x" Enter
	wait_screen t1 "rm: nothing is deleted from here"
	wait_prompt t1 deploy
	keys t1 Up Up Enter
	wait_prompt t1 deploy
	[ "$(screen t1 | grep -c 'interactive-hello')" -ge 3 ]
	keys t1 "sh -c 'stty -echo; read -r pw; stty echo; echo got-\${#pw}-chars'" Enter
	sleep 0.5
	keys t1 "hunter2-secret" Enter
	wait_screen t1 "got-14-chars"
	wait_prompt t1 deploy
	keys t1 "exit" Enter
	wait_screen t1 "SSH-EXITED-0"
	sid=$(last_session deploy)
	run frames "$sid"
	[[ "$output" == *"interactive-hello"* ]]
	# Typed with echo off: an INPUT_WITHHELD frame ('h') in its place.
	echo "$output" | awk '$2 == "h"' | grep -q .
	if grep -r -q hunter2-secret "$P/var/rec/$sid"; then false; fi
	# Replayed, the output shows what the user saw.
	ttyplay -n "$P/var/rec/$sid/output.ttyrec" >"$P/played" 2>/dev/null </dev/null || true
	grep -q "nothing is deleted from here" "$P/played"
}

@test "echo off withholds one line, not what is typed after it; a paste runs every line" {
	tmux_start t3 deploy
	wait_screen t3 "deploy@hoop>"
	keys t3 "sh -c 'stty -echo; read -r a; read -r b; stty echo; echo done-\$a-\$b'" Enter
	sleep 0.5
	keys t3 "first-secret" Enter
	sleep 0.3
	keys t3 "second-visible" Enter
	wait_screen t3 "done-first-secret-second-visible"
	wait_prompt t3 deploy
	keys t3 "echo paste-one" C-m "echo paste-two" C-m
	wait_screen t3 "paste-two"
	wait_prompt t3 deploy
	keys t3 "exit" Enter
	wait_screen t3 "SSH-EXITED-0"
	sid=$(last_session deploy)
	if grep -q first-secret "$P/var/rec/$sid/events.hrec"; then false; fi
	grep -q second-visible "$P/var/rec/$sid/events.hrec"
	screen t3 | grep -qx "paste-one"
	run db "SELECT count(*) FROM audit_events WHERE session_id = '$sid' AND action LIKE 'echo paste-%'"
	[ "$output" = "2" ]
}

@test "an idle interactive session is ended with a message" {
	tmux_start t2 idler
	wait_screen t2 "idler@hoop>"
	wait_screen t2 "session ended: idle for 2 seconds"
	wait_screen t2 "SSH-EXITED-"
	sid=$(last_session idler)
	run db "SELECT end_reason FROM sessions WHERE id = '$sid'"
	[ "$output" = "idle for 2 seconds" ]
}

@test "the session's time limit ends a running command" {
	start=$(date +%s)
	run on shorty sleep 30
	[ "$status" -ne 0 ]
	[[ "$output" == *"session ended: the session reached its time limit"* ]]
	[ $(( $(date +%s) - start )) -lt 20 ]
	sid=$(last_session shorty)
	run frames "$sid"
	[[ "$output" == *"time limit"* ]]
}

@test "a client that stops reading cannot keep a command past the time limit" {
	on shorty "head -c 200000000 /dev/zero" 2>"$P/stall.err" | { sleep 8; wc -c; } >"$P/stall.count"
	[ "$(cat "$P/stall.count")" -lt 200000000 ]
	sid=$(last_session shorty)
	run db "SELECT end_reason FROM sessions WHERE id = '$sid'"
	[ "$output" = "the session reached its time limit" ]
	# Ended at the limit (3 s, the alarm a second later), not once the
	# client read again (8 s).
	run db "SELECT ended_at - started_at FROM sessions WHERE id = '$sid'"
	[ "$output" -le 6 ]
}

@test "bulk output past the size limit: everything shown, recording paused with markers" {
	on bulk head -c 2000000 /dev/urandom | wc -c >"$P/count"
	[ "$(cat "$P/count")" -eq 2000000 ]
	sid=$(last_session bulk)
	size=$(du -sb "$P/var/rec/$sid" | cut -f1)
	[ "$size" -lt 1000000 ]
	# PAUSE ('p') and RESUME ('r') frames mark what was not recorded.
	frames "$sid" | awk '$2 == "p"' | grep -q .
}

@test "past the size limit with policy end, the session is ended" {
	run on capped head -c 1000000 /dev/urandom
	[ "$status" -ne 0 ]
	sid=$(last_session capped)
	run db "SELECT end_reason FROM sessions WHERE id = '$sid'"
	[[ "$output" == *"recording"* ]]
	size=$(du -sb "$P/var/rec/$sid" | cut -f1)
	[ "$size" -lt 200000 ]
}

@test "input is not recorded for an identity that says so" {
	echo "piped-input-line" | on capped cat >/dev/null
	sid=$(last_session capped)
	if grep -r -q piped-input-line "$P/var/rec/$sid/events.hrec"; then false; fi
	grep -q piped-input-line "$P/var/rec/$sid/output.ttyrec"
}

@test "SIGKILL of hoop-shell: the command dies, the recording stays readable, gc closes the row" {
	on deploy "sh -c 'echo before-kill; exec sleep 67'" >"$P/killed.out" 2>&1 3>&- &
	local i pid=
	for i in $(seq 100); do
		pid=$(pgrep -n -x hoop-shell || true)
		[ -n "$pid" ] && grep -q before-kill "$P/killed.out" 2>/dev/null && break
		sleep 0.1
	done
	[ -n "$pid" ]
	sid=$(db "SELECT id FROM sessions WHERE pid = $pid")
	kill -9 "$pid"
	wait || true
	sleep 0.3
	# (a zombie no one reaps, under a container's PID 1, runs nothing)
	if ps -eo stat=,args= | grep -v '^Z' | grep -q ' sleep 67$'; then false; fi
	run db "SELECT seal IS NULL FROM sessions WHERE id = '$sid'"
	[ "$output" = "1" ]
	run frames "$sid"
	[[ "$output" == *"before-kill"* ]]
	"$HOOPCTL" -c "$CONF" gc >/dev/null
	run db "SELECT ended_at IS NOT NULL, end_reason FROM sessions WHERE id = '$sid'"
	[ "$output" = "1|recorder gone" ]
}

@test "the user cannot read, change or delete recordings, nor find them through hoop-shell" {
	run on deploy "sh -c 'ls $P/var/rec'"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	sid=$(last_session deploy)
	run on deploy "sh -c 'cat $P/var/rec/$sid/output.ttyrec'"
	[[ "$output" == *"Permission denied"* ]]
	run on deploy "sh -c 'rm -rf $P/var/rec/$sid; ls -d $P/var/rec/$sid'"
	[ -d "$P/var/rec/$sid" ]
	run on deploy "sh -c 'echo x >>$P/var/hoop.db'"
	[[ "$output" == *"Permission denied"* ]]
	# The recorder's /proc files are not the user's (not dumpable).
	run on deploy "sh -c 'ls -l /proc/\$PPID/fd/ 2>&1; cat /proc/\$PPID/environ 2>&1'"
	[[ "$output" == *"Permission denied"* ]]
	[[ "$output" != *"HOOP_"* ]]
}

@test "the environment cannot redirect the recording or take another session's row" {
	sshd_can_host_module || skip "needs pam_hoop's session rows"
	run on deploy true
	other=$(db "SELECT id FROM sessions WHERE login = 'bulk' LIMIT 1")
	[ -n "$other" ]
	# hoop-shell run by the user's own command, with a hostile
	# environment: its recording still goes to the configured place, as
	# a new row of its own lease.
	run on deploy "sh -c 'HOOP_SESSION_ID=$other HOME=/tmp TMPDIR=/tmp SSH_ORIGINAL_COMMAND=id $P/bin/hoop-shell -c \"echo nested\"'"
	[[ "$output" == *"nested"* ]]
	run db "SELECT count(*) FROM sessions WHERE id = '$other' AND login = 'bulk'"
	[ "$output" = "1" ]
	nested=$(db "SELECT id FROM sessions WHERE command = 'echo nested'")
	[ -n "$nested" ]
	[ -d "$P/var/rec/$nested" ]
	run db "SELECT login FROM sessions WHERE id = '$nested'"
	[ "$output" = "deploy" ]
}

@test "a full disk ends the session; nothing runs unrecorded" {
	# Fill the recordings' small tmpfs, less a little.
	dd if=/dev/zero of="$P/var/rec/filler" bs=64k count=200 2>/dev/null || true
	run on deploy head -c 3000000 /dev/urandom
	[ "$status" -ne 0 ]
	[[ "$output" == *"recording failed"* ]] || [[ "$output" == *"cannot"* ]]
	[ "${#output}" -lt 3000000 ]
	rm -f "$P/var/rec/filler"
	sid=$(last_session deploy)
	rm -rf "${P:?}/var/rec/$sid"
}

@test "the user's commands can neither stop nor kill the recorder" {
	run on deploy "sh -c 'kill -STOP \$PPID; echo stop=\$?; kill -KILL \$PPID; echo kill=\$?; echo alive'"
	[ "$status" -eq 0 ]
	[[ "$output" == *"stop=1"* ]]
	[[ "$output" == *"kill=1"* ]]
	[[ "$output" == *"alive"* ]]
	sid=$(last_session deploy)
	run db "SELECT seal IS NOT NULL, end_reason FROM sessions WHERE id = '$sid'"
	[ "$output" = "1|exit" ]
}

@test "what a command leaves behind is killed when it ends, in its own session or not" {
	run on deploy "sh -c 'setsid sleep 171 </dev/null >/dev/null 2>&1 & (setsid sh -c \"sleep 172\" </dev/null >/dev/null 2>&1 &); sleep 0.2; echo started'"
	[ "$status" -eq 0 ]
	[[ "$output" == *"started"* ]]
	sleep 0.3
	run pgrep -f "^sleep 17[12]"
	[ "$status" -ne 0 ] || { echo "left running: $output"; false; }
}

@test "the session's terminal is taken from the user while hoop-shell runs" {
	local pid i tty owner
	tmux_start ttyown deploy
	wait_prompt ttyown deploy
	for i in $(seq 50); do
		pid=$(db "SELECT pid FROM sessions WHERE login = 'deploy' AND ended_at IS NULL AND command IS NULL ORDER BY rowid DESC LIMIT 1")
		[ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ]
	tty=$(readlink "/proc/$pid/fd/0")
	[[ "$tty" == /dev/pts/* ]]
	run stat -L -c '%u %a' "/proc/$pid/fd/0"
	[ "$output" = "0 600" ]
	uid=$(db "SELECT uid FROM leases WHERE login = 'deploy' ORDER BY rowid DESC LIMIT 1")
	# The user's own processes cannot open it by its name (sshd's mount
	# namespace holds the name).
	run nsenter -t "$SSHD_NS_PID" -m setpriv --reuid "$uid" --regid "$uid" --clear-groups \
		sh -c "echo BYPASS >$tty"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	if screen ttyown | grep -q BYPASS; then false; fi
	# The command's own terminal is the user's.
	keys ttyown "sh -c 'stat -c %u \$(tty)'" Enter
	wait_screen ttyown "$uid"
	keys ttyown "exit" Enter
	wait_screen ttyown "SSH-EXITED-"
	tmux -L "$TMUX_SOCK" kill-session -t ttyown
}

@test "a process of the user that opened the terminal before hoop-shell took it is killed" {
	run on deploy true
	uid=$(db "SELECT uid FROM leases WHERE login = 'deploy' ORDER BY rowid DESC LIMIT 1")
	# A terminal as sshd hands it over (the user's, 0620), already open
	# in another process of the user when hoop-shell starts on it.
	run python3 - "$uid" "$P/bin/hoop-shell" <<'PY'
import os, pty, subprocess, sys, time
uid, shell = sys.argv[1], sys.argv[2]
drop = ["setpriv", "--reuid", uid, "--regid", uid, "--clear-groups"]
master, slave = pty.openpty()
os.fchmod(slave, 0o620)
os.fchown(slave, int(uid), -1)
holder = subprocess.Popen(drop + ["sleep", "100"], stdin=slave,
                          stdout=subprocess.DEVNULL)
time.sleep(0.3)
sh = subprocess.Popen(drop + [shell, "-c", "echo hello-from-session"],
                      stdin=slave, stdout=slave, stderr=slave)
out = b""
while sh.poll() is None:
    try:
        os.set_blocking(master, False)
        out += os.read(master, 4096)
    except (BlockingIOError, OSError):
        time.sleep(0.05)
time.sleep(0.1)
try:
    out += os.read(master, 65536)
except OSError:
    pass
st = os.fstat(slave)
print("shell", sh.returncode, "holder", holder.wait(timeout=5),
      "tty", st.st_uid, oct(st.st_mode & 0o777))
print(out.decode(errors="replace"))
# A login shell that waits for hoop-shell instead of becoming it keeps
# the terminal: the session is refused rather than left open to it.
master, slave = pty.openpty()
os.fchmod(slave, 0o620)
os.fchown(slave, int(uid), -1)
sh = subprocess.run(drop + ["sh", "-c", shell + " -c 'echo hi'; true"],
                    stdin=slave, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, timeout=20)
print("waiting-shell", sh.stdout.decode(errors="replace"))
# Someone without a lease runs hoop-shell on their own terminal: refused,
# and their terminal is left as it was.
master, slave = pty.openpty()
os.fchmod(slave, 0o620)
os.fchown(slave, 60999, -1)
sh = subprocess.run(["setpriv", "--reuid", "60999", "--regid", "60999",
                     "--clear-groups", shell, "-c", "echo hi"],
                    stdin=slave, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, timeout=20)
st = os.fstat(slave)
print("no-lease", sh.returncode, st.st_uid, oct(st.st_mode & 0o777),
      sh.stdout.decode(errors="replace").strip())
PY
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == *"shell 0 holder -9 tty 0 0o600"* ]]
	[[ "$output" == *"hello-from-session"* ]] || { echo "$output"; false; }
	[[ "$output" == *"waiting-shell hoop-shell: the login shell that started hoop-shell keeps the session's terminal open"* ]]
	[[ "$output" == *"no-lease 1 60999 0o620 hoop-shell: uid 60999 has no live hoop lease"* ]]
}

@test "no live lease: hoop-shell refuses to start" {
	run setpriv --reuid 60999 --regid 60999 --clear-groups "$P/bin/hoop-shell" -c "echo hi"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no live hoop lease"* ]]
}
