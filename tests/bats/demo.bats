#!/usr/bin/env bats
# The README's first command as a test: demo/run plays its whole story
# against the real sshd, PostgreSQL, kubectl and the fixture API server,
# and every step is asserted here.
load helpers

# The demo builds and runs the normal build in the source tree: the
# sanitizer build's run of the suite skips it.
normal_build() {
	[ "$HOOP_BUILD" = "$HOOP_SRC/build" ]
}

setup_file() {
	normal_build || return 0
	DEMO_OUT=$(mktemp /tmp/hoop-demo.XXXXXX)
	export DEMO_OUT
	(cd "$HOOP_SRC" && DEMO_STOP=1 demo/run >"$DEMO_OUT" 2>&1 3>&-)
	echo $? >"$DEMO_OUT.rc"
}

teardown_file() {
	normal_build || return 0
	# A story that did not finish may have left parts running.
	(cd "$HOOP_SRC" && demo/run stop >/dev/null 2>&1 3>&-) || true
	rm -f "$DEMO_OUT" "$DEMO_OUT.rc"
}

setup() {
	normal_build || skip "the demo runs the normal build"
	out=$(sed 's/\x1b\[[0-9;]*m//g' "$DEMO_OUT")
}

teardown() {
	:
}

step() {	# N: the text of step N
	awk -v n="== $1." 'index($0, n) == 1 { on = 1; print; next } /^== / { on = 0 } on' <<<"$out"
}

@test "demo: the story plays to its end and the demo stops" {
	[ "$(cat "$DEMO_OUT.rc")" = 0 ] || { tail -n 40 <<<"$out"; false; }
	[[ "$out" == *"== done"* ]]
	[[ "$out" == *"demo stopped"* ]]
	[ ! -e "$HOOP_SRC/demo-run/state.env" ]
}

@test "demo: configuration checks and the tamper-evident audit log" {
	[[ "$(step 2)" == *"issuer \"no-such-issuer\""* ]]
	[[ "$(step 6)" == *"(exit 1: tampering detected)"* ]]
	[[ "$(step 7)" == *"(exit 1: truncation detected)"* ]]
}

@test "demo: the CI job logs in with its token and lands in hoop-shell" {
	[[ "$(step 8)" == *"uid="*"(payments)"* ]]
	s=$(step 9)
	[[ "$s" == *"deploying release 42"* ]]
	[[ "$s" == *"rm: nothing is deleted from the bastion"* ]]
	[[ "$s" == *"a command separator (';') is not allowed"* ]]
}

@test "demo: a shell command waits for the SRE's approval" {
	[[ "$(step 10)" == *"request "*" approved"* ]]
}

@test "demo: psql output is masked, by column and by pattern" {
	s=$(step 11)
	[[ "$s" == *"***************1111"* ]]
	[[ "$s" == *".com"* ]]
	[[ "$s" == *"(3 rows)"* ]]
	if grep -qi "ada@example.com" <<<"$out"; then false; fi
	if grep -q "4111 1111 1111 1111" <<<"$out"; then false; fi
}

@test "demo: DROP is refused by the ddl rule" {
	[[ "$(step 12)" == *'ERROR:  hoop: DROP refused by rule "no-ddl" of policy "payments-shop"'* ]]
}

@test "demo: the DELETE waits, an SRE approves it, it runs once" {
	s=$(step 13)
	[[ "$s" == *"hoop: this needs approval: request "* ]]
	[[ "$s" == *"request:"*"DELETE FROM orders WHERE id = 7"* ]]
	[[ "$s" == *"approved by sre"* ]]
	[[ "$s" == *"DELETE 1"* ]]
	[[ "$s" == *"(orders left: 8,9)"* ]]
}

@test "demo: kubectl get works, Secrets are masked, a delete is Forbidden" {
	s=$(step 14)
	[[ "$s" == *"toolbox "*"Running"* ]]
	[[ "$s" == *'{"password":"Kioq","username":"Kioq"}'* ]]
	[[ "$s" == *"Error from server (Forbidden): hoop: no-delete: delete pods \"toolbox\""* ]]
	if grep -q "s3cr3t-pa55" <<<"$out"; then false; fi
}

@test "demo: a token from another repository is refused and the reason logged" {
	s=$(step 15)
	[[ "$s" == *"hoop: token refused: no identity accepts this token"* ]]
	[[ "$s" == *"auth deny: "*"first failing claim: repository"* ]]
}

@test "demo: the auditor lists, shows, replays and verifies" {
	s=$(step 16)
	[[ "$s" == *"command=psql shop -c 'DELETE FROM orders WHERE id = 7'"* ]]
	[[ "$s" == *"command #1 rm -rf /srv/app => deny"* ]]
	[[ "$s" == *"sessions checked, 0 not intact"* ]]
	s=$(step 17)
	[[ "$s" == *"sql allow principal=payments target=shop action=DELETE FROM orders WHERE id = 7"* ]]
	[[ "$s" == *"kube deny principal=payments target=k8s-prod"* ]]
	[[ "$s" == *"audit chain intact"* ]]
}
