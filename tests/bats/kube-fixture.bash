# A fixture Kubernetes API server for the kubectl tests:
# tests/tools/kube-fixture/kube-fixture.py (python3, standard library only)
# on loopback over TLS, speaking what Debian's kubectl (1.20) needs; its
# header says what it serves and how.
#
#   kube_fixture_start DIR
#       makes a CA, a server certificate (127.0.0.1, localhost), a client
#       certificate and bearer tokens in DIR, starts the server on a free
#       port and waits until it listens. Exports:
#         KUBE_FIXTURE_DIR     DIR
#         KUBE_FIXTURE_URL     https://127.0.0.1:PORT
#         KUBE_FIXTURE_PORT    PORT
#         KUBE_FIXTURE_CA      the CA certificate (PEM) of the server's and
#                              the client's certificates
#         KUBE_FIXTURE_TOKEN   bearer token of user fixture-admin
#         KUBE_FIXTURE_READONLY_TOKEN
#                              bearer token of user fixture-viewer, who
#                              gets 403 Forbidden for anything but reads
#         KUBE_FIXTURE_CERT, KUBE_FIXTURE_KEY
#                              client certificate and key, CN=fixture-admin
#       Set before calling, if needed:
#         KUBE_FIXTURE_SEED    a JSON file (a list of objects, or
#                              {"items": [...]}) to start with instead of
#                              the default cluster (seed.py: namespaces
#                              default, kube-system, prod; pod toolbox;
#                              deployment web with 2 pods; service web;
#                              secret db-creds; configmap app-config...)
#         KUBE_FIXTURE_FOLLOW_IDLE
#                              seconds without new log lines after which
#                              the fixture ends a `logs -f` stream (1)
#       Anything else is refused: no credential, a wrong token or a
#       password gets 401 Unauthorized (a client certificate from another
#       CA fails the TLS handshake).
#   kube_fixture_kubeconfig FILE [token|cert|readonly|basic]
#       writes a kubeconfig (context "fixture", namespace default) for
#       kubectl straight to the fixture, with the admin token (default),
#       the client certificate, the read-only token or a username and
#       password (which the fixture never accepts; kubectl 1.20 would ask
#       for them on a terminal if the kubeconfig had no credential at all)
#   kube_fixture_log NS POD TEXT
#       appends TEXT and a newline to the pod's log (every container of
#       the pod shares it; a pod without one logs two default lines)
#   kube_fixture_log_end NS POD
#       ends the pod's log: `logs -f` streams end once they have sent it
#       all, without waiting for KUBE_FIXTURE_FOLLOW_IDLE
#   kube_fixture_requests
#       the requests seen, one a line, tab-separated: METHOD, the raw path
#       and query, status=CODE, user=NAME (- if none), auth=bearer|cert|
#       basic|none|bearer-invalid, then when present accept=, content-type=,
#       upgrade=, x-stream-protocol-version=, impersonate-user=,
#       impersonate-group=, user-agent=
#   kube_fixture_requests_json
#       the same as JSON lines with every header and up to 64 KiB of body
#   kube_fixture_clear_requests
#       forgets the requests seen so far
#   kube_fixture_stop
#       stops the server; safe to call twice or after a failed start
#
# Pods are Running at once (annotate one kube-fixture/phase: Pending,
# Succeeded or Failed for another phase); Deployments and ReplicaSets
# make their pods at once. exec/attach speak SPDY/3.1 (the only protocol
# kubectl 1.20 has); the fixture's containers run built-in commands only
# (echo, cat, env, printenv, sh -c "...; exit N", an interactive sh...;
# see execsim.py); attach prints the pod's log, then echoes stdin.
# portforward echoes what it is sent, on any port.

# shellcheck source=tests/bats/net.bash
. "${BASH_SOURCE[0]%/*}/net.bash"

KUBE_FIXTURE_PY=${BASH_SOURCE[0]%/*}/../tools/kube-fixture/kube-fixture.py

# DIR/NAME.pem and DIR/NAME-key.pem: a new key and its certificate for
# SUBJECT, signed by the fixture's CA, with the given extension lines.
kube_fixture_sign() {	# dir name subject extensions
	local d=$1
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/$2-key.pem" -out "$d/$2.csr" -subj "$3" 2>/dev/null &&
	printf '%s\n' "$4" >"$d/$2.ext" &&
	openssl x509 -req -in "$d/$2.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
		-set_serial "0x$(openssl rand -hex 8)" -days 2 \
		-extfile "$d/$2.ext" -out "$d/$2.pem" 2>/dev/null &&
	rm -f "$d/$2.csr" "$d/$2.ext"
}

kube_fixture_start() {
	local d=$1 pid
	mkdir -p "$d/logs" || return 1
	KUBE_FIXTURE_DIR=$(cd "$d" && pwd)
	d=$KUBE_FIXTURE_DIR
	KUBE_FIXTURE_PORT=$(free_port) || return 1
	KUBE_FIXTURE_URL=https://127.0.0.1:$KUBE_FIXTURE_PORT
	KUBE_FIXTURE_CA=$d/ca.pem
	KUBE_FIXTURE_CERT=$d/client.pem
	KUBE_FIXTURE_KEY=$d/client-key.pem
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/ca-key.pem" -out "$d/ca.pem" -days 2 \
		-subj /CN=kube-fixture-ca \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
	kube_fixture_sign "$d" server /CN=kube-apiserver \
		"subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth" || return 1
	kube_fixture_sign "$d" client "/O=system:masters/CN=fixture-admin" \
		"extendedKeyUsage=clientAuth" || return 1
	KUBE_FIXTURE_TOKEN=$(openssl rand -hex 24)
	KUBE_FIXTURE_READONLY_TOKEN=$(openssl rand -hex 24)
	printf '%s fixture-admin\n%s fixture-viewer readonly\n' \
		"$KUBE_FIXTURE_TOKEN" "$KUBE_FIXTURE_READONLY_TOKEN" >"$d/tokens"
	chmod 0644 "$d"/*.pem
	if [ -n "${KUBE_FIXTURE_SEED:-}" ]; then
		cp "$KUBE_FIXTURE_SEED" "$d/seed.json" || return 1
	fi
	rm -f "$d/ready" "$d/pid"
	: >"$d/requests.log"
	: >"$d/requests.jsonl"
	export KUBE_FIXTURE_DIR KUBE_FIXTURE_PORT KUBE_FIXTURE_URL \
		KUBE_FIXTURE_CA KUBE_FIXTURE_CERT KUBE_FIXTURE_KEY \
		KUBE_FIXTURE_TOKEN KUBE_FIXTURE_READONLY_TOKEN
	# fd 3 is bats' own: a server holding it would keep bats waiting
	# -B: no __pycache__ in the source tree
	python3 -B "$KUBE_FIXTURE_PY" "$d" "$KUBE_FIXTURE_PORT" \
		>"$d/server.log" 2>&1 3>&- &
	pid=$!
	echo "$pid" >"$d/pid"
	for _ in $(seq 200); do
		[ -s "$d/ready" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "kube fixture did not start:" >&2
	cat "$d/server.log" >&2
	kube_fixture_stop
	return 1
}

kube_fixture_kubeconfig() {	# file [token|cert|readonly|none]
	local file=$1 how=${2:-token} user
	case $how in
	token) user="    token: $KUBE_FIXTURE_TOKEN" ;;
	readonly) user="    token: $KUBE_FIXTURE_READONLY_TOKEN" ;;
	cert) user="    client-certificate: $KUBE_FIXTURE_CERT
    client-key: $KUBE_FIXTURE_KEY" ;;
	basic) user="    username: fixture-admin
    password: not-accepted" ;;
	*) echo "kube_fixture_kubeconfig: token, cert, readonly or basic" >&2
	   return 1 ;;
	esac
	cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: fixture
  cluster:
    server: $KUBE_FIXTURE_URL
    certificate-authority: $KUBE_FIXTURE_CA
users:
- name: fixture-user
  user:
$user
contexts:
- name: fixture
  context:
    cluster: fixture
    user: fixture-user
    namespace: default
current-context: fixture
EOF
	chmod 0600 "$file"
}

kube_fixture_log() {	# ns pod text
	mkdir -p "$KUBE_FIXTURE_DIR/logs/$1" &&
	printf '%s\n' "$3" >>"$KUBE_FIXTURE_DIR/logs/$1/$2.log"
}

kube_fixture_log_end() {	# ns pod
	mkdir -p "$KUBE_FIXTURE_DIR/logs/$1" &&
	: >"$KUBE_FIXTURE_DIR/logs/$1/$2.end"
}

kube_fixture_requests() {
	cat "$KUBE_FIXTURE_DIR/requests.log"
}

kube_fixture_requests_json() {
	cat "$KUBE_FIXTURE_DIR/requests.jsonl"
}

kube_fixture_clear_requests() {
	: >"$KUBE_FIXTURE_DIR/requests.log"
	: >"$KUBE_FIXTURE_DIR/requests.jsonl"
}

kube_fixture_stop() {
	local pid
	[ -n "${KUBE_FIXTURE_DIR:-}" ] && [ -f "$KUBE_FIXTURE_DIR/pid" ] || return 0
	pid=$(cat "$KUBE_FIXTURE_DIR/pid")
	rm -f "$KUBE_FIXTURE_DIR/pid"
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 40); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null
	return 0
}
