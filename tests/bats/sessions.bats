#!/usr/bin/env bats
# hoopctl for auditors against real recordings (written by
# tests/tools/hoop-rec-sample) and session rows in a test store: sessions
# list/show/verify/grep, replay (timing, --follow, keys in a terminal),
# export (text, ttyrec played by ttyplay, asciicast read by asciinema),
# and the audit events that viewing writes.
load helpers

SAMPLE=$HOOP_BUILD/tests/hoop-rec-sample
PIDS=()

hoopctl() {
	"$HOOPCTL" -c "$T/hoop.conf" "$@"
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$T"
}

rec_config() {
	write_config
	run "$HOOPCTL" -c "$T/hoop.conf" db migrate
	[ "$status" -eq 0 ]
	mkdir -m 0770 "$T/rec"
}

# SQL for a value: NULL for "-", else quoted.
sqlv() {
	if [ "$1" = - ]; then echo NULL; else echo "'${1//\'/\'\'}'"; fi
}

# add_session ID PRINCIPAL IDENTITY STARTED ENDED|- SEAL|- [COMMAND]
# (recording named like the session)
add_session() {
	sqlite3 "$T/hoop.db" "INSERT INTO sessions (id, login, identity,
	    principal, remote, command, pid, started_at, ended_at,
	    end_reason, recording, seal) VALUES ('$1', 'deploy', '$3',
	    '$2', '192.0.2.7', $(sqlv "${7:--}"), 4242, $4, $(sqlv "$5"),
	    $( [ "$5" = - ] && echo NULL || echo "'closed'"), '$1',
	    $(sqlv "$6"))"
}

# record ID KIND PRINCIPAL IDENTITY STARTED ENDED [COMMAND]: a sealed
# recording and its row, the seal's head kept as hoop-shell keeps it.
record() {
	local head
	head=$("$SAMPLE" -H "$T/rec" "$1" "$2")
	add_session "$1" "$3" "$4" "$5" "$6" "$head" "${7:--}"
}

# The three sessions most tests look at: a sealed one, a sealed one with
# escape sequences and a row command, a live one.
three_sessions() {
	rec_config
	record s1 session repo:acme/app deploy 1763800000 1763800005
	record s2 term ann@example.com staff 1763900000 1763900100 \
	    'kubectl get pods'
	"$SAMPLE" -u "$T/rec" s3 session
	add_session s3 repo:acme/app deploy 1764000000 - -
}

# The payloads of a ttyrec file, concatenated; fails on a torn file.
frames() {
	python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
i = 0
while i + 12 <= len(d):
    sec, usec, n = struct.unpack("<III", d[i:i + 12])
    if usec >= 1000000 or i + 12 + n > len(d):
        sys.exit("torn or bad ttyrec at %d" % i)
    sys.stdout.buffer.write(d[i + 12:i + 12 + n])
    i += 12 + n
if i != len(d):
    sys.exit("trailing bytes")
' "$1"
}

TERM_TEXT='green and plain
progress 100%
typo fixed
café au lait
euro € sign
bad � byte
title set
gone
col     umn
quote " backslash \ bell  end
no newline at the end'

@test "sessions list shows every session, as text and as JSON" {
	three_sessions
	run hoopctl sessions list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == "s1 2025-11-22T08:26:40Z 5s deploy principal=repo:acme/app identity=deploy remote=192.0.2.7 targets=- end=closed" ]]
	[[ "${lines[1]}" == "s2 "*" 1m40s "*"identity=staff "*"command=kubectl get pods" ]]
	[[ "${lines[2]}" == "s3 2025-11-24T16:00:00Z live deploy "* ]]
	run hoopctl sessions list --json
	[ "$status" -eq 0 ]
	[ "$(jq -s 'length' <<<"$output")" -eq 3 ]
	[ "$(jq -rs 'map(.id) | join(",")' <<<"$output")" = s1,s2,s3 ]
	[ "$(jq -rs 'map(select(.live)) | map(.id) | join(",")' <<<"$output")" = s3 ]
	[ "$(jq -r 'select(.id == "s3") | .seal' <<<"$output")" = null ]
	[[ "$(jq -r 'select(.id == "s1") | .seal' <<<"$output")" =~ ^[0-9]+:[0-9a-f]{64}$ ]]
	[ "$(jq -r 'select(.id == "s2") | .command' <<<"$output")" = "kubectl get pods" ]
	[ "$(jq -r 'select(.id == "s2") | .ended' <<<"$output")" = 2025-11-23T12:15:00Z ]
	[ "$(jq -r 'select(.id == "s1") | .started_at' <<<"$output")" = 1763800000 ]
}

# ids LIST-ARGS...: the ids sessions list gives, comma-separated
ids() {
	hoopctl sessions list --json "$@" | jq -rs 'map(.id) | join(",")'
}

@test "sessions list filters by principal, identity, live, time, command and target" {
	three_sessions
	[ "$(ids --principal repo:acme/app)" = s1,s3 ]
	[ "$(ids --principal nobody)" = "" ]
	[ "$(ids --identity staff)" = s2 ]
	[ "$(ids --live)" = s3 ]
	# A time range selects the sessions active during it.
	[ "$(ids --since @1763900050)" = s2,s3 ]
	[ "$(ids --until @1763850000)" = s1 ]
	[ "$(ids --since @1763800003 --until @1763800004)" = s1 ]
	[ "$(ids --since 2025-11-23 --until 2025-11-23T23:59:59Z)" = s2 ]
	# Commands: the row's, and those the recording holds.
	[ "$(ids --command '^psql prod')" = s1,s3 ]
	[ "$(ids --command '^kubectl get')" = s2 ]
	[ "$(ids --command 'echo .*red')" = s2 ]
	[ "$(ids --command 'rm -rf')" = "" ]
	[ "$(ids --command psql --live)" = s3 ]
	# Targets come from the session's audit events.
	sqlite3 "$T/hoop.db" "INSERT INTO audit_events (time_us, session_id,
	    principal, target, kind, action, decision, prev_hash, hash)
	    VALUES (1, 's2', 'ann@example.com', 'prod', 'shell', 'psql prod',
	    'allow', 'x', 'y')"
	[ "$(ids --target prod)" = s2 ]
	[ "$(ids --target staging)" = "" ]
	run hoopctl sessions list
	[[ "${lines[1]}" == *" targets=prod "* ]]
	run hoopctl sessions list --command '(unclosed'
	[ "$status" -eq 2 ]
	[[ "$output" == *"bad pattern"* ]]
	run hoopctl sessions list --since yesterday-ish
	[ "$status" -eq 2 ]
	[[ "$output" == *"bad time"* ]]
}

@test "sessions show: metadata, then commands with decisions, rules, reasons, exits and notes in order" {
	three_sessions
	run hoopctl sessions show s1
	[ "$status" -eq 0 ]
	[[ "$output" == *"principal repo:acme/app"* ]]
	[[ "$output" == *"started   2025-11-22T08:26:40Z"* ]]
	[[ "$output" == *"ended     2025-11-22T08:26:45Z (closed)"* ]]
	[[ "$output" == *"recording s1: intact (sealed; "* ]]
	events=$(grep '^+' <<<"$output")
	[ "$events" = "+0:00:00.000 start (input recorded)
+0:00:00.000 window 80x24
+0:00:00.400 command #1 psql prod -c 'select 1' => allow (rule read)
+0:00:01.320 input withheld (terminal echo off)
+0:00:01.350 exit #1 status 0 after 0.949s
+0:00:03.350 window 132x50
+0:00:03.350 command #2 bash => deny (rule default: no shell for this identity)
+0:00:03.450 note: session ended: logout
+0:00:03.450 end (sealed)" ]
	# Recorded strings reach the terminal escaped.
	run hoopctl sessions show s2
	[ "$status" -eq 0 ]
	[[ "$output" == *'command #1 echo \xff\x1b[31mred => deny (rule no-echo: echo is not\x09allowed)'* ]]
	[[ "$output" != *$'\e'* ]]
	run hoopctl sessions show s3
	[ "$status" -eq 0 ]
	[[ "$output" == *"ended     - (live)"* ]]
	[[ "$output" == *"live: the recording goes on"* ]]
	run hoopctl sessions show nope
	[ "$status" -eq 1 ]
	[[ "$output" == *"no session nope"* ]]
}

@test "sessions show --json, and the pauses and limits of recordings that hit their size limit" {
	three_sessions
	run hoopctl sessions show s1 --json
	[ "$status" -eq 0 ]
	[ "$(head -n 1 <<<"$output" | jq -r '.id + " " + (.verify.ok | tostring)')" = "s1 true" ]
	cmds=$(tail -n +2 <<<"$output" | jq -c 'select(.type == "command") | [.offset_us, .id, .line, .decision, .rule, .reason]')
	[ "$cmds" = '[400002,1,"psql prod -c '"'"'select 1'"'"'","allow","read",""]
[3350002,2,"bash","deny","default","no shell for this identity"]' ]
	[ "$(tail -n +2 <<<"$output" | jq -c 'select(.type == "exit") | [.id, .status, .duration_us]')" = '[1,0,949999]' ]
	run hoopctl sessions show s2 --json
	[ "$(tail -n +2 <<<"$output" | jq -r 'select(.type == "command") | .line')" = $'echo \uFFFD\e[31mred' ]
	record k1 skip repo:acme/app deploy 1764100000 1764100100
	record k2 end repo:acme/app deploy 1764200000 1764200100
	run hoopctl sessions show k1
	[ "$status" -eq 0 ]
	[[ "$output" == *"recording of output paused (size limit)"* ]]
	[[ "$output" =~ "recording of output resumed ("[0-9]+" bytes not recorded)" ]]
	run hoopctl sessions show k2
	[ "$status" -eq 0 ]
	[[ "$output" == *"size limit of 3000 bytes reached: session ended"* ]]
}

@test "sessions verify: intact, live, and each kind of damage with its chunk" {
	three_sessions
	run hoopctl sessions verify s1
	[ "$status" -eq 0 ]
	[[ "$output" == "s1: intact (sealed; "*" chunks, 531 bytes of output)" ]]
	run hoopctl sessions verify s3
	[ "$status" -eq 0 ]
	[[ "$output" == "s3: live, intact so far ("*"not sealed yet, so checked without a head)" ]]
	run hoopctl sessions verify --all
	[ "$status" -eq 0 ]
	[[ "$output" == *"3 sessions checked, 0 not intact"* ]]

	for k in out ev chain trunc gone; do
		record "d-$k" session repo:acme/app deploy 1764300000 1764300100
	done
	# One byte of output changed (inside the first frame's text).
	printf 'X' | dd of="$T/rec/d-out/output.ttyrec" bs=1 seek=14 conv=notrunc 2>/dev/null
	# One byte of the command line in the events.
	off=$(grep -abo "select 1" "$T/rec/d-ev/events.hrec" | head -n 1 | cut -d: -f1)
	printf '2' | dd of="$T/rec/d-ev/events.hrec" bs=1 seek=$((off + 7)) conv=notrunc 2>/dev/null
	# The second chain record deleted.
	c=$T/rec/d-chain/chain.hrec
	{ head -c 72 "$c"; tail -c +145 "$c"; } >"$c.new" && mv "$c.new" "$c"
	truncate -s -5 "$T/rec/d-trunc/output.ttyrec"
	rm -rf "$T/rec/d-gone"

	run hoopctl sessions verify d-out
	[ "$status" -eq 1 ]
	[[ "$output" =~ ^d-out:\ BROKEN\ at\ chunk\ [0-9]+:\  ]]
	run hoopctl sessions verify d-ev
	[ "$status" -eq 1 ]
	[[ "$output" =~ ^d-ev:\ BROKEN\ at\ chunk\ [0-9]+:\  ]]
	run hoopctl sessions verify d-chain
	[ "$status" -eq 1 ]
	[[ "$output" =~ ^d-chain:\ BROKEN\ at\ chunk\ 2:\  ]]
	run hoopctl sessions verify d-trunc
	[ "$status" -eq 1 ]
	[[ "$output" =~ ^d-trunc:\ BROKEN\ at\ chunk\ [0-9]+:\  ]]
	run hoopctl sessions verify d-gone
	[ "$status" -eq 1 ]
	[[ "$output" == "d-gone: BROKEN: recording $T/rec/d-gone is missing" ]]

	run hoopctl sessions verify --all
	[ "$status" -eq 1 ]
	[[ "$output" == *"8 sessions checked, 5 not intact"* ]]
	run hoopctl sessions verify --all --json
	[ "$status" -eq 1 ]
	[ "$(jq -rs 'map(select(.ok | not)) | map(.session + ":" + .status) | join(",")' <<<"$output")" = d-chain:broken,d-ev:broken,d-gone:missing,d-out:broken,d-trunc:broken ]
	[ "$(jq -r 'select(.session == "d-chain") | .broken_chunk' <<<"$output")" = 2 ]
	run hoopctl sessions verify --all --principal ann@example.com
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 sessions checked, 0 not intact"* ]]
}

@test "sessions verify: a recording whose seal the store lacks, an unsealed ended one, none at all" {
	rec_config
	"$SAMPLE" "$T/rec" n1 session
	add_session n1 repo:acme/app deploy 1764300000 1764300100 -
	"$SAMPLE" -u "$T/rec" n2 session
	add_session n2 repo:acme/app deploy 1764300000 1764300100 -
	sqlite3 "$T/hoop.db" "INSERT INTO sessions (id, login, started_at,
	    ended_at) VALUES ('n3', 'deploy', 1764300000, 1764300001)"
	# Whole-recording replacement is what a seal in the store catches.
	head=$("$SAMPLE" -H "$T/rec" other session)
	rm -rf "$T/rec/other"
	add_session n4 repo:acme/app deploy 1764300000 1764300100 "$head"
	"$SAMPLE" "$T/rec" n4 session
	run hoopctl sessions verify n1
	[ "$status" -eq 1 ]
	[[ "$output" == "n1: NO SEAL IN THE STORE: sealed, but the store holds no seal"* ]]
	run hoopctl sessions verify n2
	[ "$status" -eq 1 ]
	[[ "$output" == "n2: NOT SEALED: the session ended without a seal"* ]]
	run hoopctl sessions verify n3
	[ "$status" -eq 1 ]
	[ "$output" = "n3: NO RECORDING" ]
	run hoopctl sessions verify n4
	[ "$status" -eq 1 ]
	[[ "$output" == "n4: BROKEN at chunk "* ]]
	run hoopctl sessions verify nope
	[ "$status" -eq 1 ]
	[[ "$output" == *"no session nope"* ]]
	run hoopctl sessions verify n1 --all
	[ "$status" -eq 2 ]
}

@test "sessions grep finds output (escape sequences removed) and commands, with the moment" {
	three_sessions
	run hoopctl sessions grep 'café au lait'
	[ "$status" -eq 0 ]
	[ "$output" = "s2 +0:00:00.004 output: café au lait" ]
	# Carriage returns applied: the overwritten text is gone.
	run hoopctl sessions grep 'progress 10%'
	[ "$status" -eq 1 ]
	[ "$output" = "" ]
	run hoopctl sessions grep 'progress 100%$'
	[ "$output" = "s2 +0:00:00.001 output: progress 100%" ]
	run hoopctl sessions grep 'typo fixed'
	[ "$output" = "s2 +0:00:00.002 output: typo fixed" ]
	run hoopctl sessions grep '^euro € sign$'
	[ "$status" -eq 0 ]
	run hoopctl sessions grep 'window title|32m'
	[ "$status" -eq 1 ]
	run hoopctl sessions grep -i 'ROW\)'
	[ "$status" -eq 0 ]
	[ "$output" = "s1 +0:00:01.350 output: (1 row)
s3 +0:00:01.350 output: (1 row)" ]
	run hoopctl sessions grep --live 'row\)'
	[ "$output" = "s3 +0:00:01.350 output: (1 row)" ]
	run hoopctl sessions grep '^echo'
	[ "$output" = 's2 +0:00:00.010 command: echo �\x1b[31mred' ]
	run hoopctl sessions grep --json --session s1 'select 1|denied'
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.session, .offset_us, .source, .line]' <<<"$output")" = '["s1",400001,"output","hoop$ psql prod -c '"'"'select 1'"'"'"]
["s1",400002,"command","psql prod -c '"'"'select 1'"'"'"]
["s1",3350003,"output","hoop$ hoop: bash: denied: no shell for this identity"]' ]
	run hoopctl sessions grep '('
	[ "$status" -eq 2 ]
}

@test "export text removes escape sequences and applies carriage returns and backspaces" {
	three_sessions
	run hoopctl export s2 --format text
	[ "$status" -eq 0 ]
	[ "$output" = "$TERM_TEXT" ]
	hoopctl export --format text -o "$T/s2.txt" s2
	[ "$(cat "$T/s2.txt")" = "$TERM_TEXT" ]
	[ "$(stat -c %a "$T/s2.txt")" = 600 ]
	run hoopctl export s1 --format text
	[[ "${lines[0]}" == "hoop\$ psql prod -c 'select 1'" ]]
	[[ "${lines[1]}" == "Password:  ?column?" ]]
	run hoopctl export s1 --format html
	[ "$status" -eq 2 ]
	run hoopctl export s1
	[ "$status" -eq 2 ]
}

@test "export ttyrec is output.ttyrec frame for frame, and ttyplay plays it" {
	three_sessions
	hoopctl export s2 --format ttyrec -o "$T/s2.ttyrec"
	cmp "$T/s2.ttyrec" "$T/rec/s2/output.ttyrec"
	frames "$T/s2.ttyrec" >"$T/s2.raw"
	hoopctl export s1 --format ttyrec >"$T/s1.ttyrec"
	cmp "$T/s1.ttyrec" "$T/rec/s1/output.ttyrec"
	ttyplay -n "$T/s2.ttyrec" </dev/null >"$T/played"
	cmp "$T/played" "$T/s2.raw"
	# A recording cut inside a frame: the whole frames, and an error.
	truncate -s -3 "$T/rec/s1/output.ttyrec"
	run hoopctl export s1 --format ttyrec -o "$T/cut.ttyrec"
	[ "$status" -eq 1 ]
	[[ "$output" == *"warning: s1: BROKEN at chunk "* ]]
	[[ "$output" == *"exported up to the problem"*"output.ttyrec"* ]]
	frames "$T/cut.ttyrec" >/dev/null
}

@test "export asciicast: asciinema reads it, jq parses every line, UTF-8 kept whole" {
	three_sessions
	hoopctl export s2 --format asciicast -o "$T/s2.cast"
	# Every line one JSON value; the header first.
	[ "$(wc -l <"$T/s2.cast")" -eq 18 ]
	while IFS= read -r line; do
		jq -e . <<<"$line" >/dev/null
	done <"$T/s2.cast"
	[ "$(jq -c 'type' "$T/s2.cast" | sort | uniq -c | tr -s ' ')" = " 17 \"array\"
 1 \"object\"" ]
	[ "$(head -n 1 "$T/s2.cast" | jq -c '[.version, .width, .height, .timestamp, .title]')" = '[2,100,30,1763800000,"hoop session s2"]' ]
	[ "$(tail -n +2 "$T/s2.cast" | jq -sc 'group_by(.[1]) | map([.[0][1], length])')" = '[["i",2],["m",1],["o",13],["r",1]]' ]
	[ "$(tail -n +2 "$T/s2.cast" | jq -r 'select(.[1] == "r") | .[2]')" = 120x40 ]
	[ "$(tail -n +2 "$T/s2.cast" | jq -r 'select(.[1] == "i") | .[2]' | tr -d '\r')" = "caf
é" ]
	# Times only go forward.
	tail -n +2 "$T/s2.cast" | jq -s -e '[.[][0]] | . == sort'
	# The output, split UTF-8 rejoined, invalid bytes replaced.
	tail -n +2 "$T/s2.cast" | jq -j 'select(.[1] == "o") | .[2]' >"$T/cast.out"
	[ "$(grep -c 'café au lait' "$T/cast.out")" -eq 1 ]
	[ "$(grep -c 'bad � byte' "$T/cast.out")" -eq 1 ]
	# asciinema wants a terminal: script gives it one.
	script -qc "asciinema cat $T/s2.cast" /dev/null >"$T/asciinema.out"
	cmp "$T/asciinema.out" "$T/cast.out"
	hoopctl export s1 --format asciicast >"$T/s1.cast"
	script -qc "asciinema cat $T/s1.cast" /dev/null >"$T/asciinema1.out"
	frames "$T/rec/s1/output.ttyrec" >"$T/s1.raw"
	cmp "$T/asciinema1.out" "$T/s1.raw"
	[ "$(head -n 1 "$T/s1.cast" | jq -c '[.width, .height]')" = '[80,24]' ]
	# Input not recorded: no "i" events.
	record ni noinput repo:acme/app deploy 1764400000 1764400001
	hoopctl export ni --format asciicast >"$T/ni.cast"
	[ "$(jq -c 'select(type == "array" and .[1] == "i")' "$T/ni.cast")" = "" ]
	[ "$(jq -c 'select(type == "array" and .[1] == "o")' "$T/ni.cast" | wc -l)" -gt 3 ]
}

@test "replay writes the output unchanged, with real timing, speed and idle limit" {
	three_sessions
	frames "$T/rec/s1/output.ttyrec" >"$T/s1.raw"
	hoopctl replay --speed 1000 s1 >"$T/replayed"
	cmp "$T/replayed" "$T/s1.raw"
	# Byte for byte, so its text is the export's text.
	hoopctl replay s2 --speed 1000 >"$T/replayed2"
	cmp "$T/replayed2" <(frames "$T/rec/s2/output.ttyrec")
	[ "$(python3 -c 'import sys; sys.stdout.buffer.write(open(sys.argv[1], "rb").read().replace(b"\x1b[1;32m", b"").replace(b"\x1b[0m", b"").split(b"\r\n")[0])' "$T/replayed2")" = "green and plain" ]
	# 3.45 s recorded: a quarter of it at speed 4, hardly any with the
	# pauses capped.
	start=$(date +%s%N)
	hoopctl replay --speed 4 s1 >/dev/null
	full=$((($(date +%s%N) - start) / 1000000))
	[ "$full" -ge 800 ]
	# Compared with the run above, so that a slow start (a sanitizer
	# build, a busy machine) counts on both sides.
	start=$(date +%s%N)
	hoopctl replay --speed 4 --idle-limit 0.01 s1 >/dev/null
	capped=$((($(date +%s%N) - start) / 1000000))
	[ "$capped" -lt $((full - 500)) ] || { echo "full $full ms, capped $capped ms"; false; }
	run hoopctl replay --speed 0 s1
	[ "$status" -eq 2 ]
	run hoopctl replay --idle-limit -1 s1
	[ "$status" -eq 2 ]
	# Everything hoopctl says goes to stderr, never into the output.
	hoopctl replay --speed 1000 s3 >"$T/live.out" 2>"$T/live.err"
	[[ "$(cat "$T/live.err")" == *"live session s3: --follow keeps watching"* ]]
	cmp "$T/live.out" <(frames "$T/rec/s3/output.ttyrec")
}

@test "replay --follow keeps reading a recording as it grows, until END" {
	rec_config
	add_session f1 repo:acme/app deploy 1764500000 - -
	# Written in about 0.7 s, step by step.
	"$SAMPLE" -s 100 "$T/rec" f1 session &
	PIDS+=($!)
	writer=$!
	for _ in $(seq 50); do
		[ -s "$T/rec/f1/events.hrec" ] && break
		sleep 0.05
	done
	hoopctl replay --follow f1 >"$T/followed"
	# It ended with the recording (END), not before: all of it came.
	wait "$writer"
	cmp "$T/followed" <(frames "$T/rec/f1/output.ttyrec")
	grep -q 'no shell for this identity' "$T/followed"
}

@test "replay --follow of an unsealed recording ends when the session row is closed" {
	rec_config
	add_session f2 repo:acme/app deploy 1764500000 - -
	{
		"$SAMPLE" -u -s 50 "$T/rec" f2 session
		sleep 0.5
		sqlite3 "$T/hoop.db" "UPDATE sessions SET ended_at = 1764500100,
		    end_reason = 'gc' WHERE id = 'f2'"
	} &
	PIDS+=($!)
	for _ in $(seq 50); do
		[ -s "$T/rec/f2/events.hrec" ] && break
		sleep 0.05
	done
	run timeout 20 "$HOOPCTL" -c "$T/hoop.conf" replay --follow f2
	[ "$status" -eq 0 ]
	[[ "$output" == *"session ended: logout"* ]] || [[ "$output" == *"aaaa"* ]]
	hoopctl replay --follow f2 >"$T/again"
	cmp "$T/again" <(frames "$T/rec/f2/output.ttyrec")
}

# keys.py KEYS-SCRIPT -- COMMAND...: runs COMMAND on a fresh pty and
# prints what the terminal settings were during and after.
pty_driver() {
	cat >"$T/keys.py" <<'PY'
import os, pty, select, signal, subprocess, sys, termios, time
steps, cmd = sys.argv[1], sys.argv[3:]
master, slave = pty.openpty()
before = termios.tcgetattr(slave)
p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                     start_new_session=True)
def read_for(t):
    out, end = b"", time.time() + t
    while time.time() < end:
        r, _, _ = select.select([master], [], [], max(0, end - time.time()))
        if r:
            try:
                out += os.read(master, 65536)
            except OSError:
                break
    return out
got = read_for(0.6)
mid = termios.tcgetattr(slave)
print("keys-mode", not mid[3] & termios.ICANON and not mid[3] & termios.ECHO)
for step in steps.split(","):
    if step == "TERM":
        os.kill(p.pid, signal.SIGTERM)
        continue
    key, wait = step[0], float(step[1:])
    os.write(master, key.encode())
    out = read_for(wait)
    print("after", repr(key), len(out), "bytes",
          "row" if b"(1 row)" in out else "",
          "denied" if b"denied" in out else "")
try:
    p.wait(timeout=10)
except subprocess.TimeoutExpired:
    p.kill()
print("exit", p.returncode)
print("restored", termios.tcgetattr(slave) == before)
PY
	python3 "$T/keys.py" "$@"
}

@test "replay keys in a terminal: pause, step, next command, quit; terminal restored, also on a signal" {
	three_sessions
	# 0.4 s between the first frames: 1.6 s at speed 0.25.
	run pty_driver " 1.2,.0.3,n0.5, 1.0,q0.2" -- "$HOOPCTL" -c "$T/hoop.conf" replay --speed 0.25 s1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "keys-mode True" ]
	# Paused: nothing comes; a step shows one frame (the first command
	# goes by); n jumps to the next command, the psql output at once, and
	# stays paused there, before the refusal; space plays the rest.
	[[ "${lines[1]}" == "after ' ' 0 bytes  " ]]
	[[ "${lines[2]}" =~ ^after\ \'.\'\ [1-9][0-9]*\ bytes\ \ $ ]]
	[[ "${lines[3]}" =~ ^after\ \'n\'\ [1-9][0-9]*\ bytes\ row\ $ ]]
	[[ "${lines[4]}" =~ ^after\ \'\ \'\ [1-9][0-9]*\ bytes\ \ denied$ ]]
	[ "${lines[6]}" = "exit 0" ]
	[ "${lines[7]}" = "restored True" ]
	run pty_driver "TERM" -- "$HOOPCTL" -c "$T/hoop.conf" replay --speed 0.1 s1
	[[ "${lines[0]}" == "keys-mode True" ]]
	[ "${lines[1]}" = "exit -15" ]
	[ "${lines[2]}" = "restored True" ]
}

@test "viewing writes one audit event first, and nothing is shown if it cannot be written" {
	three_sessions
	hoopctl sessions show s1 >/dev/null
	hoopctl replay --speed 1000 s2 >/dev/null
	hoopctl export s1 --format text >/dev/null
	hoopctl sessions grep 'row\)' >/dev/null
	hoopctl sessions list >/dev/null
	hoopctl sessions verify --all >/dev/null
	run hoopctl audit list --kind session --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.action, .session // "-", .principal, .decision] | join(" ")' <<<"$output")" = "show s1 root info
replay s2 root info
export s1 root info
grep - root info
grep s1 root info
grep s3 root info" ]
	[ "$(jq -r 'select(.action == "export") | .detail.format' <<<"$output")" = text ]
	[ "$(jq -r 'select(.action == "grep" and .session == null) | .detail.pattern' <<<"$output")" = 'row\)' ]
	[ "$(jq -r 'select(.action == "replay") | .detail.speed' <<<"$output")" = 1000 ]
	run hoopctl audit verify
	[ "$status" -eq 0 ]

	# An audit log that refuses the event: refuse to show.
	sqlite3 "$T/hoop.db" "CREATE TRIGGER no_more BEFORE INSERT ON
	    audit_events BEGIN SELECT RAISE(ABORT, 'full'); END"
	for cmd in "sessions show s1" "replay --speed 1000 s1" \
	    "export s1 --format text" "export s1 --format asciicast" \
	    "sessions grep row"; do
		# shellcheck disable=SC2086
		hoopctl $cmd >"$T/out" 2>"$T/err" && false
		[ ! -s "$T/out" ]
		grep -q "cannot record the audit event" "$T/err"
	done
	hoopctl export s1 --format text -o "$T/refused.txt" 2>/dev/null && false
	[ ! -s "$T/refused.txt" ]
}

@test "replay and export of a session without a recording, and usage errors" {
	rec_config
	sqlite3 "$T/hoop.db" "INSERT INTO sessions (id, login, started_at)
	    VALUES ('bare', 'deploy', 1764300000)"
	run hoopctl replay bare
	[ "$status" -eq 1 ]
	[[ "$output" == *"session bare has no recording"* ]]
	run hoopctl export bare --format text
	[ "$status" -eq 1 ]
	run hoopctl replay
	[ "$status" -eq 2 ]
	run hoopctl sessions frobnicate
	[ "$status" -eq 2 ]
	run hoopctl sessions grep
	[ "$status" -eq 2 ]
}
