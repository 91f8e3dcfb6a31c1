# A test OIDC issuer on loopback: discovery and JWKS over HTTPS, served by
# `openssl s_server -WWW` from a directory, with a CA and keys the suite
# generates. Several issuers can live under one server as path prefixes.
#
#   issuer_setup DIR            CA, server key, port (ISSUER_PORT, ISSUER_CA)
#   issuer_add NAME KEYSPEC...  issuer at https://127.0.0.1:PORT/NAME whose
#                               JWKS holds the keys (FILE:KID[:ALG])
#   issuer_start / issuer_stop  the server (stop = the issuer is down)
#   mint ARGS...                hoop-mint-token

# shellcheck source=tests/bats/net.bash
. "${BASH_SOURCE[0]%/*}/net.bash"

MINT=$HOOP_BUILD/tests/hoop-mint-token

issuer_setup() {
	ISSUER_DIR=$1
	mkdir -p "$ISSUER_DIR/www"
	ISSUER_PORT=$(free_port)
	ISSUER_CA=$ISSUER_DIR/ca.pem
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$ISSUER_DIR/server.key" -out "$ISSUER_CA" -days 2 \
		-subj /CN=hoop-test-issuer \
		-addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
	chmod 0644 "$ISSUER_CA"
	export ISSUER_DIR ISSUER_PORT ISSUER_CA
}

issuer_url() {
	echo "https://127.0.0.1:$ISSUER_PORT/$1"
}

issuer_add() {
	local name=$1; shift
	local base=$ISSUER_DIR/www/$name
	mkdir -p "$base/.well-known"
	printf '{"issuer":"%s","jwks_uri":"%s/jwks.json","id_token_signing_alg_values_supported":["RS256","ES256"]}\n' \
		"$(issuer_url "$name")" "$(issuer_url "$name")" >"$base/.well-known/openid-configuration"
	issuer_keys "$name" "$@"
}

# Replaces the issuer's published keys (rotation).
issuer_keys() {
	local name=$1; shift
	"$MINT" jwks "$@" >"$ISSUER_DIR/www/$name/jwks.json.tmp"
	mv "$ISSUER_DIR/www/$name/jwks.json.tmp" "$ISSUER_DIR/www/$name/jwks.json"
}

issuer_start() {
	(cd "$ISSUER_DIR/www" && exec openssl s_server -quiet -WWW \
		-accept "127.0.0.1:$ISSUER_PORT" -cert "$ISSUER_CA" \
		-key "$ISSUER_DIR/server.key" >"$ISSUER_DIR/server.log" 2>&1) &
	echo $! >"$ISSUER_DIR/server.pid"
	for _ in $(seq 100); do
		ss -Hltn "sport = :$ISSUER_PORT" | grep -q . && return 0
		sleep 0.05
	done
	echo "issuer did not start"; cat "$ISSUER_DIR/server.log"
	return 1
}

issuer_stop() {
	[ -f "$ISSUER_DIR/server.pid" ] || return 0
	kill "$(cat "$ISSUER_DIR/server.pid")" 2>/dev/null
	rm -f "$ISSUER_DIR/server.pid"
	for _ in $(seq 100); do
		ss -Hltn "sport = :$ISSUER_PORT" | grep -q . || return 0
		sleep 0.05
	done
}

mint() {
	"$MINT" "$@"
}
