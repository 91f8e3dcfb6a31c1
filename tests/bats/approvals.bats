#!/usr/bin/env bats
# hoopctl approvals as principals: each approver runs hoopctl under the
# uid of a live lease seeded in a test store (setpriv), with the store's
# group as its group (as the setgid hoop group would give it). Requests
# are seeded as lib/approval.c writes them; list, show, approve, deny,
# refusals, and the notifications a decision sends: a webhook to a local
# receiver (signature checked here with openssl), a dead one, one that
# never answers, and a command hook.
load helpers

# shellcheck source=tests/bats/net.bash
. "$BATS_TEST_DIRNAME/net.bash"

G=60555				# the store's group ("hoop")
ALICE=60101 BOB=60102 CAROL=60103 NOBODY=60104
ID=abcdefghjk23

setup() {
	T=$(mktemp -d /tmp/hoop-bats-appr.XXXXXX)
	chmod 755 "$T"
	mkdir -m 2770 "$T/state"
	chgrp "$G" "$T/state"
	RECV_PID=
}

teardown() {
	[ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null
	wait 2>/dev/null || true
	rm -rf "$T"
}

# approvals_config [EXTRA]: a configuration with one approve rule; EXTRA
# (notify sections) is appended. Migrates the store as root.
approvals_config() {
	cat >"$T/hoop.conf" <<CONF
store = "$T/state/hoop.db"
recordings = "$T/rec"

issuer "ci" {
	url = "https://issuer.example.test"
	audience = {"hoop"}
}

identity "staff" {
	issuer = "ci"
	claim "role" { equals = {"staff"} }
	login_template = "sso-\${preferred_username}"
}

target "prod" {
	type = "postgres"
	host = "127.0.0.1"
	user = "app"
}

policy "dba" {
	identities = {"staff"}
	targets = {"prod"}
	rule "writes" {
		action = "approve"
		statements = {"write"}
		approvers = {"dba-leads"}
	}
}
${1:-}
CONF
	chmod 644 "$T/hoop.conf"
	run "$HOOPCTL" -c "$T/hoop.conf" db migrate
	[ "$status" -eq 0 ]
	chgrp "$G" "$T/state/hoop.db"
	chmod 660 "$T/state/hoop.db"
	add_lease sso-alice $ALICE dev
	add_lease sso-bob $BOB dba-leads,dev
	add_lease sso-carol $CAROL ops
}

db() {
	sqlite3 "$T/state/hoop.db" "$@"
}

add_lease() {	# login uid groups
	db "INSERT INTO leases (login, uid, identity, issuer, subject,
	    claims_digest, created_at, expires_at, groups) VALUES ('$1', $2,
	    'staff', 'ci', 'sub-$1', 'd', strftime('%s','now') - 60,
	    strftime('%s','now') + 3600, '$3')"
}

# A pending request of sso-alice, as hoop_approval_request stores it.
add_request() {	# id [request text]
	db "INSERT INTO approvals (id, session_id, principal, identity, issuer,
	    subject, target, kind, fingerprint, request, policy, rule, status,
	    covers, approvers, approvals_required, approval_mode,
	    grant_seconds, created_at, expires_at) VALUES ('$1', 'sess-42',
	    'sso-alice', 'staff', 'ci', 'sub-sso-alice', 'prod', 'sql',
	    'fp-$1', '${2:-DELETE FROM orders WHERE id = 7}', 'dba', 'writes',
	    'pending', 'once', 'dba-leads', 1, 'any', 0,
	    strftime('%s','now'), strftime('%s','now') + 900)"
}

# as UID hoopctl ARGS...: the real uid is the principal's; env cleared
# but for what a login session has.
as() {
	local uid=$1
	shift
	env -i PATH=/usr/bin:/bin USER=sso-bob LOGNAME=sso-bob \
	    setpriv --reuid="$uid" --regid="$G" --clear-groups \
	    "$HOOPCTL" -c "$T/hoop.conf" "$@"
}

# A webhook receiver on loopback: each request's headers go to
# $RECV/headers.N and its body to $RECV/body.N; it answers 204.
receiver_start() {
	RECV=$T/recv
	mkdir -p "$RECV"
	cat >"$T/handler.sh" <<'SH'
export LC_ALL=C
n=$(date +%s%N)
read -r method target _ || exit 0
len=0
while IFS= read -r line; do
	line=${line%$'\r'}
	[ -z "$line" ] && break
	printf '%s\n' "$line" >>"$RECV/h.$n"
	case ${line,,} in
	content-length:*) len=${line#*:}; len=${len//[^0-9]/} ;;
	esac
done
head -c "$len" >"$RECV/body.$n"
mv "$RECV/h.$n" "$RECV/headers.$n"
echo "$method $target" >>"$RECV/requests"
printf 'HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n'
SH
	RECV_PORT=$(free_port)
	RECV=$RECV socat -T 5 "TCP-LISTEN:$RECV_PORT,bind=127.0.0.1,reuseaddr,fork" \
	    SYSTEM:"exec bash $T/handler.sh" 2>"$T/socat.log" &
	RECV_PID=$!
	export RECV
	for _ in $(seq 100); do
		ss -Hltn "sport = :$RECV_PORT" | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

# A listener that accepts and never answers.
silent_start() {
	RECV_PORT=$(free_port)
	socat "TCP-LISTEN:$RECV_PORT,bind=127.0.0.1,reuseaddr,fork" \
	    SYSTEM:"sleep 30" 2>/dev/null &
	RECV_PID=$!
	for _ in $(seq 100); do
		ss -Hltn "sport = :$RECV_PORT" | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

@test "an approver lists and shows pending requests; the requester does not list their own" {
	approvals_config
	add_request $ID
	run as $BOB approvals list
	[ "$status" -eq 0 ]
	[[ "$output" == *"$ID  pending"*"sso-alice"*"prod"*"dba/writes"*"DELETE FROM orders WHERE id = 7"* ]]
	run as $ALICE approvals list
	[ "$status" -eq 0 ]
	[[ "$output" != *"$ID"* ]]
	run as $ALICE approvals list --all
	[ "$status" -eq 0 ]
	[[ "$output" == *"$ID"* ]]
	run as $CAROL approvals list --all
	[ "$status" -eq 0 ]
	[[ "$output" != *"$ID"* ]]

	run as $BOB approvals show $ID
	[ "$status" -eq 0 ]
	[[ "$output" == *"principal:   sso-alice (identity staff, issuer ci, subject sub-sso-alice)"* ]]
	[[ "$output" == *"session:     sess-42"* ]]
	[[ "$output" == *"target:      prod"* ]]
	[[ "$output" == *"rule:        dba/writes"* ]]
	[[ "$output" == *"approvers:   dba-leads (1 approval from any group; 0 of 1 so far)"* ]]
	[[ "$output" == *"requested:"* && "$output" == *"expires:"* ]]
	[[ "$output" == *$'request:\n    DELETE FROM orders WHERE id = 7'* ]]
	run as $CAROL approvals show $ID
	[ "$status" -eq 1 ]
	[[ "$output" == *"no request $ID that you may see"* ]]
}

@test "a statement with terminal escapes is shown escaped" {
	approvals_config
	add_request $ID "$(printf 'SELECT 1;\033[2J\033]0;owned\007 DROP TABLE x')"
	run as $BOB approvals show $ID
	[ "$status" -eq 0 ]
	[[ "$output" != *$'\033'* && "$output" != *$'\007'* ]]
	[[ "$output" == *'SELECT 1;\x1b[2J\x1b]0;owned\x07 DROP TABLE x'* ]]
}

@test "self-approval, a wrong group and a second vote are refused" {
	approvals_config
	add_request $ID
	# The environment names bob: it does not matter, the uid does.
	run as $ALICE approvals approve $ID
	[ "$status" -eq 1 ]
	[[ "$output" == *"no one approves or denies their own request"* ]]
	run as $CAROL approvals approve $ID
	[ "$status" -eq 1 ]
	[[ "$output" == *"sso-carol holds none of the approver groups of request $ID (dba-leads)"* ]]
	[ "$(db "SELECT status FROM approvals WHERE id = '$ID'")" = pending ]
	[ "$(db "SELECT count(*) FROM approval_votes")" = 0 ]
	run as $NOBODY approvals list
	[ "$status" -eq 1 ]
	[[ "$output" == *"uid $NOBODY has no live hoop lease"* ]]
	run as $BOB approvals approve nosuchid2345
	[ "$status" -eq 1 ]
	[[ "$output" == *"no request nosuchid2345"* ]]
}

@test "approve decides the request, once, and is recorded" {
	approvals_config
	add_request $ID
	run as $BOB approvals approve $ID --reason "checked with alice"
	[ "$status" -eq 0 ]
	[ "$output" = "request $ID approved" ]
	[ "$(db "SELECT status, decided_at > 0, grant_until > strftime('%s','now') FROM approvals WHERE id = '$ID'")" = "approved|1|1" ]
	[ "$(db "SELECT approver, decision, reason, groups FROM approval_votes")" = "sso-bob|approve|checked with alice|dba-leads" ]
	[ "$(db "SELECT principal, decision FROM audit_events WHERE kind = 'approval' AND action = 'approved' AND json_extract(detail, '\$.id') = '$ID'")" = "sso-bob|approve" ]
	run as $BOB approvals approve $ID
	[ "$status" -eq 1 ]
	[[ "$output" == *"request $ID is approved, not pending"* ]]
	run as $BOB approvals show $ID
	[[ "$output" == *"vote:"*"sso-bob approve as dba-leads: checked with alice"* ]]
	run as $BOB approvals list
	[[ "$output" != *"$ID"* ]]
	run "$HOOPCTL" -c "$T/hoop.conf" audit verify
	[ "$status" -eq 0 ]
}

@test "deny needs a reason, denies, and the reason is kept" {
	approvals_config
	add_request $ID
	run as $BOB approvals deny $ID
	[ "$status" -eq 2 ]
	[[ "$output" == *"--reason is required"* ]]
	run as $BOB approvals deny $ID --reason "not during the sale"
	[ "$status" -eq 0 ]
	[ "$output" = "request $ID denied" ]
	[ "$(db "SELECT status, reason FROM approvals WHERE id = '$ID'")" = "denied|not during the sale" ]
	[ "$(db "SELECT count(*) FROM audit_events WHERE action = 'denied' AND principal = 'sso-bob'")" = 1 ]
}

@test "an expired request cannot be approved and is recorded as expired" {
	approvals_config
	add_request $ID
	db "UPDATE approvals SET created_at = created_at - 1000, expires_at = strftime('%s','now') - 1"
	run as $BOB approvals approve $ID
	[ "$status" -eq 1 ]
	[[ "$output" == *"request $ID is expired, not pending"* ]]
	[ "$(db "SELECT count(*) FROM audit_events WHERE action = 'expired' AND json_extract(detail, '\$.id') = '$ID'")" = 1 ]
}

@test "hoopctl gc expires requests past their time, on time, with no one looking" {
	approvals_config
	add_request $ID
	add_request ${ID}2
	db "UPDATE approvals SET created_at = created_at - 1000, expires_at = strftime('%s','now') - 1 WHERE id = '$ID'"
	run "$HOOPCTL" -c "$T/hoop.conf" gc
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 approval requests expired"* ]]
	[ "$(db "SELECT status FROM approvals WHERE id = '$ID'")" = expired ]
	[ "$(db "SELECT status FROM approvals WHERE id = '${ID}2'")" = pending ]
	[ "$(db "SELECT count(*) FROM audit_events WHERE action = 'expired' AND json_extract(detail, '\$.id') = '$ID'")" = 1 ]
	run "$HOOPCTL" -c "$T/hoop.conf" gc
	[[ "$output" == *"0 approval requests expired"* ]]
}

@test "root lists and shows every request, and approves only as a principal" {
	approvals_config
	add_request $ID
	run "$HOOPCTL" -c "$T/hoop.conf" approvals list
	[ "$status" -eq 0 ]
	[[ "$output" == *"$ID"* ]]
	run "$HOOPCTL" -c "$T/hoop.conf" approvals show $ID
	[ "$status" -eq 0 ]
	run "$HOOPCTL" -c "$T/hoop.conf" approvals approve $ID
	[ "$status" -eq 1 ]
	[[ "$output" == *"root approves only as a principal"* ]]
	[ "$(db "SELECT status FROM approvals WHERE id = '$ID'")" = pending ]
}

@test "a decision reaches a webhook on loopback with a valid HMAC signature" {
	receiver_start
	printf 'whsec-%s\n' "$RANDOM$RANDOM" >"$T/wh.secret"
	chgrp "$G" "$T/wh.secret"
	chmod 640 "$T/wh.secret"
	approvals_config "notify \"ops\" {
	url = \"http://127.0.0.1:$RECV_PORT/hook\"
	secret_file = \"$T/wh.secret\"
	timeout = \"5s\"
}"
	add_request $ID
	run as $BOB approvals approve $ID
	[ "$status" -eq 0 ]
	# hoopctl waits for its notifications before it exits.
	h=$(ls "$RECV"/headers.* | head -n 1)
	b=${h/headers/body}
	[ "$(cat "$RECV/requests")" = "POST /hook" ]
	grep -qi '^content-type: application/json' "$h"
	ts=$(grep -i '^x-hoop-timestamp:' "$h" | awk '{print $2}')
	sig=$(grep -i '^x-hoop-signature:' "$h" | awk '{print $2}')
	[ $(( $(date +%s) - ts )) -lt 60 ]
	want=sha256=$( { printf '%s.' "$ts"; cat "$b"; } |
	    openssl dgst -sha256 -hmac "$(head -n 1 "$T/wh.secret")" | awk '{print $NF}')
	[ "$sig" = "$want" ]
	[ "$(jq -r '.event, .id, .by, .principal, .target, .request, .approvers[0]' "$b")" = "approved
$ID
sso-bob
sso-alice
prod
DELETE FROM orders WHERE id = 7
dba-leads" ]
	# A changed body no longer matches.
	bad=sha256=$( { printf '%s.' "$ts"; sed 's/orders/0rders/' "$b"; } |
	    openssl dgst -sha256 -hmac "$(head -n 1 "$T/wh.secret")" | awk '{print $NF}')
	[ "$sig" != "$bad" ]
	[ "$(db "SELECT decision FROM audit_events WHERE action = 'notified' AND json_extract(detail, '\$.sink') = 'ops'")" = info ]
}

@test "the Slack format posts a text" {
	receiver_start
	approvals_config "notify \"chat\" {
	url = \"http://127.0.0.1:$RECV_PORT/slack\"
	format = \"slack\"
}"
	add_request $ID "DELETE FROM t WHERE a < 3"
	run as $BOB approvals deny $ID --reason "use <staging> first"
	[ "$status" -eq 0 ]
	b=$(ls "$RECV"/body.* | head -n 1)
	[ "$(jq -r 'keys | join(",")' "$b")" = text ]
	text=$(jq -r .text "$b")
	[[ "$text" == *"request $ID of sso-alice"*"denied by sso-bob: use &lt;staging&gt; first"* ]]
	[[ "$text" == *"a &lt; 3"* ]]
}

@test "a dead or silent webhook endpoint changes nothing" {
	port=$(free_port)
	approvals_config "notify \"dead\" {
	url = \"http://127.0.0.1:$port/hook\"
	timeout = \"2s\"
}"
	add_request $ID
	run as $BOB approvals approve $ID
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "request $ID approved" ]
	# The approver hears of the failure; nothing else does.
	[[ "$output" == *"notify dead: failed: "* ]]
	[ "$(db "SELECT status FROM approvals WHERE id = '$ID'")" = approved ]
	[ "$(db "SELECT decision FROM audit_events WHERE action = 'notified'")" = error ]

	silent_start
	sed -i "s|127.0.0.1:$port|127.0.0.1:$RECV_PORT|; s|\"2s\"|\"1s\"|" "$T/hoop.conf"
	add_request abcdefghjk24
	start=$(date +%s)
	run as $BOB approvals deny abcdefghjk24 --reason no
	[ "$status" -eq 0 ]
	[ $(( $(date +%s) - start )) -lt 10 ]
	[ "$(db "SELECT status FROM approvals WHERE id = 'abcdefghjk24'")" = denied ]
	[ "$(db "SELECT count(*) FROM audit_events WHERE action = 'notified' AND decision = 'error'")" = 2 ]
}

@test "a command hook gets the event as JSON on its input" {
	mkdir -m 777 "$T/hook"
	approvals_config "notify \"mail\" {
	command = {\"/bin/sh\", \"-c\", \"cat >$T/hook/event.json\"}
	timeout = \"5s\"
}"
	add_request $ID
	run as $BOB approvals approve $ID
	[ "$status" -eq 0 ]
	[ "$(jq -r '.event, .id, .by' "$T/hook/event.json")" = "approved
$ID
sso-bob" ]
	[ "$(db "SELECT decision FROM audit_events WHERE action = 'notified' AND json_extract(detail, '\$.sink') = 'mail'")" = info ]
}
