#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# hoop-kubewrap with the real kubectl (Debian's 1.20) against the fixture
# API server (tests/tools/kube-fixture), run as leased test users: reads,
# writes, logs -f, exec; refusals printed by kubectl as Forbidden; an
# approval-gated scale; Secret values masked in every form kubectl shows
# them; path tricks; refused flags and KUBECONFIG; where the cluster's
# credential must not be seen; the audit events.
#
# hoop-kubewrap is the test build that reads $HOOP_BUILD/tests/kubewrap/
# hoop.conf and runs $HOOP_BUILD/tests/kubewrap/bin/kubectl (a link to
# the real one), copied setgid to a group of its own (HOOP_GID) as it is
# installed.
load helpers
load kube-fixture

HOOP_GID=59996
KW=$HOOP_BUILD/tests/kubewrap
CONF=$KW/hoop.conf
VIEWER=60401 OPERATOR=60402 APPROVER=60403 MASKER=60404

setup_file() {
	P=$(mktemp -d /tmp/hoop-kubewrap-bats.XXXXXX)
	chmod 755 "$P"
	mkdir -p "$P/bin" "$P/var" "$P/work" "$P/other"
	chmod 1777 "$P/work"
	chgrp "$HOOP_GID" "$P/var"
	chmod 2770 "$P/var"
	export KUBE_FIXTURE_FOLLOW_IDLE=30
	kube_fixture_start "$P/fixture"
	chmod 755 "$P/fixture"
	ONESHOT_PORT=$(free_port)
	export ONESHOT_PORT
	secret "$P/kube.token" "$KUBE_FIXTURE_TOKEN"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$P/other/ca-key.pem" -out "$P/other/ca.pem" -days 2 \
		-subj /CN=other-ca 2>/dev/null
	chmod 644 "$P/other/ca.pem"
	mkdir -p "$KW/bin"
	rm -f "$KW/bin/kubectl"
	ln -s /usr/bin/kubectl "$KW/bin/kubectl"
	write_conf
	"$HOOPCTL" -c "$CONF" config check >/dev/null
	"$HOOPCTL" -c "$CONF" db migrate >/dev/null
	chgrp "$HOOP_GID" "$P/var"/hoop.db*
	chmod 0660 "$P/var"/hoop.db*
	lease viewer $VIEWER viewers
	lease operator $OPERATOR operators
	lease approver $APPROVER sre
	lease masker $MASKER maskers
	cp "$KW/hoop-kubewrap" "$P/bin/hoop-kubewrap"
	chgrp "$HOOP_GID" "$P/bin/hoop-kubewrap"
	chmod 2755 "$P/bin/hoop-kubewrap"
	ln -s hoop-kubewrap "$P/bin/kubectl"
	export P
}

teardown_file() {
	kube_fixture_stop
	rm -rf "$P"
}

setup() {
	BG_PID=
}

teardown() {
	if [ -n "$BG_PID" ]; then
		kill "$BG_PID" 2>/dev/null
		wait "$BG_PID" 2>/dev/null
	fi
	return 0
}

secret() {	# FILE VALUE: group hoop, 0640, as hoop.conf wants it
	printf '%s\n' "$2" >"$1"
	chgrp "$HOOP_GID" "$1"
	chmod 0640 "$1"
}

write_conf() {
	cat >"$CONF" <<CONF
store = "$P/var/hoop.db"
recordings = "$P/var/rec"

issuer "ci" {
	url = "https://issuer.example.test"
	audience = {"hoop"}
}
CONF
	for who in viewer operator approver masker; do
		cat >>"$CONF" <<CONF
identity "$who" {
	issuer = "ci"
	claim "repository" { equals = {"acme/$who"} }
	login = "$who"
	home = false
}
CONF
	done
	cat >>"$CONF" <<CONF
target "fixture" {
	type = "kubernetes"
	server = "$KUBE_FIXTURE_URL"
	ca_file = "$KUBE_FIXTURE_CA"
	secret_file = "$P/kube.token"
}
target "localhost" {
	type = "kubernetes"
	server = "https://localhost:$KUBE_FIXTURE_PORT"
	ca_file = "$KUBE_FIXTURE_CA"
	secret_file = "$P/kube.token"
}
target "oneshot" {
	type = "kubernetes"
	server = "https://127.0.0.1:$ONESHOT_PORT"
	ca_file = "$KUBE_FIXTURE_CA"
	secret_file = "$P/kube.token"
}
target "badca" {
	type = "kubernetes"
	server = "$KUBE_FIXTURE_URL"
	ca_file = "$P/other/ca.pem"
	secret_file = "$P/kube.token"
}
policy "viewers" {
	groups = {"viewers"}
	targets = {"fixture", "localhost", "badca"}
	rule "reads" {
		action = "allow"
		verbs = {"get", "list", "watch"}
		resources = {"*"}
	}
	rule "no-prod-secrets" {
		action = "deny"
		verbs = {"*"}
		resources = {"secrets"}
		namespaces = {"prod"}
	}
}
policy "operators" {
	groups = {"operators"}
	targets = {"fixture", "oneshot"}
	rule "everything" {
		action = "allow"
		verbs = {"*"}
		resources = {"*"}
	}
	rule "no-delete-in-prod" {
		action = "deny"
		verbs = {"delete", "deletecollection"}
		resources = {"*"}
		namespaces = {"prod"}
	}
	rule "scale" {
		action = "approve"
		verbs = {"update", "patch"}
		api_groups = {"apps"}
		resources = {"deployments/scale"}
		approvers = {"sre"}
	}
}
policy "maskers" {
	groups = {"maskers"}
	targets = {"fixture"}
	rule "all" {
		action = "allow"
		verbs = {"*"}
		resources = {"*"}
	}
	mask "urls" {
		pattern = 'postgres://[^ "]*'
	}
	mask "emails" {
		pattern = "builtin:email"
	}
}
CONF
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

k() {	# UID ARGS...: kubectl through hoop, on cluster fixture
	local uid=$1
	shift
	as "$uid" "$P/bin/kubectl" --context fixture "$@"
}

# The start of a Python client of the proxy, run by kubectl as a plugin:
# port, one-time token and TLS context from its kubeconfig.
kubeconfig_py() {
	cat <<'PY'
import base64, os, re, socket, ssl
cfg = open(os.environ["KUBECONFIG"]).read()
port = int(re.search(r"server: https://127.0.0.1:(\d+)", cfg).group(1))
tok = re.search(r"token: (\S+)", cfg).group(1)
ca = base64.b64decode(re.search(r"certificate-authority-data: (\S+)", cfg).group(1)).decode()
ctx = ssl.create_default_context(cadata=ca)
PY
}

# UID CONTEXT NAME: $P/work/NAME.py run by kubectl as plugin NAME (kubectl
# runs plugins from PATH with KUBECONFIG set), as UID on cluster CONTEXT.
run_py_plugin() {
	mkdir -p "$P/work/plug-$3"
	printf '#!/bin/bash\nexec python3 -B %s\n' "$P/work/$3.py" \
	    >"$P/work/plug-$3/kubectl-$3"
	chmod 644 "$P/work/$3.py"
	chmod 755 "$P/work/plug-$3" "$P/work/plug-$3/kubectl-$3"
	env -i HOME=/nonexistent PATH="$P/work/plug-$3:/usr/bin:/bin" \
	    LANG=C.UTF-8 setpriv --reuid="$1" --regid="$1" --clear-groups \
	    "$P/bin/kubectl" --context "$2" "$3"
}

wait_output() {	# file grep-pattern
	for _ in $(seq 200); do
		grep -Eq -- "$2" "$1" && return 0
		sleep 0.05
	done
	echo "no $2 in $1:"; cat "$1"
	return 1
}

@test "get, describe, apply, delete through the proxy; the server sees the target's token and canonical paths" {
	run k $VIEWER get pods
	[ "$status" -eq 0 ]
	[[ "$output" == *toolbox*Running* ]]
	run k $VIEWER describe deployment web
	[ "$status" -eq 0 ]
	[[ "$output" == *"nginx:1.25"* ]]
	cat >"$P/work/cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: applied
  namespace: default
data:
  k: v1
YAML
	chmod 644 "$P/work/cm.yaml"
	run k $OPERATOR apply -f "$P/work/cm.yaml"
	[ "$status" -eq 0 ]
	[[ "$output" == *"configmap/applied created"* ]]
	run k $OPERATOR get configmap applied -o 'jsonpath={.data.k}'
	[ "$output" = v1 ]
	run k $OPERATOR delete configmap applied
	[ "$status" -eq 0 ]
	[[ "$output" == *'configmap "applied" deleted'* ]]
	# Everything reached the fixture as fixture-admin, by bearer token.
	run bash -c "cut -f4,5 '$KUBE_FIXTURE_DIR/requests.log' | sort -u"
	[ "$output" = $'user=fixture-admin\tauth=bearer' ]
}

@test "a write under a read-only policy and a delete in prod are Forbidden, cleanly" {
	run k $VIEWER delete pod toolbox
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = 'Error from server (Forbidden): hoop: delete pods "toolbox" in namespace default is denied: no rule allows it' ]
	run k $OPERATOR -n prod delete deployment api
	[ "$status" -eq 1 ]
	[[ "$output" == 'Error from server (Forbidden): hoop: no-delete-in-prod: delete deployments.apps "api" in namespace prod is denied'* ]]
	run k $VIEWER get pod toolbox
	[ "$status" -eq 0 ]
	run db "SELECT decision || ' ' || coalesce(rule, '-') || ' ' || json_extract(detail, '$.status') FROM audit_events WHERE kind = 'kube' AND principal = 'operator' AND action = 'DELETE /apis/apps/v1/namespaces/prod/deployments/api'"
	[ "$output" = "deny no-delete-in-prod 403" ]
}

@test "each request is audited: its decision before it is sent, then status and duration" {
	seq=$(db "SELECT coalesce(max(seq), 0) FROM audit_events")
	run k $VIEWER get pod toolbox -o name
	[ "$status" -eq 0 ]
	run db "SELECT decision, rule, target, json_extract(detail, '$.verb'), json_extract(detail, '$.resource'), json_extract(detail, '$.namespace'), json_extract(detail, '$.name'), coalesce(json_extract(detail, '$.status'), '-'), coalesce(json_extract(detail, '$.duration_ms') >= 0, '-') FROM audit_events WHERE seq > $seq AND kind = 'kube' AND principal = 'viewer' AND action = 'GET /api/v1/namespaces/default/pods/toolbox' ORDER BY seq"
	[ "$output" = "allow|reads|fixture|get|pods|default|toolbox|-|-
info|reads|fixture|get|pods|default|toolbox|200|1" ]
}

@test "a decision that cannot be audited is not sent to the server" {
	k $OPERATOR create configmap audit-victim --from-literal=a=b >/dev/null
	# The store refuses the decision event of this one request.
	sqlite3 "$P/var/hoop.db" "CREATE TRIGGER refuse_victim BEFORE INSERT ON audit_events WHEN NEW.action = 'DELETE /api/v1/namespaces/default/configmaps/audit-victim' BEGIN SELECT RAISE(ABORT, 'refused'); END"
	run k $OPERATOR delete --raw /api/v1/namespaces/default/configmaps/audit-victim
	sqlite3 "$P/var/hoop.db" "DROP TRIGGER refuse_victim"
	[ "$status" -ne 0 ]
	[[ "$output" == *"the audit log cannot be written"* ]]
	if grep -q $'^DELETE\t/api/v1/namespaces/default/configmaps/audit-victim' \
	    "$KUBE_FIXTURE_DIR/requests.log"; then false; fi
	run k $VIEWER get configmap audit-victim -o name
	[ "$output" = configmap/audit-victim ]
}

@test "the query is audited, a long one cut rather than left out" {
	pad=$(printf 'A%.0s' $(seq 5000))
	run k $VIEWER get --raw "/api/v1/namespaces/default/configmaps?limit=1&pad=$pad"
	[ "$status" -eq 0 ]
	run db "SELECT substr(json_extract(detail, '$.query'), 1, 12), length(json_extract(detail, '$.query')), json_extract(detail, '$.query_truncated') FROM audit_events WHERE kind = 'kube' AND principal = 'viewer' AND action = 'GET /api/v1/namespaces/default/configmaps' ORDER BY seq DESC LIMIT 1"
	[ "$output" = "limit=1&pad=|4096|1" ]
	run k $VIEWER get --raw "/api/v1/namespaces/default/configmaps?limit=2"
	[ "$status" -eq 0 ]
	run db "SELECT json_extract(detail, '$.query'), json_extract(detail, '$.query_truncated') IS NULL FROM audit_events WHERE kind = 'kube' AND principal = 'viewer' AND action = 'GET /api/v1/namespaces/default/configmaps' ORDER BY seq DESC LIMIT 1"
	[ "$output" = "limit=2|1" ]
}

@test "Secret values are masked: get -o yaml, -o json, jsonpath, list, table, watch; keys stay" {
	run k $VIEWER get secret db-creds -o yaml
	[ "$status" -eq 0 ]
	[[ "$output" == *"password: Kioq"* ]]
	[[ "$output" == *"username: Kioq"* ]]
	[[ "$output" != *czNjcjN0* ]]
	run k $VIEWER get secret db-creds -o json
	[[ "$output" == *'"password": "Kioq"'* ]]
	run k $VIEWER get secret db-creds -o 'jsonpath={.data.password}'
	[ "$(base64 -d <<<"$output")" = '***' ]
	run k $VIEWER get secrets -o json
	[ "$status" -eq 0 ]
	[[ "$output" == *'"password": "Kioq"'* ]]
	[[ "$output" != *czNjcjN0* ]]
	run k $VIEWER get secrets
	[ "$status" -eq 0 ]
	[[ "$output" == *db-creds*Opaque*2* ]]
	run k $VIEWER get secrets -A -o json
	[ "$status" -eq 1 ]	# spans prod, which viewers may not read
	[[ "$output" == *"Forbidden"*"no-prod-secrets"* ]]
	# stringData given on create, and the copy kubectl apply keeps.
	cat >"$P/work/secret.yaml" <<'YAML'
apiVersion: v1
kind: Secret
metadata:
  name: applied-secret
  namespace: default
stringData:
  apikey: plain-apikey-value
YAML
	chmod 644 "$P/work/secret.yaml"
	run k $OPERATOR apply -f "$P/work/secret.yaml"
	[ "$status" -eq 0 ]
	run k $VIEWER get secret applied-secret -o json
	[ "$status" -eq 0 ]
	[[ "$output" != *plain-apikey-value* ]]
	[[ "$output" != *cGxhaW4tYXBpa2V5LXZhbHVl* ]]
	[[ "$output" == *last-applied-configuration* ]]
	# Watch: the events of a change made while it watches.
	k $VIEWER get secrets -w -o json >"$P/work/watch.out" 2>&1 3>&- &
	BG_PID=$!
	wait_output "$P/work/watch.out" '"name": "db-creds"'
	k $OPERATOR create secret generic watched --from-literal=pw=watched-pw-value
	wait_output "$P/work/watch.out" '"name": "watched"'
	if grep -q -e d2F0Y2hlZC1wdy12YWx1ZQ -e czNjcjN0 "$P/work/watch.out"; then false; fi
	grep -q '"pw": "Kioq"' "$P/work/watch.out"
	k $VIEWER get secrets -w >"$P/work/watch-table.out" 2>&1 3>&- &
	wait_output "$P/work/watch-table.out" '^db-creds +Opaque +2'
	kill $! 2>/dev/null || true
	k $OPERATOR delete secret watched applied-secret >/dev/null
}

@test "patterns mask ConfigMap values, env values and log lines" {
	run k $MASKER get configmap app-config -o json
	[ "$status" -eq 0 ]
	[[ "$output" != *cm-s3cret* ]]
	[[ "$output" == *'"LOG_LEVEL": "info"'* ]]
	k $MASKER create configmap envy --from-literal=x=y >/dev/null
	k $MASKER run envpod --image=busybox:1.36 --env=DSN=postgres://u:env-s3cret@db/x --restart=Never >/dev/null
	run k $MASKER get pod envpod -o json
	[ "$status" -eq 0 ]
	[[ "$output" != *env-s3cret* ]]
	kube_fixture_log default envpod "mail bob@example.com now"
	kube_fixture_log_end default envpod
	run k $MASKER logs envpod
	[ "$status" -eq 0 ]
	[[ "$output" != *bob@example.com* ]]
	[[ "$output" == *"mail "*" now"* ]]
	# Without masks, the same values pass.
	run k $VIEWER get configmap app-config -o 'jsonpath={.data.DATABASE_URL}'
	[ "$output" = "postgres://app:cm-s3cret@db:5432/app" ]
	k $MASKER delete pod envpod >/dev/null
	k $MASKER delete configmap envy >/dev/null
}

@test "logs -f streams lines as they come" {
	kube_fixture_log default web-follow "first line"
	k $OPERATOR run web-follow --image=busybox:1.36 --restart=Never >/dev/null
	k $VIEWER logs -f web-follow >"$P/work/follow.out" 2>&1 3>&- &
	BG_PID=$!
	wait_output "$P/work/follow.out" '^first line$'
	kube_fixture_log default web-follow "second line"
	wait_output "$P/work/follow.out" '^second line$'
	kube_fixture_log_end default web-follow
	wait "$BG_PID"
	BG_PID=
	k $OPERATOR delete pod web-follow >/dev/null
}

@test "exec is decided as create pods/exec: relayed when allowed, Forbidden otherwise" {
	run k $OPERATOR exec toolbox -- echo hi
	[ "$status" -eq 0 ]
	[ "$output" = hi ]
	run k $OPERATOR exec toolbox -- sh -c 'echo out; echo err >&2; exit 3'
	[ "$status" -eq 3 ]
	[[ "$output" == *out* && "$output" == *err* ]]
	run db "SELECT decision || ' ' || json_extract(detail, '$.status') FROM audit_events WHERE kind = 'kube' AND action = 'POST /api/v1/namespaces/default/pods/toolbox/exec' ORDER BY seq DESC LIMIT 1"
	[ "$output" = "info 101" ]
	run k $VIEWER exec toolbox -- echo hi
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Forbidden"*"create pods/exec \"toolbox\" in namespace default is denied"* ]]
}

@test "stdin reaches exec -i through the relay" {
	printf 'alpha\nbeta\n' >"$P/work/stdin"
	chmod 644 "$P/work/stdin"
	run bash -c "$(declare -f as k); P='$P' HOOP_BUILD='$HOOP_BUILD' k $OPERATOR exec -i toolbox -- cat <'$P/work/stdin'"
	[ "$status" -eq 0 ]
	[ "$output" = $'alpha\nbeta' ]
}

@test "a scale under an approve rule waits, and runs once another identity approves" {
	AS_ENV="HOOP_APPROVAL_WAIT=60" k $OPERATOR scale deployment web --replicas=3 >"$P/work/scale.out" 2>&1 3>&- &
	BG_PID=$!
	for _ in $(seq 100); do
		id=$(db "SELECT id FROM approvals WHERE status = 'pending' AND principal = 'operator' ORDER BY created_at DESC LIMIT 1")
		[ -n "$id" ] && break
		sleep 0.1
	done
	[ -n "$id" ]
	run db "SELECT kind || ' ' || target || ' ' || substr(request, 1, 60) FROM approvals WHERE id = '$id'"
	[ "$output" = "kube fixture PATCH /apis/apps/v1/namespaces/default/deployments/web/scale" ]
	kill -0 "$BG_PID"	# still waiting
	env -i PATH=/usr/bin:/bin setpriv --reuid=$APPROVER --regid=$HOOP_GID --clear-groups \
	    "$HOOPCTL" -c "$CONF" approvals approve "$id"
	wait "$BG_PID"
	BG_PID=
	grep -q "deployment.apps/web scaled" "$P/work/scale.out"
	run k $VIEWER get deployment web -o 'jsonpath={.spec.replicas}'
	[ "$output" = 3 ]
	run db "SELECT reason FROM audit_events WHERE kind = 'kube' AND decision = 'allow' AND action = 'PATCH /apis/apps/v1/namespaces/default/deployments/web/scale'"
	[ "$output" = "approved (request $id, rule scale)" ]
	# Without waiting, the refusal names the request.
	AS_ENV="HOOP_APPROVAL_WAIT=0" run k $OPERATOR scale deployment web --replicas=2
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"hoop: this needs approval: request "* ]]
	[[ "$output" == *"Error from server (Forbidden): hoop: scale: patch deployments.apps/scale \"web\" in namespace default is denied: not approved (request "*": pending)" ]]
}

@test "path tricks cannot reach a denied resource" {
	for path in \
	    /api/v1/namespaces/prod/secrets/api-key \
	    /api/v1/namespaces/prod/secrets \
	    /api/v1/namespaces/default/../prod/secrets/api-key \
	    /api/v1/namespaces/prod%2Fsecrets/api-key \
	    /api/v1/namespaces/prod/%73ecrets/api-key \
	    //api/v1/namespaces/prod/secrets/api-key \
	    /api/v1/namespaces/prod//secrets/api-key \
	    /api/v1/namespaces/prod/./secrets/api-key \
	    /api/v1/namespaces/PROD/secrets/api-key \
	    /api/v1/namespaces/prod/Secrets/api-key \
	    /api/v1/secrets \
	    '/api/v1/namespaces/prod/secrets?fieldSelector=metadata.name%3Dapi-key' \
	    /api/v1/watch/namespaces/prod/secrets; do
		run k $VIEWER get --raw "$path"
		[ "$status" -ne 0 ] || { echo "reached: $path"; return 1; }
		[[ "$output" != *cHJvZC10MGtlbi12YWx1ZQ* ]]
		[[ "$output" == *"Error from server"* ]] || { echo "$path: $output"; return 1; }
	done
	run k $VIEWER get --raw /api/v1/namespaces/default/pods/toolbox
	[ "$status" -eq 0 ]
	[[ "$output" == *'"name":"toolbox"'* ]]
}

@test "flags and variables that would point kubectl elsewhere are refused" {
	for args in "--server=https://evil:6443" "--server https://evil:6443" \
	    "-s https://evil" "-shttps://evil" "--token=x" "--token x" \
	    "--kubeconfig=/tmp/x" "--cluster=c" "--user=u" "--username=u" \
	    "--password=p" "--client-certificate=c" "--client-key=k" \
	    "--certificate-authority=ca" "--insecure-skip-tls-verify" \
	    "--as=admin" "--as admin" "--as-group=system:masters" \
	    "--as-uid=0" "--tls-server-name=x"; do
		# shellcheck disable=SC2086
		run as $VIEWER "$P/bin/kubectl" --context fixture get pods $args
		[ "$status" -eq 2 ] || { echo "not refused: $args"; return 1; }
		[[ "$output" == "hoop-kubewrap: -"*"refused"* ]]
	done
	AS_ENV=KUBECONFIG=/tmp/x run as $VIEWER "$P/bin/kubectl" --context fixture get pods
	[ "$status" -eq 2 ]
	[[ "$output" == *"KUBECONFIG is set"* ]]
	# After --, words are the command's.
	run k $OPERATOR exec toolbox -- echo --token=x -s
	[ "$status" -eq 0 ]
	[ "$output" = "--token=x -s" ]
	# Impersonation headers sent by hand are refused too.
	run as $VIEWER "$P/bin/kubectl" --context nope get pods
	[ "$status" -eq 2 ]
	[[ "$output" == *'"nope" is not a Kubernetes cluster you may use'* ]]
	[[ "$output" == *"clusters you may use (--context NAME): fixture, localhost, badca"* ]]
}

@test "the API server's certificate is checked against the target's CA, by IP or host name" {
	run as $VIEWER "$P/bin/kubectl" --context localhost get pod toolbox -o name
	[ "$status" -eq 0 ]
	[ "$output" = pod/toolbox ]
	run as $VIEWER "$P/bin/kubectl" --context badca get pods
	[ "$status" -ne 0 ]
	[[ "$output" == *"certificate is not trusted"* ]]
}

@test "the proxy wants the one-time token; impersonation headers are refused" {
	{ kubeconfig_py; cat <<'PY'; } >"$P/work/probe.py"
st = os.stat(os.environ["KUBECONFIG"]).st_mode & 0o777
dst = os.stat(os.path.dirname(os.environ["KUBECONFIG"])).st_mode & 0o777
print("mode=%o %o" % (st, dst))
def ask(raw):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
    s.sendall(raw.encode())
    out = s.recv(65536).decode(errors="replace")
    s.close()
    return out.split("\r\n")[0]
req = "GET /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: x\r\n%s\r\n"
print("none=" + ask(req % ""))
print("wrong=" + ask(req % ("Authorization: Bearer %s%s\r\n" % (tok[:-1], "1" if tok[-1] == "0" else "0"))))
print("short=" + ask(req % ("Authorization: Bearer %s\r\n" % tok[:-1])))
print("right=" + ask(req % ("Authorization: Bearer %s\r\n" % tok)))
print("imp=" + ask(req % ("Authorization: Bearer %s\r\nImpersonate-User: admin\r\n" % tok)))
print("smuggle=" + ask(req % ("Authorization: Bearer %s\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n" % tok) + "0\r\n\r\n"))
print("fold=" + ask(req % ("Authorization: Bearer %s\r\nX: a\r\n b\r\n" % tok)))
over = "GET /api/v1/namespaces/default/pods?labelSelector=override-probe HTTP/1.1\r\nHost: x\r\n%s\r\n"
print("override=" + ask(over % ("Authorization: Bearer %s\r\nX-HTTP-Method-Override: DELETE\r\nX-HTTP-Method: DELETE\r\nX-Method-Override: DELETE\r\n" % tok)))
PY
	run run_py_plugin $VIEWER fixture probe
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"mode=600 700"* ]]
	[[ "$output" == *"none=HTTP/1.1 401 Unauthorized"* ]]
	[[ "$output" == *"wrong=HTTP/1.1 401 Unauthorized"* ]]
	[[ "$output" == *"short=HTTP/1.1 401 Unauthorized"* ]]
	[[ "$output" == *"right=HTTP/1.1 200"* ]]
	[[ "$output" == *"imp=HTTP/1.1 403 Forbidden"* ]]
	[[ "$output" == *"smuggle=HTTP/1.1 400 Bad Request"* ]]
	[[ "$output" == *"fold=HTTP/1.1 400 Bad Request"* ]]
	# A GET stays a GET: method-override headers never reach the server.
	[[ "$output" == *"override=HTTP/1.1 200"* ]]
	grep -q override-probe "$KUBE_FIXTURE_DIR/requests.jsonl"
	if grep 'override-probe' "$KUBE_FIXTURE_DIR/requests.jsonl" | grep -qiE 'x-http-method|x-method-override'; then false; fi
	grep 'override-probe' "$KUBE_FIXTURE_DIR/requests.jsonl" | grep -q '"method": *"GET"'
}

@test "a POST the server may have read before it closed is not sent again" {
	# A server that answers a GET, keeps the connection, and closes it
	# on the first POST without answering; the next POST it answers.
	cat >"$P/work/oneshot.py" <<'PY'
import socket, ssl, sys
port, d, log = int(sys.argv[1]), sys.argv[2], open(sys.argv[3], "a", buffering=1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/server.pem", d + "/server-key.pem")
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(8)
open(sys.argv[3] + ".ready", "w").close()
posts = 0
while True:
    s, _ = ls.accept()
    try:
        t = ctx.wrap_socket(s, server_side=True)
        f = t.makefile("rb")
        while True:
            line = f.readline()
            if not line:
                break
            method, path = line.split()[:2]
            length = 0
            while True:
                h = f.readline()
                if h in (b"\r\n", b""):
                    break
                if h.lower().startswith(b"content-length:"):
                    length = int(h.split(b":")[1])
            f.read(length)
            log.write("%s %s\n" % (method.decode(), path.decode()))
            if method == b"POST":
                posts += 1
                if posts == 1:
                    break
            body = b'{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x"}}'
            t.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        f.close()
        t.shutdown(socket.SHUT_RDWR)
        t.close()
    except (OSError, ssl.SSLError):
        pass
PY
	python3 -B "$P/work/oneshot.py" "$ONESHOT_PORT" "$KUBE_FIXTURE_DIR" "$P/work/oneshot.log" 3>&- &
	BG_PID=$!
	for _ in $(seq 100); do [ -e "$P/work/oneshot.log.ready" ] && break; sleep 0.05; done
	{ kubeconfig_py; cat <<'PY'; } >"$P/work/twice.py"
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
a = "Host: x\r\nAuthorization: Bearer %s\r\n" % tok
s.sendall(("GET /api/v1/namespaces/default/configmaps/x HTTP/1.1\r\n" + a + "\r\n").encode())
s.settimeout(20)
got = b""
while not got.endswith(b"0\r\n\r\n"):
    b = s.recv(65536)
    if not b:
        break
    got += b
print("get=" + got.split(b"\r\n")[0].decode())
body = '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"generateName":"y-"}}'
s.sendall(("POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\n" + a +
           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)).encode())
print("post=" + s.recv(65536).split(b"\r\n")[0].decode())
PY
	run run_py_plugin $OPERATOR oneshot twice
	echo "$output"
	cat "$P/work/oneshot.log"
	[[ "$output" == *"get=HTTP/1.1 200"* ]]
	[[ "$output" == *"post=HTTP/1.1 503"* ]]
	[ "$(grep -c '^POST ' "$P/work/oneshot.log")" -eq 1 ]
}

@test "the cluster's credential is nowhere the user can look" {
	cat >"$P/work/look.sh" <<SH
for p in /proc/[0-9]*; do
	cat "\$p/environ" "\$p/cmdline" 2>/dev/null | tr '\0' '\n'
done
cat "\$KUBECONFIG"
env
SH
	chmod 644 "$P/work/look.sh"
	mkdir -p "$P/work/plug2"
	printf '#!/bin/bash\nexec bash %s\n' "$P/work/look.sh" >"$P/work/plug2/kubectl-look"
	chmod 755 "$P/work/plug2" "$P/work/plug2/kubectl-look"
	k $VIEWER logs -f toolbox >/dev/null 2>&1 3>&- &
	BG_PID=$!
	run env -i HOME=/nonexistent PATH="$P/work/plug2:/usr/bin:/bin" LANG=C.UTF-8 \
	    setpriv --reuid=$VIEWER --regid=$VIEWER --clear-groups \
	    "$P/bin/kubectl" --context fixture look
	[ "$status" -eq 0 ]
	[[ "$output" == *"token: "* ]]		# the one-time token, not the target's
	[[ "$output" != *"$KUBE_FIXTURE_TOKEN"* ]]
	# A proxy's files are closed to the user.
	run env -i PATH=/usr/bin:/bin setpriv --reuid=$VIEWER --regid=$VIEWER --clear-groups \
	    bash -c 'for p in $(pgrep -f hoop-kubewrap; pgrep -x kubectl); do cat /proc/$p/environ /proc/$p/mem 2>/dev/null | tr "\0" "\n"; done'
	[[ "$output" != *"$KUBE_FIXTURE_TOKEN"* ]]
}

@test "kubectl help needs no cluster, and no configuration is read for it" {
	run as $VIEWER "$P/bin/kubectl" help
	[ "$status" -eq 0 ]
	[[ "$output" == *"kubectl controls the Kubernetes cluster manager"* ]]
	run as $VIEWER "$P/bin/hoop-kubewrap" kubectl --context fixture get pod toolbox -o name
	[ "$status" -eq 0 ]
	[ "$output" = pod/toolbox ]
}

@test "a file size limit is refused: an allowed request would run and its audit event fail" {
	k $OPERATOR create configmap fsize-victim --from-literal=a=b >/dev/null
	size=$(stat -c %s "$P/var/hoop.db")
	run as $OPERATOR prlimit --fsize="$size" "$P/bin/kubectl" --context fixture \
	    delete --raw /api/v1/namespaces/default/configmaps/fsize-victim
	[ "$status" -eq 2 ]
	[[ "$output" == *"a file size limit is set"* ]]
	if grep -q $'^DELETE\t/api/v1/namespaces/default/configmaps/fsize-victim' \
	    "$KUBE_FIXTURE_DIR/requests.log"; then false; fi
	# A soft limit alone is raised: the request runs, and is audited.
	run as $OPERATOR prlimit --fsize="$size:unlimited" "$P/bin/kubectl" \
	    --context fixture delete --raw /api/v1/namespaces/default/configmaps/fsize-victim
	[ "$status" -eq 0 ]
	run db "SELECT decision || ' ' || coalesce(json_extract(detail, '$.status'), '-') FROM audit_events WHERE kind = 'kube' AND action = 'DELETE /api/v1/namespaces/default/configmaps/fsize-victim' ORDER BY seq"
	[ "$output" = "allow -
info 200" ]
}

@test "without a live lease, nothing runs" {
	run as 60499 "$P/bin/kubectl" --context fixture get pods
	[ "$status" -eq 2 ]
	[[ "$output" == *"no live hoop lease"* ]]
}
