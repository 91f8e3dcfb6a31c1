#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# hoop-ssh (libssh) against the real sshd with pam_hoop: commands with
# stdin and exit status, a pty session, host key checks, refused tokens,
# large tokens, and the tokens of GitHub Actions and GitLab CI.
#
# The ASan build's pam_hoop cannot run inside sshd (sshd.bash): there the
# sshd refuses every login (pam_deny), which still exercises the client's
# connection, host key, token and refusal paths under the sanitizers;
# tests that need a login skip.
load helpers
load sshd
load issuer
load ci-runtime

AUD=https://bastion.acme-corp.example
FIX=$HOOP_SRC/tests/fixtures/claims
HOOP_SSH=$HOOP_BUILD/hoop-ssh

setup_file() {
	P=$(mktemp -d /tmp/hoop-ssh.XXXXXX)
	chmod 755 "$P"
	export P
	# No token of a real `hoop-ssh login` may stand in for a missing one.
	export XDG_CACHE_HOME=$P/no-cache
	issuer_setup "$P/issuer"
	mint keygen rsa "$P/gh.pem"
	mint keygen rsa "$P/gl.pem"
	issuer_add github "$P/gh.pem:gh-1"
	issuer_add gitlab "$P/gl.pem:gl-1"
	issuer_start
	cat >"$P/hoop.conf" <<CONF
store = "$P/hoop.db"
recordings = "$P/rec"
clock_skew = "30s"
home_base = "$P/home"
login_shell = "/bin/sh"

issuer "github" {
	url = "$(issuer_url github)"
	audience = {"$AUD"}
	algorithms = {"RS256"}
	ca_file = "$ISSUER_CA"
}
issuer "gitlab" {
	url = "$(issuer_url gitlab)"
	audience = {"$AUD"}
	algorithms = {"RS256"}
	ca_file = "$ISSUER_CA"
}
identity "gh-deploy" {
	issuer = "github"
	claim "repository" { equals = {"acme-corp/payments-api"} }
	claim "ref" { equals = {"refs/heads/main"} }
	login = "deploy"
	groups = {"deployers"}
}
identity "gl-deploy" {
	issuer = "gitlab"
	claim "project_path" { equals = {"platform/billing-service"} }
	login = "gldeploy"
}
CONF
	hoop_ready "$P/hoop.conf"
	export NSSDB
	mkdir -m 0755 "$P/home"
	T=$P
	if sshd_can_host_module; then
		SSHD_USERS="" SSHD_NSS=1
		sshd_start "$(hoop_pam_stack "$P/hoop.conf")"
	else
		# Neither module of this build can load into sshd: fixed
		# users, and two servers: one that refuses every login (the
		# token paths), one that lets anyone in without a question
		# (the client's I/O, under the sanitizers).
		SSHD_USERS="deploy:60100 gldeploy:60101"
		T=$P/open
		mkdir -p "$T"
		sshd_start "auth required pam_permit.so
account required pam_permit.so
session required pam_permit.so"
		OPEN_DIR=$SSHD_DIR OPEN_PORT=$SSHD_PORT OPEN_NS_PID=$SSHD_NS_PID
		T=$P
		sshd_start "auth required pam_deny.so
account required pam_deny.so
session required pam_deny.so"
	fi
	export SSHD_DIR SSHD_PORT SSHD_NS_PID
	# Where the I/O tests log in: the pam_hoop server, or the open one.
	IO_PORT=${OPEN_PORT:-$SSHD_PORT} IO_DIR=${OPEN_DIR:-$SSHD_DIR}
	export OPEN_DIR OPEN_PORT OPEN_NS_PID IO_PORT IO_DIR
	ssh-keygen -lf "$SSHD_DIR/host_key.pub" | awk '{ print $2 }' >"$P/fingerprint"
	runtime_start "$P/runtime" "runtime-request-secret" "$AUD"
}

teardown_file() {
	runtime_stop
	sshd_stop
	if [ -n "${OPEN_DIR:-}" ]; then
		SSHD_DIR=$OPEN_DIR SSHD_NS_PID=$OPEN_NS_PID sshd_stop
	fi
	issuer_stop
	rm -rf "$P"
}

gh_token() {
	mint sign --kid gh-1 "$P/gh.pem" "$FIX/github-actions-claims.json" \
		--set iss="\"$(issuer_url github)\"" --time iat=-5 --time nbf=-10 \
		--time exp=600 "$@"
}

gl_token() {
	mint sign --kid gl-1 "$P/gl.pem" "$FIX/gitlab-ci-claims.json" \
		--set iss="\"$(issuer_url gitlab)\"" --time iat=-5 --time nbf=-10 \
		--time exp=600 "$@"
}

# hoop-ssh with the test sshd's port and known_hosts, no CI environment.
hssh() {
	env -u HOOP_TOKEN -u HOOP_TOKEN_FILE -u ACTIONS_ID_TOKEN_REQUEST_URL \
		-u ACTIONS_ID_TOKEN_REQUEST_TOKEN -u GITHUB_ACTIONS -u GITLAB_CI \
		-u HOOP_ID_TOKEN -u HOOP_SSH_HOST_KEY \
		"$HOOP_SSH" -p "$SSHD_PORT" --known-hosts "$SSHD_DIR/known_hosts" \
		--connect-timeout 10 "$@"
}

# The same as an argument vector, for pipelines under bash -c.
hssh_argv() {
	HSSH=(env -u HOOP_TOKEN -u HOOP_TOKEN_FILE -u ACTIONS_ID_TOKEN_REQUEST_URL
		-u ACTIONS_ID_TOKEN_REQUEST_TOKEN -u GITHUB_ACTIONS -u GITLAB_CI
		-u HOOP_ID_TOKEN -u HOOP_SSH_HOST_KEY "$HOOP_SSH" -p "$SSHD_PORT"
		--known-hosts "$SSHD_DIR/known_hosts" --connect-timeout 10)
}

# hoop-ssh to the server of the I/O tests.
hssh_io() {
	env -u HOOP_TOKEN -u HOOP_TOKEN_FILE "$HOOP_SSH" -p "$IO_PORT" \
		--known-hosts "$IO_DIR/known_hosts" --connect-timeout 10 "$@"
}

hssh_io_argv() {
	HSSH=(env -u HOOP_TOKEN -u HOOP_TOKEN_FILE "$HOOP_SSH" -p "$IO_PORT"
		--known-hosts "$IO_DIR/known_hosts" --connect-timeout 10)
}

needs_login() {
	sshd_can_host_module || skip "the ASan build's module runs outside sshd (see sshd.bash)"
}

# The newest authentication decision in the audit log.
last_auth_reason() {
	"$HOOPCTL" -c "$P/hoop.conf" audit list --json |
		jq -r 'select(.kind == "auth") | .decision + ": " + .reason' | tail -n 1
}

auth_events() {
	"$HOOPCTL" -c "$P/hoop.conf" audit list --json | jq -c 'select(.kind == "auth")' | wc -l
}

@test "a command gets stdin and its exit status comes back" {
	gh_token >"$P/tok"
	hssh_io_argv
	run bash -c 'echo hi | "$@"' - "${HSSH[@]}" --token-file "$P/tok" deploy@127.0.0.1 'cat; exit 3'
	echo "$output"
	[ "$status" -eq 3 ]
	[ "$output" = hi ]
}

@test "stdout and stderr stay apart; the command's words are joined like ssh" {
	gh_token >"$P/tok"
	run --separate-stderr hssh_io --token-file "$P/tok" deploy@127.0.0.1 echo out '&&' echo err '>&2'
	[ "$status" -eq 0 ]
	[ "$output" = out ]
	[ "$stderr" = err ]
}

@test "1 MB through cat and back, byte for byte" {
	gh_token >"$P/tok"
	head -c 1048576 /dev/urandom >"$P/in"
	hssh_io --token-file "$P/tok" deploy@127.0.0.1 cat <"$P/in" >"$P/out"
	cmp "$P/in" "$P/out"
}

@test "the session is pam_hoop's: the principal, identity and groups" {
	needs_login
	gh_token >"$P/tok"
	run hssh --token-file "$P/tok" deploy@127.0.0.1 'id -un; echo $HOOP_IDENTITY $HOOP_GROUPS' </dev/null
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = deploy ]
	[ "${lines[1]}" = "gh-deploy deployers" ]
}

@test "a 4 KB token is answered whole at the first prompt" {
	needs_login
	gh_token --pad 2600 >"$P/tok"
	[ "$(wc -c <"$P/tok")" -gt 4096 ]
	mark=$(sshd_syslog | wc -l)
	run hssh --token-file "$P/tok" deploy@127.0.0.1 id -un </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = deploy ]
	sshd_syslog | tail -n +"$((mark + 1))" | grep -q 'auth allow: user=deploy .*parts=1 '
}

@test "no command and a terminal: an interactive pty session" {
	gh_token >"$P/tok"
	run bash -c 'printf "tty; echo TERM=\$TERM; exit 7\n" |
		TERM=xterm-256color script -qec "$*" /dev/null' - \
		"$HOOP_SSH" -p "$IO_PORT" --known-hosts "$IO_DIR/known_hosts" \
		--token-file "$P/tok" deploy@127.0.0.1
	echo "$output"
	[ "$status" -eq 7 ] || { tail -20 "$IO_DIR/sshd.log"; false; }
	[[ "$output" == *"/dev/pts/"* ]]
	[[ "$output" == *"TERM=xterm-256color"* ]]
}

@test "the pty follows the window size, also when it changes (SIGWINCH)" {
	gh_token >"$P/tok"
	cat >"$P/winch.sh" <<SH
stty rows 30 cols 100
(sleep 2; stty rows 41 cols 133 </dev/tty) &
exec "$HOOP_SSH" -p "$IO_PORT" --known-hosts "$IO_DIR/known_hosts" --token-file "$P/tok" deploy@127.0.0.1
SH
	run bash -c '{ echo "stty size; sleep 4; stty size; exit 0"; sleep 5; } |
		script -qec "sh $1" /dev/null' - "$P/winch.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"30 100"* ]]
	[[ "$output" == *"41 133"* ]]
}

@test "no command and no terminal: the shell reads stdin, without a pty" {
	gh_token >"$P/tok"
	hssh_io_argv
	run bash -c 'printf "tty; exit 5\n" | "$@"' - "${HSSH[@]}" --token-file "$P/tok" deploy@127.0.0.1
	[ "$status" -eq 5 ]
	[ "$output" = "not a tty" ]
}

@test "a command killed by a signal exits 255 and says so" {
	gh_token >"$P/tok"
	run hssh_io --token-file "$P/tok" deploy@127.0.0.1 'kill -KILL $$' </dev/null
	[ "$status" -eq 255 ]
	[[ "$output" == *"killed by signal KILL"* ]]
}

@test "an unknown host is refused, before any token is sent, with its fingerprint" {
	gh_token >"$P/tok"
	: >"$P/empty_known_hosts"
	before=$(auth_events)
	run "$HOOP_SSH" -p "$SSHD_PORT" --known-hosts "$P/empty_known_hosts" \
		--token-file "$P/tok" deploy@127.0.0.1 true
	echo "$output"
	[ "$status" -eq 255 ]
	[[ "$output" == *"is not known"* ]]
	[[ "$output" == *"--host-key-sha256 $(cat "$P/fingerprint")"* ]]
	[ "$(auth_events)" -eq "$before" ]
	if grep -qF "$(cut -d. -f3 "$P/tok" | cut -c1-40)" <<<"$output"; then false; fi
}

@test "a missing known_hosts file is no excuse to trust the host" {
	gh_token >"$P/tok"
	run "$HOOP_SSH" -p "$SSHD_PORT" --known-hosts "$P/no-such-file" \
		--token-file "$P/tok" deploy@127.0.0.1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"does not exist"* ]]
	[[ "$output" == *"$(cat "$P/fingerprint")"* ]]
}

@test "a changed host key in known_hosts is refused" {
	gh_token >"$P/tok"
	ssh-keygen -q -t ed25519 -N '' -f "$P/other_key"
	echo "[127.0.0.1]:$SSHD_PORT $(cat "$P/other_key.pub")" >"$P/wrong_known_hosts"
	before=$(auth_events)
	run "$HOOP_SSH" -p "$SSHD_PORT" --known-hosts "$P/wrong_known_hosts" \
		--token-file "$P/tok" deploy@127.0.0.1 true
	echo "$output"
	[ "$status" -eq 255 ]
	[[ "$output" == *"HOST KEY MISMATCH"* ]]
	[ "$(auth_events)" -eq "$before" ]
}

@test "a wrong pinned fingerprint is refused" {
	gh_token >"$P/tok"
	wrong=$(ssh-keygen -lf "$P/other_key.pub" 2>/dev/null | awk '{ print $2 }')
	[ -n "$wrong" ] || { ssh-keygen -q -t ed25519 -N '' -f "$P/pin_key"; wrong=$(ssh-keygen -lf "$P/pin_key.pub" | awk '{ print $2 }'); }
	run "$HOOP_SSH" -p "$SSHD_PORT" --known-hosts "$P/no-such-file" \
		--host-key-sha256 "$wrong" --token-file "$P/tok" deploy@127.0.0.1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"HOST KEY MISMATCH"*"not the pinned key"* ]]
	run "$HOOP_SSH" -p "$SSHD_PORT" --host-key-sha256 "md5-or-whatever" \
		--token-file "$P/tok" deploy@127.0.0.1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"SHA256:"* ]]
}

@test "the right pinned fingerprint needs no known_hosts (option or HOOP_SSH_HOST_KEY)" {
	gh_token >"$P/tok"
	fp=$(cat "$P/fingerprint")
	run "$HOOP_SSH" -p "$SSHD_PORT" --known-hosts "$P/no-such-file" \
		--host-key-sha256 "SHA256:not-this-one,$fp" --token-file "$P/tok" deploy@127.0.0.1 id -un </dev/null
	if sshd_can_host_module; then
		[ "$status" -eq 0 ]
		[ "$output" = deploy ]
	else
		[ "$status" -eq 255 ]
		[[ "$output" != *MISMATCH* ]]
		[[ "$output" == *"refused the token"* ]]
	fi
	HOOP_SSH_HOST_KEY=$fp run "$HOOP_SSH" -p "$SSHD_PORT" --known-hosts "$P/no-such-file" \
		--token-file "$P/tok" deploy@127.0.0.1 id -un </dev/null
	[[ "$output" != *"not known"* ]]
	! sshd_can_host_module || [ "$status" -eq 0 ]
}

@test "a refused token is reported with pam_hoop's reason, exit 255" {
	gh_token --time exp=-120 >"$P/tok"
	run hssh --token-file "$P/tok" deploy@127.0.0.1 true </dev/null
	echo "$output"
	[ "$status" -eq 255 ]
	if sshd_can_host_module; then
		[ "$output" = "hoop-ssh: token refused by the bastion: expired" ]
		[[ "$(last_auth_reason)" == "deny: expired"* ]]
	else
		# pam_deny refuses before asking, and gives no reason.
		[[ "$output" == *"the bastion refused the token"*"(no reason given"* ]]
	fi
	# The token is in no message.
	if grep -qF "$(cut -d. -f3 "$P/tok" | cut -c1-40)" <<<"$output"; then false; fi
}

@test "refusal reasons name the kind of refusal, never the configuration" {
	needs_login
	gh_token --set repository='"acme-corp/other"' >"$P/tok"
	run hssh --token-file "$P/tok" deploy@127.0.0.1 true </dev/null
	[ "$status" -eq 255 ]
	[ "$output" = "hoop-ssh: token refused by the bastion: no identity accepts this token for this login" ]
	[[ "$(last_auth_reason)" == *"gh-deploy"*"repository"* ]]
	gh_token >"$P/tok"
	run hssh --token-file "$P/tok" gldeploy@127.0.0.1 true </dev/null
	[ "$output" = "hoop-ssh: token refused by the bastion: no identity accepts this token for this login" ]
	mint sign --kid gh-1 "$P/gl.pem" "$FIX/github-actions-claims.json" \
		--set iss="\"$(issuer_url github)\"" --time iat=-5 --time exp=600 >"$P/tok"
	run hssh --token-file "$P/tok" deploy@127.0.0.1 true </dev/null
	[ "$output" = "hoop-ssh: token refused by the bastion: signature not valid" ]
	[[ "$output" != *gh-1* ]]
}

@test "a token that is not a JWT is caught before connecting" {
	printf 'not a token\n' >"$P/bad"
	run hssh --token-file "$P/bad" deploy@127.0.0.1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"not a JWT"* ]]
	run hssh --token-file "$P/no-such-token" deploy@127.0.0.1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"cannot read token file"* ]]
}

@test "no token anywhere: a clear error naming the ways to give one" {
	run hssh deploy@127.0.0.1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"--token-file, HOOP_TOKEN or HOOP_TOKEN_FILE"* ]]
	GITHUB_ACTIONS=true run env GITHUB_ACTIONS=true "$HOOP_SSH" -p "$SSHD_PORT" deploy@127.0.0.1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"id-token: write"* ]]
	run env -u HOOP_ID_TOKEN GITLAB_CI=true "$HOOP_SSH" -p "$SSHD_PORT" deploy@127.0.0.1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"id_tokens: HOOP_ID_TOKEN"* ]]
}

@test "HOOP_TOKEN and HOOP_TOKEN_FILE" {
	needs_login
	tok=$(gh_token)
	HOOP_TOKEN=$tok run "$HOOP_SSH" -p "$SSHD_PORT" --known-hosts "$SSHD_DIR/known_hosts" deploy@127.0.0.1 id -un </dev/null
	[ "$status" -eq 0 ]
	printf '%s\n' "$tok" >"$P/tokfile"
	HOOP_TOKEN_FILE=$P/tokfile run "$HOOP_SSH" -p "$SSHD_PORT" --known-hosts "$SSHD_DIR/known_hosts" deploy@127.0.0.1 id -un </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = deploy ]
}

@test "GitHub Actions: the ID token request with bearer and audience" {
	runtime_token "$(gh_token)"
	: >"$RUNTIME_DIR/requests"
	run env ACTIONS_ID_TOKEN_REQUEST_URL="$RUNTIME_URL" \
		ACTIONS_ID_TOKEN_REQUEST_TOKEN=runtime-request-secret GITHUB_ACTIONS=true \
		"$HOOP_SSH" -p "$SSHD_PORT" --known-hosts "$SSHD_DIR/known_hosts" \
		--audience "$AUD" deploy@127.0.0.1 id -un </dev/null
	echo "$output"
	[ "$(runtime_requests)" = "GET /_apis/distributedtask/token auth=ok audience=$AUD" ]
	if sshd_can_host_module; then
		[ "$status" -eq 0 ]
		[ "$output" = deploy ]
	else
		[ "$status" -eq 255 ]
		[[ "$output" == *"refused the token"* ]]
	fi
	# The audience can come from HOOP_AUDIENCE too.
	run env ACTIONS_ID_TOKEN_REQUEST_URL="$RUNTIME_URL" \
		ACTIONS_ID_TOKEN_REQUEST_TOKEN=runtime-request-secret HOOP_AUDIENCE="$AUD" \
		"$HOOP_SSH" -p "$SSHD_PORT" --known-hosts "$SSHD_DIR/known_hosts" \
		deploy@127.0.0.1 true </dev/null
	[ "$(runtime_requests | tail -n 1)" = "GET /_apis/distributedtask/token auth=ok audience=$AUD" ]
}

@test "GitHub Actions: a refused request or a bad answer is a clear error" {
	runtime_token "$(gh_token)"
	run env ACTIONS_ID_TOKEN_REQUEST_URL="$RUNTIME_URL" \
		ACTIONS_ID_TOKEN_REQUEST_TOKEN=wrong-secret \
		"$HOOP_SSH" -p "$SSHD_PORT" --audience "$AUD" deploy@127.0.0.1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"GitHub Actions ID token request: HTTP status 401"* ]]
	[[ "$output" != *wrong-secret* ]]
	run env ACTIONS_ID_TOKEN_REQUEST_URL="$RUNTIME_URL" \
		ACTIONS_ID_TOKEN_REQUEST_TOKEN=runtime-request-secret \
		"$HOOP_SSH" -p "$SSHD_PORT" --audience other deploy@127.0.0.1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"HTTP status 400"* ]]
	runtime_token "not-a-jwt"
	run env ACTIONS_ID_TOKEN_REQUEST_URL="$RUNTIME_URL" \
		ACTIONS_ID_TOKEN_REQUEST_TOKEN=runtime-request-secret \
		"$HOOP_SSH" -p "$SSHD_PORT" --audience "$AUD" deploy@127.0.0.1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"the token from GitHub Actions is not a JWT"* ]]
}

@test "GitHub Actions: the bearer never goes over plain HTTP off loopback" {
	run env ACTIONS_ID_TOKEN_REQUEST_URL="http://192.0.2.1/token?x=1" \
		ACTIONS_ID_TOKEN_REQUEST_TOKEN=runtime-request-secret \
		"$HOOP_SSH" -p "$SSHD_PORT" deploy@127.0.0.1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"refusing http URL to 192.0.2.1"* ]]
}

@test "GitLab CI: the id_tokens variable, by default or by name" {
	tok=$(gl_token)
	run env GITLAB_CI=true HOOP_ID_TOKEN="$tok" "$HOOP_SSH" -p "$SSHD_PORT" \
		--known-hosts "$SSHD_DIR/known_hosts" gldeploy@127.0.0.1 id -un </dev/null
	if sshd_can_host_module; then
		[ "$status" -eq 0 ]
		[ "$output" = gldeploy ]
	else
		[[ "$output" == *"refused the token"* ]]
	fi
	run env GITLAB_CI=true BASTION_ID_TOKEN="$tok" "$HOOP_SSH" -p "$SSHD_PORT" \
		--known-hosts "$SSHD_DIR/known_hosts" --gitlab-token-var BASTION_ID_TOKEN \
		-l gldeploy 127.0.0.1 id -un </dev/null
	if sshd_can_host_module; then
		[ "$status" -eq 0 ]
		[ "$output" = gldeploy ]
	else
		[[ "$output" == *"refused the token"* ]]
	fi
}

@test "a server that never answers times out (--connect-timeout)" {
	port=$(free_port)
	socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" SYSTEM:"sleep 30" &
	spid=$!
	for _ in $(seq 100); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.05; done
	gh_token >"$P/tok"
	start=$SECONDS
	run "$HOOP_SSH" -p "$port" --connect-timeout 2 --token-file "$P/tok" deploy@127.0.0.1 true
	took=$((SECONDS - start))
	kill "$spid" 2>/dev/null || true
	echo "$output"
	[ "$status" -eq 255 ]
	[[ "$output" == *"cannot connect"* ]]
	[ "$took" -le 8 ]
}

@test "usage errors exit 255" {
	run "$HOOP_SSH"
	[ "$status" -eq 255 ]
	[[ "$output" == *usage* ]]
	run "$HOOP_SSH" -p 99999 host true
	[ "$status" -eq 255 ]
	run "$HOOP_SSH" --help
	[ "$status" -eq 0 ]
}
