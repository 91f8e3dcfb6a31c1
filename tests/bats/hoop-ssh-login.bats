#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# hoop-ssh login: the device authorization grant against a scripted SSO
# issuer (oidc-provider.bash) that pam_hoop trusts too; the private token
# cache; later connections to the real sshd with that token.
#
# As in hoop-ssh.bats, the ASan build's pam_hoop cannot run inside sshd:
# there the server refuses every login (pam_deny) and tests that need a
# session check only what the client did.
load helpers
load sshd
load oidc-provider

HOOP_SSH=$HOOP_BUILD/hoop-ssh
CLAIMS=$HOOP_SRC/tests/fixtures/claims/sso-staff-claims.json

setup_file() {
	P=$(mktemp -d /tmp/hoop-ssh-login.XXXXXX)
	chmod 755 "$P"
	export P
	provider_setup "$P/sso"
	provider_start
	cat >"$P/hoop.conf" <<CONF
store = "$P/hoop.db"
recordings = "$P/rec"
clock_skew = "30s"
home_base = "$P/home"
login_shell = "/bin/sh"

issuer "sso" {
	url = "$PROVIDER_URL"
	audience = {"hoop-cli"}
	algorithms = {"RS256"}
	ca_file = "$PROVIDER_CA"
}
identity "sso-staff" {
	issuer = "sso"
	claim "email_verified" { equals = {"true"} }
	login = "ssostaff"
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
		SSHD_USERS="ssostaff:60110"
		sshd_start "auth required pam_deny.so
account required pam_deny.so
session required pam_deny.so"
	fi
	export SSHD_DIR SSHD_PORT SSHD_NS_PID
}

teardown_file() {
	sshd_stop
	provider_stop
	rm -rf "$P"
}

setup() {
	T=$(mktemp -d "$P/t.XXXXXX")
	# Each test its own cache, never the real one of the user running it.
	export XDG_CACHE_HOME=$T/cache
	CACHE=$XDG_CACHE_HOME/hoop/id-token
}

teardown() {
	rm -rf "$T"
}

# An ID token as the issuer signs it for hoop-cli, fresh.
sso_token() {
	mint_sso --time iat=-5 --time exp=600 "$@"
}

mint_sso() {
	"$HOOP_BUILD/tests/hoop-mint-token" sign --kid sso-1 "$PROVIDER_KEY" \
		"$CLAIMS" --set iss="\"$PROVIDER_URL\"" --set aud='"hoop-cli"' "$@"
}

# hoop-ssh login against the provider, with no SSO environment of the
# caller's.
login() {
	env -u HOOP_SSO_ISSUER -u HOOP_SSO_CLIENT_ID -u HOOP_SSO_SCOPE \
		-u HOOP_SSO_AUDIENCE -u HOOP_SSO_CA_FILE "$HOOP_SSH" login \
		--issuer "$PROVIDER_URL" --client-id hoop-cli \
		--ca-file "$PROVIDER_CA" "$@"
}

# hoop-ssh to the test sshd, no token source but the cache.
hssh() {
	env -u HOOP_TOKEN -u HOOP_TOKEN_FILE -u ACTIONS_ID_TOKEN_REQUEST_URL \
		-u ACTIONS_ID_TOKEN_REQUEST_TOKEN -u GITHUB_ACTIONS -u GITLAB_CI \
		-u HOOP_ID_TOKEN "$HOOP_SSH" -p "$SSHD_PORT" \
		--known-hosts "$SSHD_DIR/known_hosts" --connect-timeout 10 "$@"
}

# The newest authentication decision in the audit log (for failures).
last_auth_reason() {
	"$HOOP_BUILD/hoopctl" -c "$P/hoop.conf" audit list --json |
		jq -r 'select(.kind == "auth") | .decision + ": " + .reason' | tail -n 1
}

needs_login() {
	sshd_can_host_module || skip "the ASan build's module runs outside sshd (see sshd.bash)"
}

# Times of the polls of the token endpoint, one a line.
poll_times() {
	provider_log | jq -r 'select(.path == "/token") | .t'
}

# The gaps between successive polls, in tenths of a second.
poll_gaps() {
	poll_times | awk 'NR > 1 { printf "%d\n", ($1 - prev) * 10 } { prev = $1 }'
}

mode_of() {
	stat -c %a "$1"
}

# Puts TOKEN in the cache as hoop-ssh login would.
cache_token() {
	mkdir -p -m 0700 "$XDG_CACHE_HOME" "$XDG_CACHE_HOME/hoop"
	printf '%s\n' "$1" >"$CACHE"
	chmod 0600 "$CACHE"
}

@test "login: pending twice, then the token; cached 0600 in a 0700 directory" {
	sso_token >"$T/id_token"
	provider_id_token "$T/id_token"
	provider_config '{"steps":["pending","pending","success"]}'
	run --separate-stderr login --scope email
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[[ "$stderr" == *"$PROVIDER_URL/activate"* ]]
	[[ "$stderr" == *"WDJB-MJHT"* ]]
	[[ "$stderr" == *"$PROVIDER_URL/activate?user_code=WDJB-MJHT"* ]]
	[[ "$stderr" == *"signed in; the token is good until"*"$CACHE"* ]]
	[ "$(poll_times | wc -l)" -eq 3 ]
	# Every poll waited the interval (1 s).
	for gap in $(poll_gaps); do [ "$gap" -ge 9 ]; done
	[ "$(cat "$CACHE")" = "$(cat "$T/id_token")" ]
	[ "$(mode_of "$CACHE")" = 600 ]
	[ "$(mode_of "$XDG_CACHE_HOME/hoop")" = 700 ]
	# The device request: our client, openid and the scope asked for.
	dev=$(provider_log | jq -c 'select(.path == "/device") | .form')
	[ "$dev" = '{"client_id":"hoop-cli","scope":"openid email"}' ]
	# The issuer's other tokens are nowhere.
	[[ "$stderr" != *access-secret* ]]
	if grep -rq access-secret "$XDG_CACHE_HOME"; then false; fi
}

@test "login: slow_down makes every later poll 5 s slower" {
	sso_token >"$T/id_token"
	provider_id_token "$T/id_token"
	provider_config '{"steps":["slow_down","success"]}'
	run login -v
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"slow_down: polling every 6s now"* ]]
	[ "$(poll_gaps)" -ge 58 ]
	[ -f "$CACHE" ]
}

@test "login: access_denied is an error, and nothing is cached" {
	provider_config '{"steps":["pending","denied"]}'
	run login
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"the sign-in was denied (access_denied)"* ]]
	[ ! -e "$CACHE" ]
}

@test "login: expired_token says to start again" {
	provider_config '{"steps":["expired"]}'
	run login
	[ "$status" -eq 1 ]
	[[ "$output" == *"the code expired"*"(expired_token); run 'hoop-ssh login' again"* ]]
	[ ! -e "$CACHE" ]
}

@test "login: the client stops polling when expires_in runs out" {
	provider_config '{"steps":["pending"],"expires_in":3}'
	start=$SECONDS
	run login
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"the code expired before the sign-in was done"* ]]
	[ "$(poll_times | wc -l)" -le 3 ]
	[ $((SECONDS - start)) -le 6 ]
}

@test "login: a lost connection while polling backs off, then goes on" {
	sso_token >"$T/id_token"
	provider_id_token "$T/id_token"
	provider_config '{"steps":["hangup","success"]}'
	run login
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"trying again every 2s"* ]]
	[ "$(poll_gaps)" -ge 19 ]
}

@test "login: settings from HOOP_SSO_*; the audience parameter when asked" {
	sso_token >"$T/id_token"
	provider_id_token "$T/id_token"
	provider_config '{"steps":["success"]}'
	run env HOOP_SSO_ISSUER="$PROVIDER_URL/" HOOP_SSO_CLIENT_ID=hoop-cli \
		HOOP_SSO_SCOPE="groups,email openid" HOOP_SSO_AUDIENCE=bastion \
		HOOP_SSO_CA_FILE="$PROVIDER_CA" "$HOOP_SSH" login
	echo "$output"
	[ "$status" -eq 0 ]
	dev=$(provider_log | jq -c 'select(.path == "/device") | .form')
	[ "$dev" = '{"client_id":"hoop-cli","scope":"openid groups email","audience":"bastion"}' ]
}

@test "login: every failure before the sign-in is a clear error" {
	run env -u HOOP_SSO_ISSUER "$HOOP_SSH" login --client-id x
	[ "$status" -eq 1 ]
	[[ "$output" == *"no issuer: give --issuer URL or set HOOP_SSO_ISSUER"* ]]
	run env -u HOOP_SSO_CLIENT_ID "$HOOP_SSH" login --issuer "$PROVIDER_URL"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no client id"* ]]
	run "$HOOP_SSH" login --issuer "http://127.0.0.1:$PROVIDER_PORT" --client-id x
	[ "$status" -eq 1 ]
	[[ "$output" == *"must be an https:// URL"* ]]
	run "$HOOP_SSH" login --issuer "$PROVIDER_URL" --client-id hoop-cli --scope 'a"b'
	[ "$status" -eq 1 ]
	[[ "$output" == *"bad scope"* ]]
	# The issuer's certificate is checked.
	run env -u HOOP_SSO_CA_FILE "$HOOP_SSH" login --issuer "$PROVIDER_URL" --client-id hoop-cli
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot reach the issuer"*"certificate"* ]]
	# Not an issuer at that URL.
	run login --issuer "$PROVIDER_URL/elsewhere"
	[ "$status" -eq 1 ]
	[[ "$output" == *"HTTP status 404"* ]]
	# Unknown client: the issuer's words.
	run login --client-id nobody
	[ "$status" -eq 1 ]
	[[ "$output" == *"refused the device authorization request: invalid_client: unknown client"* ]]
	# No device flow at this issuer.
	provider_config '{"no_device":true}'
	run login
	[ "$status" -eq 1 ]
	[[ "$output" == *"does not offer the device authorization grant"* ]]
	[ ! -e "$CACHE" ]
}

@test "login: what the issuer answers is checked, and quoted harmlessly" {
	provider_config '{"device_raw":[200,"{\"device_code\":\"d\",\"user_code\":\"\\u001b]0;owned\\u0007\",\"verification_uri\":\"https://x\",\"expires_in\":60}"]}'
	run login
	[ "$status" -eq 1 ]
	[[ "$output" == *"\"user_code\" has characters that are not printable ASCII"* ]]
	[[ "$output" != *$'\e'* ]]
	provider_config '{"device_raw":[200,"[]"]}'
	run login
	[ "$status" -eq 1 ]
	[[ "$output" == *"device authorization response is not a JSON object"* ]]
	provider_config '{"steps":["oddity"]}'
	run login
	[ "$status" -eq 1 ]
	[[ "$output" == *"refused the token request: invalid_grant: code ?[31mspent"* ]]
	[[ "$output" != *$'\e'* ]]
	provider_config '{"steps":["noid"]}'
	run login
	[ "$status" -eq 1 ]
	[[ "$output" == *"no id_token"* ]]
	printf 'not-a-jwt\n' >"$T/id_token"
	provider_id_token "$T/id_token"
	provider_config '{"steps":["success"]}'
	run login
	[ "$status" -eq 1 ]
	[[ "$output" == *"the token from the issuer is not a JWT"* ]]
	mint_sso --time iat=-700 --time exp=-60 >"$T/id_token"
	provider_id_token "$T/id_token"
	run login
	[ "$status" -eq 1 ]
	[[ "$output" == *"expires at"*"already or too soon to use"* ]]
	[ ! -e "$CACHE" ]
}

@test "a later connection uses the cached token (pam_hoop on the real sshd)" {
	sso_token >"$T/id_token"
	provider_id_token "$T/id_token"
	provider_config '{"steps":["success"]}'
	run login
	[ "$status" -eq 0 ]
	run hssh -v ssostaff@127.0.0.1 'id -un; echo $HOOP_IDENTITY' </dev/null
	echo "$output"
	[[ "$output" == *"token from the hoop-ssh login cache"* ]]
	if sshd_can_host_module; then
		[ "$status" -eq 0 ] || { last_auth_reason; false; }
		[[ "$output" == *$'\nssostaff\nsso-staff'* ]]
		# And again: the cache stays until the token expires.
		run hssh ssostaff@127.0.0.1 id -un </dev/null
		[ "$status" -eq 0 ]
		[ "$output" = ssostaff ]
	else
		[ "$status" -eq 255 ]
		[[ "$output" == *"refused the token"* ]]
	fi
}

@test "an expired cached token: say so, and say to run hoop-ssh login" {
	cache_token "$(mint_sso --time iat=-700 --time exp=-120)"
	run hssh ssostaff@127.0.0.1 true </dev/null
	echo "$output"
	[ "$status" -eq 255 ]
	[[ "$output" == *"the token from 'hoop-ssh login' expired at "*" (2m ago); run 'hoop-ssh login' for a new one"* ]]
	# One about to expire is not used either.
	cache_token "$(mint_sso --time iat=-700 --time exp=5)"
	run hssh ssostaff@127.0.0.1 true </dev/null
	[ "$status" -eq 255 ]
	[[ "$output" == *"expires at"*"too soon to use"* ]]
}

@test "a cached token the bastion refuses: its reason, and a hint to log in again" {
	needs_login
	cache_token "$(sso_token --set email_verified=false)"
	run hssh ssostaff@127.0.0.1 true </dev/null
	echo "$output"
	[ "$status" -eq 255 ]
	[[ "$output" == *"token refused by the bastion: no identity accepts this token for this login"* ]] ||
		{ last_auth_reason; false; }
	[[ "$output" == *"the token came from 'hoop-ssh login'; run it again"* ]]
	# A mistyped login name: what sshd lets pam_hoop see of it.
	cache_token "$(sso_token)"
	run hssh ssotsaff@127.0.0.1 true </dev/null
	[ "$status" -eq 255 ]
	[[ "$output" == *"token refused by the bastion: malformed token (or unknown login name)"* ]]
}

@test "a token given explicitly wins over the cache" {
	cache_token "$(sso_token)"
	run env HOOP_TOKEN="$(sso_token)" "$HOOP_SSH" -v -p "$SSHD_PORT" \
		--known-hosts "$SSHD_DIR/known_hosts" ssostaff@127.0.0.1 true </dev/null
	[[ "$output" == *"token from HOOP_TOKEN"* ]]
}

@test "the cache must be private: others' access, other owners and symlinks refused" {
	cache_token "$(sso_token)"
	chmod 0644 "$CACHE"
	run hssh ssostaff@127.0.0.1 true </dev/null
	[ "$status" -eq 255 ]
	[[ "$output" == *"the token cache file $CACHE is open to others (mode 0644): refusing it"* ]]
	chmod 0600 "$CACHE"
	chmod 0755 "$XDG_CACHE_HOME/hoop"
	run hssh ssostaff@127.0.0.1 true </dev/null
	[ "$status" -eq 255 ]
	[[ "$output" == *"directory $XDG_CACHE_HOME/hoop is open to others (mode 0755)"* ]]
	# login refuses it before the sign-in, and leaves it as it is.
	provider_config '{"steps":["success"]}'
	run login
	[ "$status" -eq 1 ]
	[[ "$output" == *"open to others"* ]]
	[ ! -s "$PROVIDER_DIR/requests.log" ]
	[ "$(mode_of "$XDG_CACHE_HOME/hoop")" = 755 ]
	chmod 0700 "$XDG_CACHE_HOME/hoop"
	chown nobody "$CACHE"
	run hssh ssostaff@127.0.0.1 true </dev/null
	[ "$status" -eq 255 ]
	[[ "$output" == *"belongs to uid $(id -u nobody), not to you"* ]]
	rm -f "$CACHE"
	sso_token --set jti='"planted"' >"$T/elsewhere"
	chmod 0600 "$T/elsewhere"
	ln -s "$T/elsewhere" "$CACHE"
	run hssh ssostaff@127.0.0.1 true </dev/null
	[ "$status" -eq 255 ]
	[[ "$output" == *"cannot open the token cache $CACHE: a symlink"* ]]
	# login replaces the link with a file; the link's target is untouched.
	sso_token >"$T/id_token"
	provider_id_token "$T/id_token"
	run login
	[ "$status" -eq 0 ]
	[ ! -L "$CACHE" ] && [ -f "$CACHE" ]
	[ "$(cat "$T/elsewhere")" != "$(cat "$T/id_token")" ]
}

@test "the cache directory comes from XDG_CACHE_HOME, else ~/.cache" {
	sso_token >"$T/id_token"
	provider_id_token "$T/id_token"
	provider_config '{"steps":["success"]}'
	mkdir -m 0700 "$T/home"
	run env -u XDG_CACHE_HOME HOME="$T/home" "$HOOP_SSH" login \
		--issuer "$PROVIDER_URL" --client-id hoop-cli --ca-file "$PROVIDER_CA"
	[ "$status" -eq 0 ]
	[ -f "$T/home/.cache/hoop/id-token" ]
	[ "$(mode_of "$T/home/.cache")" = 700 ]
	# A relative XDG_CACHE_HOME is ignored, as the XDG spec says.
	run env XDG_CACHE_HOME=relative HOME="$T/home" "$HOOP_SSH" logout
	[ "$status" -eq 0 ]
	[ ! -e "$T/home/.cache/hoop/id-token" ]
}

@test "logout removes the cached token; then there is no token" {
	cache_token "$(sso_token)"
	run "$HOOP_SSH" logout
	[ "$status" -eq 0 ]
	[[ "$output" == *"removed"* ]]
	[ ! -e "$CACHE" ]
	run "$HOOP_SSH" logout
	[ "$status" -eq 0 ]
	[[ "$output" == *"no cached token"* ]]
	run hssh ssostaff@127.0.0.1 true </dev/null
	[ "$status" -eq 255 ]
	[[ "$output" == *"or log in with 'hoop-ssh login'"* ]]
}

@test "login and logout usage" {
	run "$HOOP_SSH" login --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--issuer URL"* ]]
	run "$HOOP_SSH" login extra-argument
	[ "$status" -eq 1 ]
	run "$HOOP_SSH" logout now
	[ "$status" -eq 1 ]
}
