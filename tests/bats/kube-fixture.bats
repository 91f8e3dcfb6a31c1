#!/usr/bin/env bats
# The fixture Kubernetes API server (tests/tools/kube-fixture/) against
# the real kubectl of this machine (Debian's kubernetes-client, 1.20),
# talking to it directly: discovery, tables, JSON, watch, create, apply,
# patch, scale, delete, logs (and -f), exec over SPDY (stdout, stderr,
# exit codes, stdin, a tty), attach, port-forward, secrets, refusals, and
# the record of what reached the server. One server serves the file; each
# test uses objects of its own.

bats_require_minimum_version 1.5.0
load kube-fixture

setup_file() {
	FIX=$(mktemp -d /tmp/hoop-kube.XXXXXX)
	export FIX HOME=$FIX/home KUBECONFIG=$FIX/kubeconfig
	# logs -f ends by kube_fixture_log_end, not by a slow machine's pause
	export KUBE_FIXTURE_FOLLOW_IDLE=30
	mkdir -p "$HOME"
	kube_fixture_start "$FIX/server"
	kube_fixture_kubeconfig "$KUBECONFIG"
}

teardown_file() {
	kube_fixture_stop
	rm -rf "$FIX"
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

# Waits until a request matching the pattern has reached the fixture.
wait_request() {	# grep-pattern
	for _ in $(seq 100); do
		kube_fixture_requests | grep -q -- "$1" && return 0
		sleep 0.05
	done
	echo "no request matching $1"; kube_fixture_requests
	return 1
}

wait_output() {	# file grep-pattern
	for _ in $(seq 100); do
		grep -Eq -- "$2" "$1" && return 0
		sleep 0.05
	done
	echo "no $2 in $1:"; cat "$1"
	return 1
}

# An HTTPS GET with a given Accept header and the admin token (RAW_TOKEN
# if set; no Authorization header if it is empty), by python3's standard
# library: prints the status and content type, then the body.
raw_get() {	# path accept
	python3 - "$KUBE_FIXTURE_URL$1" "$2" "$KUBE_FIXTURE_CA" \
		"${RAW_TOKEN-$KUBE_FIXTURE_TOKEN}" <<'PY'
import ssl, sys, urllib.error, urllib.request
url, accept, ca, token = sys.argv[1:]
headers = {"Accept": accept}
if token:
    headers["Authorization"] = "Bearer " + token
req = urllib.request.Request(url, headers=headers)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
    urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca)))
try:
    r = opener.open(req)
    print(r.status, r.headers.get("Content-Type"))
    print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.headers.get("Content-Type"))
    print(e.read().decode())
PY
}

@test "kubectl is Debian's 1.20, and version and api-resources come from the fixture" {
	run kubectl version
	[ "$status" -eq 0 ]
	[[ "$output" == *'Client Version: version.Info{Major:"1", Minor:"20"'* ]]
	[[ "$output" == *'GitCommit:"kube-fixture"'* ]]
	run kubectl api-resources
	[ "$status" -eq 0 ]
	echo "$output" | grep -Eq '^pods +po +v1 +true +Pod$'
	echo "$output" | grep -Eq '^deployments +deploy +apps/v1 +true +Deployment$'
	echo "$output" | grep -Eq '^namespaces +ns +v1 +false +Namespace$'
	# legacy discovery only: kubectl 1.20 knows nothing else
	kube_fixture_requests | grep -q $'^GET\t/apis/apps/v1?timeout=32s\tstatus=200'
}

@test "get pods prints the server's Table" {
	run kubectl get pods
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^NAME\ +READY\ +STATUS\ +RESTARTS\ +AGE$ ]]
	echo "$output" | grep -Eq '^toolbox +1/1 +Running +0 +[0-9]+s$'
	[ "$(echo "$output" | grep -c '^web-')" -eq 2 ]
	kube_fixture_requests | grep $'^GET\t/api/v1/namespaces/default/pods?limit=500\tstatus=200' |
		grep -q 'accept=application/json;as=Table;v=v1;g=meta.k8s.io'
	run kubectl get pods -o wide
	echo "$output" | grep -Eq '^toolbox .* 10\.244\.[0-9.]+ +fixture-node '
}

@test "get -o json returns the objects themselves" {
	run kubectl get pod toolbox -o json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.kind, .metadata.name, .status.phase, .spec.containers[0].name' | paste -sd' ')" = "Pod toolbox Running main" ]
	run kubectl get configmaps -o json
	[ "$(echo "$output" | jq -r '.kind')" = "List" ]
	echo "$output" | jq -e '.items[] | select(.metadata.name == "app-config") | .data.LOG_LEVEL == "info"'
}

@test "get -w shows a change made while it watches, from the list's resourceVersion" {
	kubectl create configmap watched --from-literal=k=v1
	kubectl get configmaps -w >"$FIX/watch.out" 2>&1 3>&- &
	BG_PID=$!
	wait_request $'^GET\t/api/v1/namespaces/default/configmaps?resourceVersion=[0-9]*&watch=true\tstatus=200'
	wait_output "$FIX/watch.out" '^watched '
	kubectl create configmap watched-later --from-literal=a=1 --from-literal=b=2
	wait_output "$FIX/watch.out" '^watched-later +2 '
	kubectl delete configmap watched
	# the deletion arrives as an event too: watched is printed again
	for _ in $(seq 100); do
		[ "$(grep -c '^watched ' "$FIX/watch.out")" -eq 2 ] && break
		sleep 0.05
	done
	[ "$(grep -c '^watched ' "$FIX/watch.out")" -eq 2 ]
}

@test "watch honours resourceVersion: only later events, 410 for a forgotten one" {
	kubectl create configmap rv-one --from-literal=a=1
	rv=$(kubectl get configmap rv-one -o jsonpath='{.metadata.resourceVersion}')
	kubectl create configmap rv-two --from-literal=a=2
	run raw_get "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=$rv&timeoutSeconds=1" application/json
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "200 application/json" ]]
	[ "$(echo "$output" | sed 1d | jq -r '"\(.type) \(.object.kind) \(.object.metadata.name)"')" = "ADDED ConfigMap rv-two" ]
	run raw_get "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1&timeoutSeconds=1" application/json
	[[ "$output" == *'"type":"ERROR"'*'"reason":"Expired","code":410'* ]]
}

@test "create -f creates, a second time is AlreadyExists" {
	cat >"$FIX/cm.yaml" <<-'EOF'
	apiVersion: v1
	kind: ConfigMap
	metadata:
	  name: created
	data:
	  greeting: hello
	EOF
	run kubectl create -f "$FIX/cm.yaml"
	[ "$status" -eq 0 ]
	[ "$output" = "configmap/created created" ]
	[ "$(kubectl get configmap created -o jsonpath='{.data.greeting}')" = hello ]
	run kubectl create -f "$FIX/cm.yaml"
	[ "$status" -ne 0 ]
	[[ "$output" == *'(AlreadyExists)'*'configmaps "created" already exists'* ]]
	# kubectl validated the manifest against the OpenAPI document first
	kube_fixture_requests | grep -q $'^GET\t/openapi/v2?timeout=32s\tstatus=200'
}

@test "create -f refuses a manifest with an unknown field (OpenAPI validation)" {
	cat >"$FIX/bad.yaml" <<-'EOF'
	apiVersion: v1
	kind: Pod
	metadata:
	  name: bad
	spec:
	  containers:
	  - name: c
	    image: busybox
	    imagePolicy: typo
	EOF
	run kubectl create -f "$FIX/bad.yaml"
	[ "$status" -ne 0 ]
	[[ "$output" == *'unknown field "imagePolicy"'* ]]
}

@test "--dry-run=server is supported (per the OpenAPI paths) and changes nothing" {
	run kubectl create configmap dry --dry-run=server -o name
	[ "$status" -eq 0 ]
	[ "$output" = configmap/dry ]
	kube_fixture_requests | grep -q $'^POST\t/api/v1/namespaces/default/configmaps?dryRun=All&fieldManager=kubectl-create\tstatus=201'
	run kubectl get configmap dry
	[[ "$output" == *'configmaps "dry" not found'* ]]
	kubectl scale deployment web --replicas=5 --dry-run=server
	[ "$(kubectl get deployment web -o jsonpath='{.spec.replicas}')" = 2 ]
}

@test "apply -f twice: create, then a strategic merge patch" {
	cat >"$FIX/deploy.yaml" <<-'EOF'
	apiVersion: apps/v1
	kind: Deployment
	metadata:
	  name: shop
	spec:
	  replicas: 1
	  selector:
	    matchLabels: {app: shop}
	  template:
	    metadata:
	      labels: {app: shop}
	    spec:
	      containers:
	      - name: shop
	        image: shop:1.0
	        env:
	        - {name: A, value: "1"}
	        - {name: B, value: "2"}
	EOF
	run kubectl apply -f "$FIX/deploy.yaml"
	[ "$status" -eq 0 ]
	[ "$output" = "deployment.apps/shop created" ]
	sed -i 's/replicas: 1/replicas: 2/; s/value: "1"/value: "one"/' "$FIX/deploy.yaml"
	run kubectl apply -f "$FIX/deploy.yaml"
	[ "$status" -eq 0 ]
	[ "$output" = "deployment.apps/shop configured" ]
	kube_fixture_requests | grep $'^PATCH\t/apis/apps/v1/namespaces/default/deployments/shop?fieldManager=kubectl-client-side-apply\tstatus=200' |
		grep -q 'content-type=application/strategic-merge-patch+json'
	# the patch named one env entry; the other stayed by its merge key
	[ "$(kubectl get deployment shop -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].env[*].value}')" = "2 one 2" ]
	run kubectl get pods -l app=shop --no-headers
	[ "${#lines[@]}" -eq 2 ]
	run kubectl apply -f "$FIX/deploy.yaml"
	[ "$output" = "deployment.apps/shop unchanged" ]
}

@test "patch: strategic (default), merge and JSON patch" {
	kubectl create configmap patched --from-literal=a=1
	run kubectl patch configmap patched -p '{"data":{"b":"2"}}'
	[ "$status" -eq 0 ]
	[ "$output" = "configmap/patched patched" ]
	kubectl patch configmap patched --type merge -p '{"data":{"a":null}}'
	kubectl patch configmap patched --type json -p '[{"op":"add","path":"/data/c","value":"3"}]'
	[ "$(kubectl get configmap patched -o jsonpath='{.data}')" = '{"b":"2","c":"3"}' ]
	run kubectl patch configmap patched --type json -p '[{"op":"remove","path":"/data/nope"}]'
	[ "$status" -ne 0 ]
	kube_fixture_requests | grep -c $'^PATCH\t/api/v1/namespaces/default/configmaps/patched' | grep -qx 4
	kube_fixture_requests | grep -q 'content-type=application/merge-patch+json'
	kube_fixture_requests | grep -q 'content-type=application/json-patch+json'
}

@test "scale goes through the scale subresource and the pods follow" {
	kubectl create deployment scaled --image=scaled:1
	run kubectl scale deployment scaled --replicas=3
	[ "$status" -eq 0 ]
	[ "$output" = "deployment.apps/scaled scaled" ]
	kube_fixture_requests | grep $'^PATCH\t/apis/apps/v1/namespaces/default/deployments/scaled/scale\tstatus=200' |
		grep -q 'content-type=application/merge-patch+json'
	run kubectl get deployment scaled
	echo "$output" | grep -Eq '^scaled +3/3 +3 +3 '
	run kubectl get pods -l app=scaled --no-headers
	[ "${#lines[@]}" -eq 3 ]
	kubectl scale deployment scaled --replicas=1
	run kubectl get pods -l app=scaled --no-headers
	[ "${#lines[@]}" -eq 1 ]
}

@test "delete removes the object and its dependents, and waits for it" {
	kubectl create deployment doomed --image=doomed:1
	[ "$(kubectl get replicasets -l app=doomed -o name | wc -l)" -eq 1 ]
	run kubectl delete deployment doomed
	[ "$status" -eq 0 ]
	[ "$output" = 'deployment.apps "doomed" deleted' ]
	kube_fixture_requests | grep -q $'^DELETE\t/apis/apps/v1/namespaces/default/deployments/doomed\tstatus=200'
	run kubectl get deployment doomed
	[[ "$output" == *'(NotFound)'*'deployments.apps "doomed" not found'* ]]
	[ -z "$(kubectl get replicasets,pods -l app=doomed -o name)" ]
	kubectl create configmap gone-soon
	run kubectl delete configmap gone-soon
	[ "$output" = 'configmap "gone-soon" deleted' ]
}

@test "logs prints the pod's log; --tail keeps the last lines" {
	kube_fixture_log default toolbox "line one"
	kube_fixture_log default toolbox "line two"
	run kubectl logs toolbox
	[ "$status" -eq 0 ]
	[ "$output" = $'line one\nline two' ]
	run kubectl logs --tail=1 toolbox
	[ "$output" = "line two" ]
	run kubectl logs web-nope
	[[ "$output" == *'pods "web-nope" not found'* ]]
}

@test "logs -f streams lines as they come and stops when the fixture ends the stream" {
	kube_fixture_log default toolbox "before"
	kubectl logs -f toolbox >"$FIX/follow.out" 2>&1 3>&- &
	BG_PID=$!
	wait_request $'^GET\t/api/v1/namespaces/default/pods/toolbox/log?follow=true\tstatus=200'
	wait_output "$FIX/follow.out" '^before$'
	kube_fixture_log default toolbox "after"
	wait_output "$FIX/follow.out" '^after$'
	kill -0 "$BG_PID"
	kube_fixture_log_end default toolbox
	for _ in $(seq 100); do
		kill -0 "$BG_PID" 2>/dev/null || break
		sleep 0.05
	done
	run wait "$BG_PID"
	BG_PID=
	[ "$status" -eq 0 ]
	[ "$(tail -n 2 "$FIX/follow.out")" = $'before\nafter' ]
}

@test "exec over SPDY: stdout, stderr and the exit code" {
	run kubectl exec toolbox -- echo hi
	[ "$status" -eq 0 ]
	[ "$output" = hi ]
	kube_fixture_requests | grep $'^POST\t/api/v1/namespaces/default/pods/toolbox/exec?command=echo&command=hi&container=main&stderr=true&stdout=true\tstatus=101' |
		grep 'upgrade=SPDY/3.1' | grep -q 'x-stream-protocol-version=v4.channel.k8s.io,v3.channel.k8s.io,v2.channel.k8s.io,channel.k8s.io'
	run kubectl exec toolbox -- sh -c 'echo out; echo err >&2; exit 3'
	[ "$status" -eq 3 ]
	[[ "$output" == *out* && "$output" == *err* ]]
	[[ "$output" == *"command terminated with exit code 3"* ]]
	kubectl exec toolbox -- sh -c 'echo err >&2' 2>"$FIX/err" >"$FIX/out"
	[ ! -s "$FIX/out" ]
	[ "$(cat "$FIX/err")" = err ]
	run kubectl exec toolbox -- printenv DB_PASSWORD
	[ "$output" = s3cr3t-pa55 ]
	run -127 kubectl exec toolbox -- no-such-command
	[[ "$output" == *"no-such-command: command not found"* ]]
}

@test "exec -i passes stdin, and its end, to the command" {
	run bash -c 'printf "alpha\nbeta\n" | kubectl exec -i toolbox -- cat'
	[ "$status" -eq 0 ]
	[ "$output" = $'alpha\nbeta' ]
	run bash -c 'head -c 200000 /dev/zero | kubectl exec -i toolbox -- wc -c'
	[ "$output" = 200000 ]
	kube_fixture_requests | grep -q $'^POST\t/api/v1/namespaces/default/pods/toolbox/exec?command=cat&container=main&stderr=true&stdin=true&stdout=true\tstatus=101'
}

@test "exec -it: a terminal with its size, CRLF output and an interactive shell" {
	run script -qec "stty cols 91 rows 27; kubectl exec -it toolbox -- sh -c 'stty size; echo \$TERM'" /dev/null </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = $'27 91\r\nxterm\r' ]
	kube_fixture_requests | grep -q $'/exec?command=sh&command=-c&command=stty+size%3B+echo+%24TERM&container=main&stdin=true&stdout=true&tty=true\tstatus=101'
	run bash -c "(sleep 0.5; printf 'echo typed\r'; sleep 0.3; printf 'exit 4\r'; sleep 1) |
		script -qec 'kubectl exec -it toolbox -- sh; echo rc=\$?' /dev/null"
	[[ "$output" == *$'echo typed\r\ntyped\r\n'* ]]
	[[ "$output" == *'rc=4'* ]]
}

@test "attach prints the log and echoes stdin" {
	kube_fixture_log default toolbox "attached log"
	run bash -c 'echo hello | kubectl attach -i toolbox 2>/dev/null'
	[ "$status" -eq 0 ]
	[[ "$output" == *"attached log"*hello ]]
}

@test "port-forward reaches the fixture's echo service" {
	port=$(free_port)
	kubectl port-forward pod/toolbox "$port:80" >"$FIX/pf.out" 2>&1 3>&- &
	BG_PID=$!
	wait_output "$FIX/pf.out" "Forwarding from 127.0.0.1:$port"
	run bash -c "printf 'ping\n' | socat -t 2 - TCP:127.0.0.1:$port,shut-down"
	[ "$output" = ping ]
	kube_fixture_requests | grep -q $'^POST\t/api/v1/namespaces/default/pods/toolbox/portforward\tstatus=101.*x-stream-protocol-version=portforward.k8s.io'
}

@test "get secrets -o yaml shows data; stringData is folded into data" {
	run kubectl get secret db-creds -o yaml
	[ "$status" -eq 0 ]
	[[ "$output" == *"password: $(printf s3cr3t-pa55 | base64)"* ]]
	kubectl create secret generic made --from-literal=token=abc
	[ "$(kubectl get secret made -o jsonpath='{.data.token}' | base64 -d)" = abc ]
	kubectl patch secret made -p '{"stringData":{"extra":"xyz"}}'
	run kubectl get secret made -o json
	[ "$(echo "$output" | jq -r '.data.extra | @base64d')" = xyz ]
	[ "$(echo "$output" | jq -r '.stringData')" = null ]
	run kubectl get secrets
	echo "$output" | grep -Eq '^made +Opaque +2 '
}

@test "describe and explain work from the fixture's data" {
	run kubectl describe pod toolbox
	[ "$status" -eq 0 ]
	[[ "$output" == *"Status:       Running"* ]]
	echo "$output" | grep -Eq 'Normal +Started .* kubelet +Started container main'
	run kubectl explain deployment.spec.replicas
	[ "$status" -eq 0 ]
	[[ "$output" == *"FIELD:    replicas <integer>"* ]]
}

@test "no credential, a wrong token or a password: 401; the viewer token: 403 on writes; a client certificate works" {
	RAW_TOKEN='' run raw_get /api/v1/namespaces/default/pods application/json
	[ "${lines[0]}" = "401 application/json" ]
	[[ "${lines[1]}" == *'"reason":"Unauthorized","code":401'* ]]
	kube_fixture_requests | grep -q $'^GET\t/api/v1/namespaces/default/pods\tstatus=401\tuser=-\tauth=none\t'
	RAW_TOKEN=wrong run raw_get /api/v1/namespaces/default/pods application/json
	[ "${lines[0]}" = "401 application/json" ]
	kube_fixture_requests | grep -q $'\tstatus=401\tuser=-\tauth=bearer-invalid\t'
	kube_fixture_kubeconfig "$FIX/basic.conf" basic
	run kubectl --kubeconfig "$FIX/basic.conf" get pods
	[ "$status" -ne 0 ]
	[[ "$output" == *"You must be logged in to the server (Unauthorized)"* ]]
	kube_fixture_requests | grep -q $'\tstatus=401\tuser=-\tauth=basic\t'
	kube_fixture_kubeconfig "$FIX/cert.conf" cert
	run kubectl --kubeconfig "$FIX/cert.conf" get pod toolbox -o name
	[ "$output" = pod/toolbox ]
	kube_fixture_requests | grep -q $'^GET\t/api/v1/namespaces/default/pods/toolbox\tstatus=200\tuser=fixture-admin\tauth=cert'
	kube_fixture_kubeconfig "$FIX/ro.conf" readonly
	run kubectl --kubeconfig "$FIX/ro.conf" delete configmap app-config
	[ "$status" -ne 0 ]
	[[ "$output" == *'(Forbidden)'*'User "fixture-viewer" cannot delete resource "configmaps"'* ]]
	kubectl get configmap app-config -o name
}

@test "content negotiation: protobuf only is refused, aggregated discovery when asked" {
	run raw_get /api/v1/namespaces/default/pods application/vnd.kubernetes.protobuf
	[ "${lines[0]}" = "406 application/json" ]
	[[ "${lines[1]}" == *'"reason":"NotAcceptable"'* ]]
	run raw_get /api/v1/namespaces/default/pods "application/vnd.kubernetes.protobuf, application/json"
	[ "${lines[0]}" = "200 application/json" ]
	run raw_get /apis "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
	[ "${lines[0]}" = "200 application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" ]
	[ "$(echo "${lines[1]}" | jq -r '.items[0].versions[0].resources[] | select(.resource == "deployments") | .subresources[] | select(.subresource == "scale") | .responseKind.kind')" = Scale ]
}

@test "the record keeps raw paths; disguised paths still reach their resource" {
	kube_fixture_clear_requests
	run raw_get "/api/v1/namespaces/default/configmaps/x/../../secrets%2Fdb-creds" application/json
	[ "${lines[0]}" = "200 application/json" ]
	[ "$(echo "${lines[1]}" | jq -r .kind)" = Secret ]
	kube_fixture_requests | grep -q $'^GET\t/api/v1/namespaces/default/configmaps/x/../../secrets%2Fdb-creds\tstatus=200'
	kube_fixture_requests_json | jq -e 'select(.path | contains("secrets%2F")) | .headers.authorization | startswith("Bearer ")'
}
