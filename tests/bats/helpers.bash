# Shared set-up for the bats suites: HOOP_BUILD and HOOP_SRC come from
# tests/run-tests (or default to the normal build when bats runs alone).
: "${HOOP_SRC:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${HOOP_BUILD:=$HOOP_SRC/build}"
HOOPCTL=$HOOP_BUILD/hoopctl
# Note for test writers: bash's errexit ignores `! cmd`, so a negated
# check in the middle of a test can never fail it. Write
# `if cmd; then false; fi`, or `run cmd` and check $status.

make_secret() {	# path mode
	printf 's3cret-value\n' >"$1"
	chmod "$2" "$1"
}

# A small valid configuration whose store and secrets live in $T.
write_config() {
	make_secret "$T/pg.secret" 0640
	cat >"$T/hoop.conf" <<CONF
store = "$T/hoop.db"
recordings = "$T/rec"

issuer "ci" {
	url = "https://issuer.example.test"
	audience = {"hoop"}
	algorithms = {"RS256", "ES256"}
}

identity "deploy" {
	issuer = "ci"
	claim "repository" { equals = {"acme/app"} }
	login = "deploy"
	groups = {"deployers"}
}

target "prod" {
	type = "postgres"
	host = "127.0.0.1"
	port = 5432
	user = "app"
	secret_file = "$T/pg.secret"
}

policy "deployers" {
	identities = {"deploy"}
	targets = {"prod"}
	rule "reads" {
		action = "allow"
		statements = {"read"}
	}
}
CONF
}

setup() {
	T=$(mktemp -d /tmp/hoop-bats.XXXXXX)
}

teardown() {
	rm -rf "$T"
}
