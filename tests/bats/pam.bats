#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# pam_hoop behind a real sshd: logins with GitHub- and GitLab-shaped
# tokens through the stock ssh client and hoop-askpass, the session the
# module records, and a matrix of bad tokens each refused with its reason.
load helpers
load sshd
load issuer

AUD=https://bastion.acme-corp.example
FIX=$HOOP_SRC/tests/fixtures/claims

setup_file() {
	P=$(mktemp -d /tmp/hoop-pam.XXXXXX)
	chmod 755 "$P"
	export P
	issuer_setup "$P/issuer"
	mint keygen rsa "$P/gh.pem"
	mint keygen ec256 "$P/gh-ec.pem"
	mint keygen ed25519 "$P/gh-ed.pem"
	mint keygen rsa "$P/gh-next.pem"
	mint keygen rsa "$P/gl.pem"
	mint keygen rsa "$P/sso.pem"
	mint keygen rsa "$P/cached.pem"
	openssl pkey -in "$P/gh.pem" -pubout -out "$P/gh.pub" 2>/dev/null
	issuer_add github "$P/gh.pem:gh-1" "$P/gh-ec.pem:gh-ec" "$P/gh-ed.pem:gh-ed"
	issuer_add gitlab "$P/gl.pem:gl-1"
	issuer_add sso "$P/sso.pem:sso-1"
	issuer_add cached "$P/cached.pem:c-1"
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
	algorithms = {"RS256", "PS256", "ES256", "EdDSA"}
	ca_file = "$ISSUER_CA"
	jwks_refresh_interval = "0s"
	max_token_age = "1h"
}
issuer "gitlab" {
	url = "$(issuer_url gitlab)"
	audience = {"$AUD"}
	algorithms = {"RS256"}
	ca_file = "$ISSUER_CA"
	single_use_jti = true
}
issuer "sso" {
	url = "$(issuer_url sso)"
	audience = {"bastion"}
	ca_file = "$ISSUER_CA"
}
issuer "cached" {
	url = "$(issuer_url cached)"
	audience = {"$AUD"}
	ca_file = "$ISSUER_CA"
}

identity "gh-deploy" {
	issuer = "github"
	claim "repository" { equals = {"acme-corp/payments-api"} }
	claim "ref" { equals = {"refs/heads/main"} }
	claim "environment" { equals = {"production"} }
	claim "job_workflow_ref" {
		matches = 'acme-corp/payments-api/\.github/workflows/deploy\.yml@refs/heads/main'
	}
	login = "deploy"
	groups = {"deployers"}
	max_session = "30m"
}
identity "gh-run" {
	issuer = "github"
	claim "repository" { equals = {"acme-corp/ci-jobs"} }
	login_template = "gh-\${run_id}"
}
identity "gl-deploy" {
	issuer = "gitlab"
	claim "project_path" { equals = {"platform/billing-service"} }
	claim "ref_protected" { equals = {"true"} }
	login = "gldeploy"
	groups = {"deployers"}
	groups_claim = "groups_direct"
}
identity "retired" {
	issuer = "github"
	claim "repository" { equals = {"acme-corp/old-app"} }
	login = "retired"
	disabled = true
}
identity "sso-staff" {
	issuer = "sso"
	claim "email_verified" { equals = {"true"} }
	login = "ssostaff"
}
identity "short" {
	issuer = "github"
	claim "repository" { equals = {"acme-corp/short-jobs"} }
	login = "shortjob"
	max_session = "4s"
	local_groups = {"deployers:users"}
	groups = {"deployers"}
}
identity "cached" {
	issuer = "cached"
	claim "repository" { equals = {"acme-corp/payments-api"} }
	login = "cacheduser"
}
CONF
	hoop_ready "$P/hoop.conf"
	export NSSDB
	mkdir -m 0755 "$P/home"
	T=$P
	SSHD_USERS="" SSHD_NSS=1
	if ! sshd_can_host_module; then
		sshd_prepare ""
		export SSHD_DIR
	else
		sshd_start "$(hoop_pam_stack "$P/hoop.conf")" "PasswordAuthentication yes"
	fi
	export SSHD_DIR SSHD_PORT SSHD_NS_PID
	# A private PAM directory for the direct (no sshd) client.
	mkdir -p "$P/pam.d"
	hoop_pam_stack "$P/hoop.conf" >"$P/pam.d/hoop-test"
}

teardown_file() {
	sshd_stop
	issuer_stop
	rm -rf "$P"
}

# gh_signed ISSUER KID KEY [edits]: GitHub-shaped claims for ISSUER,
# fresh times, signed by KEY under KID, then any claim edits.
gh_signed() {
	local iss=$1 kid=$2 key=$3; shift 3
	mint sign --kid "$kid" "$P/$key.pem" "$FIX/github-actions-claims.json" \
		--set iss="\"$(issuer_url "$iss")\"" --time iat=-5 --time nbf=-10 \
		--time exp=600 "$@"
}

# A GitHub-shaped token for gh-deploy.
gh_token() {
	gh_signed github gh-1 gh "$@"
}

gl_token() {
	mint sign --kid gl-1 "$P/gl.pem" "$FIX/gitlab-ci-claims.json" \
		--set iss="\"$(issuer_url gitlab)\"" --time iat=-5 --time nbf=-10 \
		--time exp=600 --set jti="\"$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')\"" "$@"
}

# Logs in as USER with TOKEN through the stock client; output in $output.
# Tests that need a shell on the bastion skip in the ASan build.
login() {
	local user=$1 token=$2; shift 2
	sshd_can_host_module || skip "the ASan build's module runs outside sshd (see sshd.bash)"
	printf '%s\n' "$token" >"$T/token"
	HOOP_TOKEN_FILE=$T/token run sshd_ssh "$user" "$@"
}

# Authentication only, through sshd or (ASan build) the PAM client with
# the stock client's 1000-byte parts; status in $status.
try_auth() {
	local user=$1 token=$2
	printf '%s\n' "$token" >"$T/token"
	if sshd_can_host_module; then
		HOOP_TOKEN_FILE=$T/token run sshd_ssh "$user" true
	else
		run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" \
			hoop-test "$user" "$T/token" 1000
	fi
}

accepted() {
	try_auth "$@"
	[ "$status" -eq 0 ] || { echo "$output"; last_auth_reason; return 1; }
}

# The reason of the newest authentication decision in the audit log.
last_auth_reason() {
	"$HOOPCTL" -c "$P/hoop.conf" audit list --json |
		jq -r 'select(.kind == "auth") | .decision + ": " + .reason' | tail -n 1
}

log_mark() {
	MARK=$(sshd_syslog | wc -l)
}

new_log() {
	sshd_syslog | tail -n +"$((MARK + 1))"
}

# refused USER "REASON" TOKEN: the login fails, and pam_hoop logged a
# refusal with that reason (and only a refusal).
refused() {
	local user=$1 reason=$2 token=$3 last
	log_mark
	try_auth "$user" "$token"
	[ "$status" -ne 0 ] || { echo "login succeeded"; return 1; }
	last=$(last_auth_reason)
	case $last in
	"deny: "*"$reason"*) ;;
	*) echo "audit: $last; expected reason: $reason"; return 1 ;;
	esac
	sshd_can_host_module || return 0
	for _ in $(seq 50); do
		new_log | grep -q 'pam_hoop.*auth deny' && break
		sleep 0.05
	done
	new_log | grep 'pam_hoop' >&2
	new_log | grep -F 'auth deny' | grep -qF -- "$reason" || {
		echo "expected reason: $reason"; return 1; }
	if new_log | grep -q 'auth allow'; then false; fi
}

# told USER "KIND" TOKEN: refused, and the client is shown exactly
# "hoop: token refused: KIND" (the stock ssh prints what sshd sends; the
# ASan build's PAM client prints the message it gets), with nothing of
# the configuration, the claims or the keys.
told() {
	local user=$1 kind=$2 token=$3 shown leak
	try_auth "$user" "$token"
	[ "$status" -ne 0 ] || { echo "login succeeded"; return 1; }
	shown=$(printf '%s\n' "$output" | tr -d '\r' |
		sed -n 's/^\(message: \)\{0,1\}\(hoop: token refused: .*\)$/\2/p')
	[ "$shown" = "hoop: token refused: $kind" ] || {
		echo "shown: '$shown', expected: '$kind'"; echo "$output"; return 1; }
	for leak in gh-deploy gl-deploy gh-run acme-corp repository project_path \
	    gh-1 gl-1 "$(issuer_url github)" "$AUD" "$P"; do
		[[ "$output" != *"$leak"* ]] || { echo "leaked: $leak"; echo "$output"; return 1; }
	done
}

b64url_decode() {
	local s
	s=$(cat)
	while [ $((${#s} % 4)) -ne 0 ]; do s+==; done
	printf '%s' "$s" | basenc --base64url -d
}

# Replaces character N of segment S (0-based) of a token.
alter() {
	local token=$1 seg=$2 pos=$3 IFS=.
	local -a parts
	read -ra parts <<<"$token"
	local s=${parts[$seg]} c=${parts[$seg]:$pos:1} r=A
	[ "$c" = A ] && r=B
	parts[$seg]=${s:0:$pos}$r${s:$((pos + 1))}
	echo "${parts[*]}"
}

@test "a 2 KB GitHub-shaped token logs in over keyboard-interactive in parts" {
	tok=$(gh_token)
	[ "${#tok}" -gt 1700 ]
	log_mark
	login deploy "$tok" id -un
	[ "$status" -eq 0 ]
	[ "$output" = deploy ]
	new_log | grep -q 'auth allow: user=deploy .*parts=2 .*accepted: identity gh-deploy'
	# The token itself never reaches a log.
	sig=${tok##*.}
	if grep -rqF -- "${sig:0:40}" "$SSHD_DIR/syslog" "$SSHD_DIR/sshd.log"; then false; fi
}

@test "the session exports HOOP_SESSION_ID, the principal and the groups" {
	login deploy "$(gh_token)" env
	[ "$status" -eq 0 ]
	echo "$output" | grep -Eq '^HOOP_SESSION_ID=[0-9a-f]{32}$'
	echo "$output" | grep -q '^HOOP_PRINCIPAL=deploy$'
	echo "$output" | grep -q '^HOOP_IDENTITY=gh-deploy$'
	echo "$output" | grep -q '^HOOP_GROUPS=deployers$'
	if echo "$output" | grep -q 'eyJ'; then false; fi
}

@test "the lease and session rows are recorded, and the session is closed" {
	login deploy "$(gh_token)" 'echo $HOOP_SESSION_ID'
	[ "$status" -eq 0 ]
	sid=$output
	for _ in $(seq 50); do
		ended=$(sqlite3 -cmd '.timeout 10000' "$P/hoop.db" "SELECT ended_at IS NOT NULL FROM sessions WHERE id='$sid'")
		[ "$ended" = 1 ] && break
		sleep 0.1
	done
	[ "$ended" = 1 ]
	run sqlite3 -cmd '.timeout 10000' "$P/hoop.db" "SELECT l.login, l.uid, l.identity, l.subject, l.expires_at - l.created_at <= 1800 FROM sessions s JOIN leases l ON l.id = s.lease_id WHERE s.id='$sid'"
	uid=$("$HOOPCTL" -c "$P/hoop.conf" --nss-db "$NSSDB" nss show deploy | cut -d: -f3)
	[ "$output" = "deploy|$uid|gh-deploy|repo:acme-corp/payments-api:environment:production|1" ]
	run "$HOOPCTL" -c "$P/hoop.conf" audit list --session "$sid"
	echo "$output" | grep -q 'session allow.*action=open'
	echo "$output" | grep -q 'session info.*action=close'
}

@test "a GitLab-shaped token logs in, with groups from its groups claim" {
	log_mark
	login gldeploy "$(gl_token)" 'id -un; echo $HOOP_GROUPS'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = gldeploy ]
	[ "${lines[1]}" = "deployers,platform" ]
	new_log | grep -q 'auth allow: user=gldeploy'
}

@test "a name template maps the run id to the login name" {
	tok=$(gh_signed github gh-ec gh-ec --set repository='"acme-corp/ci-jobs"')
	login gh-11572203914 "$tok" id -un
	[ "$status" -eq 0 ]
	[ "$output" = gh-11572203914 ]
}

@test "ES256 and EdDSA tokens are accepted" {
	tok=$(gh_signed github gh-ec gh-ec)
	accepted deploy "$tok"
	tok=$(gh_signed github gh-ed gh-ed)
	accepted deploy "$tok"
}

@test "a token over 8 KB arrives over ten prompts of the stock client" {
	tok=$(gh_token --pad 6000)
	[ "${#tok}" -gt 8192 ]
	log_mark
	login deploy "$tok" true
	[ "$status" -eq 0 ]
	new_log | grep -q "auth allow: user=deploy .*parts=$(( (${#tok} + 999) / 1000 )) "
}

@test "a client without the limit answers the first prompt with the whole token" {
	gh_token >"$T/whole"
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" hoop-test deploy "$T/whole" 0
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '^prompt:')" -eq 1 ]
	echo "$output" | grep -q '^env: HOOP_SESSION_ID='
	echo "$output" | grep -q '^close_session: Success'
}

@test "the same token split in 500-byte parts over the PAM conversation" {
	gh_token >"$T/parts"
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" hoop-test deploy "$T/parts" 500
	[ "$status" -eq 0 ]
	echo "$output" | grep -q '^prompt: OIDC token (part 4): '
	echo "$output" | grep -q '^authenticate: Success'
}

@test "the password method works for a token that fits" {
	sshd_can_host_module || skip "the ASan build's module runs outside sshd (see sshd.bash)"
	tok=$(mint sign --kid gh-ed "$P/gh-ed.pem" - --set iss="\"$(issuer_url github)\"" \
		--set aud="\"$AUD\"" --set repository='"acme-corp/payments-api"' \
		--set ref='"refs/heads/main"' --set environment='"production"' \
		--set job_workflow_ref='"acme-corp/payments-api/.github/workflows/deploy.yml@refs/heads/main"' \
		--set sub='"repo:acme-corp/payments-api"' --time iat=0 --time exp=300)
	[ "${#tok}" -lt 1023 ]
	printf '%s\n' "$tok" >"$T/short"
	printf '#!/bin/sh\ncat %s\n' "$T/short" >"$T/askpass"
	chmod +x "$T/askpass"
	run env SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY= \
		setsid -w ssh -F /dev/null -p "$SSHD_PORT" -o UserKnownHostsFile="$SSHD_DIR/known_hosts" \
		-o StrictHostKeyChecking=yes -o PreferredAuthentications=password \
		-o NumberOfPasswordPrompts=1 deploy@127.0.0.1 id -un </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = deploy ]
}

# --- The bad-token matrix: every one refused, with its reason logged. ---

@test "refused: expired" {
	refused deploy "expired" "$(gh_token --time exp=-120)"
}

@test "refused: expired within the skew is still fine, past it is not" {
	accepted deploy "$(gh_token --time exp=-10)"
	refused deploy "expired" "$(gh_token --time exp=-40)"
}

@test "refused: not yet valid (nbf)" {
	refused deploy "not yet valid" "$(gh_token --time nbf=600)"
}

@test "refused: issued in the future (iat)" {
	refused deploy "issued in the future" "$(gh_token --time iat=600)"
}

@test "refused: issued too long ago (max_token_age)" {
	refused deploy "too old" "$(gh_token --time iat=-7200)"
}

@test "refused: wrong iss" {
	refused deploy "no issuer configured for 'https://token.actions.githubusercontent.com'" \
		"$(gh_token --set iss='"https://token.actions.githubusercontent.com"')"
}

@test "refused: iss differing only by a trailing slash" {
	refused deploy "bad issuer" "$(gh_token --set iss="\"$(issuer_url github)/\"")"
}

@test "refused: iss of the wrong JSON type" {
	refused deploy "missing claim (iss)" "$(gh_token --set iss='["x"]')"
}

@test "refused: wrong aud" {
	refused deploy "bad audience" "$(gh_token --set aud='"https://other.example"')"
}

@test "refused: aud array without ours" {
	refused deploy "bad audience" "$(gh_token --set aud='["a", "https://bastion.acme-corp.example/"]')"
}

@test "refused: empty aud array" {
	refused deploy "claim type" "$(gh_token --set aud='[]')"
}

@test "refused: alg none" {
	refused deploy "alg none" "$(gh_token --alg none --sign-alg none)"
}

@test "refused: alg NoNe in another case" {
	refused deploy "alg none" "$(gh_token --alg NoNe --sign-alg none)"
}

@test "refused: HS256 signed with the issuer's public key" {
	refused deploy "alg not allowed" "$(gh_token --alg HS256 --hmac "$P/gh.pub")"
}

@test "refused: alg not in the issuer's allowlist (RS512)" {
	refused deploy "alg not allowed" "$(gh_token --alg RS512)"
}

@test "refused: unknown kid, even after a refresh" {
	refused deploy "unknown kid" "$(gh_token --kid no-such-key)"
}

@test "refused: kid and key of another issuer" {
	tok=$(gh_signed github gl-1 gl)
	refused deploy "unknown kid" "$tok"
}

@test "refused: signed by an unpublished key under a published kid" {
	tok=$(gh_signed github gh-1 gh-next)
	refused deploy "bad signature" "$tok"
}

@test "refused: tampered payload" {
	tok=$(gh_token)
	IFS=. read -r h p s <<<"$tok"
	p=$(printf '%s' "$p" | b64url_decode | sed 's/production/productiom/' | basenc --base64url -w0 | tr -d =)
	refused deploy "bad signature" "$h.$p.$s"
}

@test "refused: tampered signature" {
	refused deploy "bad signature" "$(alter "$(gh_token)" 2 20)"
}

@test "refused: truncated signature" {
	tok=$(gh_token)
	# Four characters (three bytes) out of the middle keep the encoding
	# canonical: the signature is just short.
	refused deploy "bad signature" "${tok:0:$((${#tok} - 40))}${tok:$((${#tok} - 36))}"
}

@test "refused: wrong key type for alg (ES256 header, RSA kid)" {
	refused deploy "key type mismatch" "$(gh_token --alg ES256 --sign-alg RS256)"
}

@test "refused: PS256 header over an RS256 signature" {
	refused deploy "bad signature" "$(gh_token --alg PS256 --sign-alg RS256)"
}

@test "refused: ES256 signature in DER instead of raw r||s" {
	tok=$(gh_signed github gh-ec gh-ec --der)
	refused deploy "bad signature encoding" "$tok"
}

@test "refused: non-canonical base64url (stray low bits)" {
	tok=$(gh_token)
	sig=${tok##*.}
	last=${sig: -1}
	# RS256 signatures are 256 bytes: the last character carries 2 bits
	# and 4 zero bits (A, Q, g or w); setting a zero bit makes the
	# encoding non-canonical though it decodes to the same bytes.
	case $last in A) r=B ;; Q) r=R ;; g) r=h ;; w) r=x ;; *) return 1 ;; esac
	tok=${tok%.*}.${sig:0:$((${#sig} - 1))}$r
	refused deploy "bad base64url" "$tok"
}

@test "refused: base64 padding" {
	tok=$(gh_token)
	refused deploy "outside base64url" "${tok}=="
}

@test "refused: standard base64 alphabet (+ and /)" {
	tok=$(gh_token)
	refused deploy "outside base64url" "${tok/_/\/}"
}

@test "refused: four segments" {
	refused deploy "malformed" "$(gh_token).AAAA"
}

@test "refused: JWE (five segments)" {
	refused deploy "JWE" "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.AAAA.AAAA.AAAA.AAAA"
}

@test "refused: empty payload segment" {
	tok=$(gh_token)
	refused deploy "malformed" "${tok%%.*}..${tok##*.}"
}

@test "refused: huge token (1 MB, in one answer)" {
	{ printf 'eyJhbGciOiJSUzI1NiJ9.'; head -c 1048576 /dev/zero | tr '\0' 'A'; printf '.AAAA'; } >"$T/huge"
	log_mark
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" hoop-test deploy "$T/huge" 0
	[ "$status" -ne 0 ]
	echo "$output" | grep -q '^authenticate: Authentication failure'
	run "$HOOPCTL" -c "$P/hoop.conf" audit list --decision deny
	echo "${lines[-1]}" | grep -q 'reason=token too large'
}

@test "refused: token over the size limit, in many parts" {
	refused deploy "too large" "$(gh_token --pad 20000)"
}

@test "refused: header not JSON" {
	refused deploy "header not JSON" "$(gh_token --raw-header 'not json')"
}

@test "refused: header a JSON array" {
	refused deploy "header not JSON" "$(gh_token --raw-header '["RS256"]')"
}

@test "refused: payload not JSON" {
	refused deploy "payload not JSON" "$(gh_token --raw-payload '{"sub": ')"
}

@test "refused: duplicate claim keys" {
	refused deploy "duplicate JSON key" "$(gh_token --raw-payload '{"iss":"x","sub":"a","sub":"b"}')"
}

@test "refused: duplicate header keys" {
	refused deploy "duplicate JSON key" "$(gh_token --raw-header '{"alg":"RS256","kid":"gh-1","alg":"none"}')"
}

@test "refused: crit header" {
	refused deploy "crit header" "$(gh_token --header '{"crit":["exp"]}')"
}

@test "refused: kid of the wrong JSON type" {
	refused deploy "bad header" "$(gh_token --header '{"kid": 7}')"
}

@test "refused: empty signature under RS256" {
	refused deploy "empty signature" "$(gh_token --sign-alg none)"
}

@test "refused: exp of the wrong JSON type" {
	refused deploy "claim type" "$(gh_token --set exp='"9999999999"')"
}

@test "refused: nbf of the wrong JSON type" {
	refused deploy "claim type" "$(gh_token --set nbf=true)"
}

@test "refused: missing exp" {
	refused deploy "missing claim" "$(gh_token --del exp)"
}

@test "refused: missing iat" {
	refused deploy "missing claim" "$(gh_token --del iat)"
}

@test "refused: missing required identity claim (repository)" {
	refused deploy "first failing claim: repository" "$(gh_token --del repository)"
}

@test "refused: claim value mismatch (another repository)" {
	refused deploy "claim value mismatch" "$(gh_token --set repository='"acme-corp/payments-api-fork"')"
}

@test "refused: claim value mismatch (unprotected branch)" {
	refused deploy "identity gh-deploy: first failing claim: ref" "$(gh_token --set ref='"refs/heads/feature"')"
}

@test "refused: pattern claim anchored at both ends" {
	refused deploy "identity gh-deploy: first failing claim: job_workflow_ref" \
		"$(gh_token --set job_workflow_ref='"evil/acme-corp/payments-api/.github/workflows/deploy.yml@refs/heads/main"')"
}

@test "refused: identity claim of the wrong JSON type" {
	refused deploy "first failing claim: repository" "$(gh_token --set repository='{"name":"acme-corp/payments-api"}')"
}

@test "refused: login name not matching the template" {
	tok=$(gh_signed github gh-1 gh --set repository='"acme-corp/ci-jobs"')
	refused gh-999 "login name mismatch (token maps to gh-11572203914, not gh-999)" "$tok"
}

@test "refused: a valid token presented for another login" {
	refused gldeploy "login name mismatch (token maps to deploy" "$(gh_token)"
}

@test "refused: disabled identity" {
	# The name no longer resolves, so sshd refuses it before PAM ...
	run "$HOOPCTL" -c "$P/hoop.conf" --nss-db "$NSSDB" nss show retired
	[ "$status" -ne 0 ]
	# ... and pam_hoop itself refuses it for what it is.
	gh_token --set repository='"acme-corp/old-app"' >"$T/retired"
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" hoop-test retired "$T/retired"
	[ "$status" -ne 0 ]
	[[ "$(last_auth_reason)" == "deny: identity retired is disabled" ]]
}

@test "refused: replayed jti (single use)" {
	tok=$(gl_token)
	accepted gldeploy "$tok"
	refused gldeploy "replayed token" "$tok"
}

@test "refused: token with a space in it" {
	tok=$(gh_token)
	refused deploy "outside base64url" "${tok:0:100} ${tok:100}"
}

@test "refused: empty answer" {
	refused deploy "no token given" ""
}

@test "refused: issuer down and no cached keys" {
	tok=$(mint sign --kid sso-1 "$P/sso.pem" "$FIX/sso-staff-claims.json" \
		--set iss="\"$(issuer_url sso)\"" --time iat=0 --time exp=300)
	issuer_stop
	refused deploy "issuer keys unavailable" "$tok" || { issuer_start; return 1; }
	# The next login does not wait on the dead issuer again at once.
	refused deploy "fetch held back (last attempt" "$tok" || { issuer_start; return 1; }
	issuer_start
	[[ "$(last_auth_reason)" == *", failed)"* ]]
}

@test "accepted: issuer down with valid cached keys" {
	tok=$(gh_signed cached c-1 cached)
	accepted cacheduser "$tok"
	issuer_stop
	try_auth cacheduser "$tok"
	st=$status
	issuer_start
	[ "$st" -eq 0 ]
	[[ "$(last_auth_reason)" == "allow: accepted: identity cached"* ]]
}

@test "accepted: a rotated key, after one refresh" {
	accepted deploy "$(gh_token)"
	issuer_keys github "$P/gh-next.pem:gh-2" "$P/gh-ec.pem:gh-ec" "$P/gh-ed.pem:gh-ed"
	tok=$(gh_signed github gh-2 gh-next)
	try_auth deploy "$tok"
	st=$status
	# The retired key is gone from the refreshed set.
	try_auth deploy "$(gh_token)"
	st_old=$status
	why_old=$(last_auth_reason)
	issuer_keys github "$P/gh.pem:gh-1" "$P/gh-ec.pem:gh-ec" "$P/gh-ed.pem:gh-ed"
	[ "$st" -eq 0 ]
	[ "$st_old" -ne 0 ]
	[[ "$why_old" == "deny: unknown kid"* ]]
}

# --- What auth decided cannot be forged through the PAM environment. ---

# pam_stack NAME LINES...: a service in the direct client's PAM directory.
pam_stack() {
	local name=$1; shift
	printf '%s\n' "$@" >"$P/pam.d/$name"
}

@test "HOOP_* variables another module sets cannot change who the session is" {
	printf 'HOOP_IDENTITY=gl-deploy\nHOOP_GROUPS=admins\nHOOP_TOKEN_EXP=99999999999\nHOOP_SUBJECT=evil\nHOOP_ISSUER=gitlab\n' >"$T/forged"
	pam_stack forged "auth required $HOOP_BUILD/pam_hoop.so config=$P/hoop.conf" \
		"account required $HOOP_BUILD/pam_hoop.so config=$P/hoop.conf" \
		"session required pam_env.so readenv=1 envfile=$T/forged" \
		"session required $HOOP_BUILD/pam_hoop.so config=$P/hoop.conf nssdb=$NSSDB"
	gh_token >"$T/tok"
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" forged deploy "$T/tok"
	echo "$output"
	[ "$status" -eq 0 ]
	echo "$output" | grep -qx 'env: HOOP_IDENTITY=gh-deploy'
	echo "$output" | grep -qx 'env: HOOP_GROUPS=deployers'
	echo "$output" | grep -qx 'env: HOOP_SUBJECT=repo:acme-corp/payments-api:environment:production'
	sid=$(echo "$output" | sed -n 's/^env: HOOP_SESSION_ID=//p')
	run sqlite3 -cmd '.timeout 10000' "$P/hoop.db" "SELECT s.identity, s.principal, l.identity, l.groups FROM sessions s JOIN leases l ON l.id = s.lease_id WHERE s.id = '$sid'"
	[ "$output" = "gh-deploy|repo:acme-corp/payments-api:environment:production|gh-deploy|deployers" ]
}

@test "a session needs this login's own, unused authentication" {
	# An authentication of gldeploy that never opened a session ...
	pam_stack authonly "auth required $HOOP_BUILD/pam_hoop.so config=$P/hoop.conf" \
		"account required pam_permit.so" "session required pam_permit.so"
	gl_token >"$T/gl"
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" authonly gldeploy "$T/gl"
	[ "$status" -eq 0 ]
	id=$(echo "$output" | sed -n 's/^env: HOOP_AUTH_ID=//p')
	[ "${#id}" -eq 32 ]
	# ... is no good for deploy, whose own auth was skipped.
	printf 'HOOP_AUTH_ID=%s\n' "$id" >"$T/stolen"
	pam_stack stolen "auth required pam_permit.so" \
		"account required pam_permit.so" \
		"session required pam_env.so readenv=1 envfile=$T/stolen" \
		"session required $HOOP_BUILD/pam_hoop.so config=$P/hoop.conf nssdb=$NSSDB"
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" stolen deploy "$T/gl"
	[ "$status" -ne 0 ]
	echo "$output" | grep -q '^open_session: '
	run "$HOOPCTL" -c "$P/hoop.conf" audit list --decision deny --kind session
	[[ "${lines[-1]}" == *"no unused authentication of this login"* ]]
	# Nor can an account stage pass on it.
	pam_stack stolen2 "auth required pam_permit.so" \
		"account required pam_env.so readenv=1 envfile=$T/stolen" \
		"account required $HOOP_BUILD/pam_hoop.so config=$P/hoop.conf" \
		"session required pam_permit.so"
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" stolen2 deploy "$T/gl"
	[ "$status" -ne 0 ]
	echo "$output" | grep -q '^account: '
}

@test "a login of another identity cannot join a live lease" {
	# gh-deploy holds a live lease of deploy (earlier tests); an identity
	# that maps to deploy cannot exist (the loader refuses it), so the
	# lease is made by hand for another identity and deploy must wait.
	sqlite3 -cmd '.timeout 10000' "$P/hoop.db" "UPDATE leases SET identity = 'cached' WHERE login = 'deploy' AND ended_at IS NULL"
	gh_token >"$T/tok"
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" hoop-test deploy "$T/tok"
	sqlite3 -cmd '.timeout 10000' "$P/hoop.db" "UPDATE leases SET identity = 'gh-deploy' WHERE login = 'deploy' AND ended_at IS NULL"
	[ "$status" -ne 0 ]
	run "$HOOPCTL" -c "$P/hoop.conf" audit list --decision deny --kind session
	[[ "${lines[-1]}" == *"deploy is leased to identity cached; identity gh-deploy must wait"* ]]
}

@test "a stale home left by an earlier holder of the uid is cleared for a new lease" {
	tok=$(gh_token --set repository='"acme-corp/ci-jobs"' --set run_id='"777"')
	uid=$(uid_of gh-777)
	mkdir -p "$P/home/gh-777"
	echo planted >"$P/home/gh-777/.profile"
	chown -R "$uid:$uid" "$P/home/gh-777"
	printf '%s\n' "$tok" >"$T/tok"
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" hoop-test gh-777 "$T/tok"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -d "$P/home/gh-777" ]
	[ ! -e "$P/home/gh-777/.profile" ]
	[ "$(stat -c '%u %a' "$P/home/gh-777")" = "$uid 700" ]
}

@test "a home owned by someone else is refused, not taken over" {
	tok=$(gh_token --set repository='"acme-corp/ci-jobs"' --set run_id='"778"')
	mkdir -p "$P/home/gh-778"
	chown 12345:12345 "$P/home/gh-778"
	printf '%s\n' "$tok" >"$T/tok"
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" hoop-test gh-778 "$T/tok"
	[ "$status" -ne 0 ]
	[ "$(stat -c %u "$P/home/gh-778")" = 12345 ]
	run "$HOOPCTL" -c "$P/hoop.conf" audit list --decision deny --kind session
	[[ "${lines[-1]}" == *"stale home"* ]]
}

@test "refused: a subject too long to keep whole" {
	refused deploy "subject longer than 255 bytes" "$(gh_token --set sub="\"$(head -c 300 /dev/zero | tr '\0' s)\"")"
}

@test "refused: exp years ahead" {
	refused deploy "exp more than 366 days ahead" "$(gh_token --time exp=40000000)"
}

@test "refused: non-ASCII in a refusal reason is still audited" {
	refused deploy "no issuer configured" "$(gh_token --set iss="\"$(printf 'A%.0s' $(seq 127))é\"")"
}

# --- Ephemeral users: nss_hoop answers, homes, leases and the reaper. ---

uid_of() {
	"$HOOPCTL" -c "$P/hoop.conf" --nss-db "$NSSDB" nss show "$1" | head -n 1 | cut -d: -f3
}

@test "names resolve before login; uids only while leased" {
	uid=$(uid_of gh-4242)
	[ -n "$uid" ]
	sshd_can_host_module || skip "getent would load the ASan build's module"
	run sshd_as_host getent passwd gh-4242
	[ "$status" -eq 0 ]
	[ "$output" = "gh-4242:*:$uid:$uid:hoop identity gh-run:$P/home/gh-4242:/bin/sh" ]
	run sshd_as_host getent passwd "$uid"
	[ "$status" -eq 2 ]
	run sshd_as_host getent passwd no-such-identity-name
	[ "$status" -eq 2 ]
}

@test "in the session: id, getent and ls -l show the ephemeral user by name" {
	uid=$(uid_of deploy)
	login deploy "$(gh_token)" 'id; getent passwd deploy; getent passwd '"$uid"'; cd && pwd && touch mine && ls -ln mine && ls -l mine'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "uid=$uid(deploy) gid=$uid(deploy) groups=$uid(deploy)"* ]]
	[ "${lines[1]}" = "deploy:*:$uid:$uid:hoop identity gh-deploy:$P/home/deploy:/bin/sh" ]
	[ "${lines[2]}" = "${lines[1]}" ]
	[ "${lines[3]}" = "$P/home/deploy" ]
	[[ "${lines[4]}" == *" $uid $uid "*mine ]]
	[[ "${lines[5]}" == *" deploy deploy "*mine ]]
	[ "$(stat -c '%u %a' "$P/home/deploy")" = "$uid 700" ]
}

@test "mapped token groups become local supplementary groups" {
	tok=$(gh_token --set repository='"acme-corp/short-jobs"')
	login shortjob "$tok" 'id -Gn'
	[ "$status" -eq 0 ]
	[[ " $output " == *" users "* ]]
}

@test "after expiry, hoopctl gc kills what is left of the uid and removes the home" {
	tok=$(gh_token --set repository='"acme-corp/short-jobs"')
	uid=$(uid_of shortjob)
	login shortjob "$tok" 'setsid sleep 600 </dev/null >/dev/null 2>&1 & echo started'
	[ "$status" -eq 0 ]
	pgrep -u "$uid" -x sleep
	[ -d "$P/home/shortjob" ]
	sleep 5	# max_session is 4s
	run "$HOOPCTL" -c "$P/hoop.conf" --nss-db "$NSSDB" gc
	echo "$output"
	[ "$status" -eq 0 ]
	# Killed is enough: a zombie no one reaps (PID 1 of a container)
	# runs nothing.
	if ps -u "$uid" -o pid=,stat= | grep -v ' Z'; then false; fi
	[ ! -e "$P/home/shortjob" ]
	# No longer resolves by uid; a new login gets a fresh lease.
	run "$HOOPCTL" -c "$P/hoop.conf" --nss-db "$NSSDB" nss show "$uid"
	[ "$status" -ne 0 ]
	run sqlite3 -cmd '.timeout 10000' "$P/hoop.db" "SELECT count(*) FROM leases WHERE login='shortjob' AND ended_at IS NOT NULL"
	[ "$output" -ge 1 ]
	login shortjob "$(gh_token --set repository='"acme-corp/short-jobs"')" 'id -u'
	[ "$status" -eq 0 ]
	[ "$output" = "$uid" ]
}

@test "two names on one uid: the second login is refused while the first is leased" {
	# Find two run ids whose names hash to the same uid.
	declare -A seen
	a= b=
	for n in $(seq 1000 3000); do
		u=$(uid_of "gh-$n")
		if [ -n "${seen[$u]:-}" ]; then a=${seen[$u]} b=$n; break; fi
		seen[$u]=$n
	done
	[ -n "$b" ]
	tok_a=$(gh_signed github gh-1 gh --set repository='"acme-corp/ci-jobs"' --set run_id="\"$a\"")
	tok_b=$(gh_signed github gh-1 gh --set repository='"acme-corp/ci-jobs"' --set run_id="\"$b\"")
	printf '%s\n' "$tok_a" >"$T/a"
	printf '%s\n' "$tok_b" >"$T/b"
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" hoop-test "gh-$a" "$T/a"
	[ "$status" -eq 0 ]
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" hoop-test "gh-$b" "$T/b"
	[ "$status" -ne 0 ]
	echo "$output" | grep -q '^account: Permission denied'
	run "$HOOPCTL" -c "$P/hoop.conf" audit list --decision deny
	[[ "${lines[-1]}" == *"uid $(uid_of "gh-$a") of gh-$b already leased to gh-$a"* ]]
}

# --- What the client is told. ---

@test "the client is told the kind of refusal, and nothing more" {
	told deploy "expired" "$(gh_token --time exp=-120)"
	told deploy "not yet valid" "$(gh_token --time nbf=600)"
	told deploy "issued too long ago" "$(gh_token --time iat=-7200)"
	told deploy "signature not valid" "$(alter "$(gh_token)" 2 20)"
	told deploy "signature not valid" "$(gh_signed github gl-1 gl)"
	told deploy "signing algorithm not accepted" "$(gh_token --alg none --sign-alg none)"
	told deploy "audience not accepted" "$(gh_token --set aud='"https://other.example"')"
	told deploy "issuer not accepted" "$(gh_token --set iss="\"$(issuer_url github)/\"")"
	told deploy "issuer not accepted" "$(gh_token --set iss='"https://evil.example"')"
	told deploy "no identity accepts this token for this login" \
		"$(gh_token --set repository='"acme-corp/other"')"
	told gldeploy "no identity accepts this token for this login" "$(gh_token)"
	told deploy "missing or malformed claim" "$(gh_token --del exp)"
	tok=$(gh_token)
	told deploy "malformed token (or unknown login name)" "${tok:0:100} ${tok:100}"
	told deploy "malformed token" "$(gh_token | cut -d. -f1-2)"
	tok=$(gl_token)
	accepted gldeploy "$tok"
	told gldeploy "token already used" "$tok"
}

@test "the stock ssh prints the reason with hoop-askpass" {
	sshd_can_host_module || skip "the ASan build's module runs outside sshd (see sshd.bash)"
	printf '%s\n' "$(gh_token --time exp=-120)" >"$T/token"
	HOOP_TOKEN_FILE=$T/token run sshd_ssh deploy true
	echo "$output"
	[ "$status" -eq 255 ]
	[[ "$output" == *"hoop: token refused: expired"* ]]
	[[ "$output" == *"Permission denied"* ]]
	# A name sshd cannot resolve gets what a garbled token gets: sshd
	# answers for it, and no one learns which names exist.
	told no-such-name "malformed token (or unknown login name)" "$(gh_token)"
}

@test "noreason: the client is told nothing" {
	sed 's|^auth required \(.*\)$|auth required \1 noreason|' "$P/pam.d/hoop-test" >"$P/pam.d/hoop-quiet"
	grep -q 'noreason' "$P/pam.d/hoop-quiet"
	gh_token --time exp=-120 >"$T/token"
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" hoop-quiet deploy "$T/token"
	[ "$status" -ne 0 ]
	[[ "$output" != *"message:"* ]]
	[[ "$(last_auth_reason)" == "deny: expired"* ]]
	# The same without the option: told.
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" hoop-test deploy "$T/token"
	[[ "$output" == *"message: hoop: token refused: expired"* ]]
}

@test "a bastion that cannot check tokens says so, without details" {
	printf 'auth required %s config=%s\n' "$HOOP_BUILD/pam_hoop.so" "$P/no-such.conf" >"$P/pam.d/hoop-broken"
	gh_token >"$T/token"
	run sshd_as_host "$HOOP_BUILD/tests/hoop-pam-conv" "$P/pam.d" hoop-broken deploy "$T/token"
	[ "$status" -ne 0 ]
	[[ "$output" == *"message: hoop: token refused: the bastion cannot check tokens now (its log says why)"* ]]
	[[ "$output" != *no-such.conf* ]]
	[[ "$output" != *"prompt:"* ]]
}

@test "every refusal is an audit event with its reason" {
	run "$HOOPCTL" -c "$P/hoop.conf" audit list --decision deny --json
	[ "$status" -eq 0 ]
	n=$(echo "$output" | grep -c '"kind":"auth"')
	[ "$n" -ge 40 ]
	echo "$output" | grep -q '"reason":"expired'
	echo "$output" | grep -q '"reason":"alg none'
	run "$HOOPCTL" -c "$P/hoop.conf" audit verify
	[ "$status" -eq 0 ]
}
