# A real sshd on a loopback port inside a private mount namespace. The
# namespace sees generated passwd, group, nsswitch.conf and pam.d, a /run
# of its own, and a /dev whose log socket the test reads: the host's own
# configuration is never touched.
#
#   sshd_start PAM_AUTH_LINES [extra sshd_config lines]
#   sshd_ssh USER CMD...      (stock ssh, keyboard-interactive, askpass)
#   sshd_syslog               (what reached syslog so far)

# shellcheck source=tests/bats/net.bash
. "${BASH_SOURCE[0]%/*}/net.bash"

SSHD_USER=${SSHD_USER:-deploy}
SSHD_UID=${SSHD_UID:-60100}
# Fixed passwd entries "name:uid ..." (until nss_hoop answers for them).
SSHD_USERS=${SSHD_USERS-$SSHD_USER:$SSHD_UID}

# The ASan build's module cannot run inside sshd: the runtime must be
# loaded before anything else, and preloading it into sshd leaves logins
# hanging in its privilege-separated children. Suites check this and
# drive the module through tests/tools/hoop-pam-conv instead.
sshd_can_host_module() {
	! ldd "$HOOP_BUILD/pam_hoop.so" 2>/dev/null | grep -q libasan
}

# hoop_ready CONF: checks CONF, migrates its store and writes the data
# file of nss_hoop's test build ($NSSDB), so names resolve before login.
NSSDB=$HOOP_BUILD/tests/nss/passwd.db
hoop_ready() {
	"$HOOP_BUILD/hoopctl" -c "$1" config check >/dev/null &&
	"$HOOP_BUILD/hoopctl" -c "$1" db migrate >/dev/null &&
	"$HOOP_BUILD/hoopctl" -c "$1" --nss-db "$NSSDB" nss sync >/dev/null
}

# hoop_pam_stack CONF: the auth, account and session lines of pam_hoop.
hoop_pam_stack() {
	printf 'auth required %s config=%s\n' "$HOOP_BUILD/pam_hoop.so" "$1"
	printf 'account required %s config=%s\n' "$HOOP_BUILD/pam_hoop.so" "$1"
	printf 'session required %s config=%s nssdb=%s\n' \
		"$HOOP_BUILD/pam_hoop.so" "$1" "$NSSDB"
}

# The namespace's files only (passwd, group, pam.d...), without sshd.
sshd_prepare() {
	local pam_lines=$1
	SSHD_DIR=$T/sshd
	local entry name uid
	mkdir -p "$SSHD_DIR/pam.d" "$SSHD_DIR/home" "$SSHD_DIR/hostdev"
	chmod 755 "$SSHD_DIR" "$SSHD_DIR/home"
	ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/host_key"
	cp /etc/passwd "$SSHD_DIR/passwd"
	cp /etc/group "$SSHD_DIR/group"
	for entry in $SSHD_USERS; do
		name=${entry%%:*} uid=${entry#*:}
		mkdir -p "$SSHD_DIR/home/$name"
		chown "$uid:$uid" "$SSHD_DIR/home/$name"
		echo "$name:x:$uid:$uid:hoop test user:$SSHD_DIR/home/$name:${SSHD_USER_SHELL:-/bin/sh}" >>"$SSHD_DIR/passwd"
		echo "$name:x:$uid:" >>"$SSHD_DIR/group"
	done
	if [ -n "${SSHD_NSS:-}" ]; then
		# nss_hoop's test build (it reads BUILD/tests/nss/passwd.db),
		# found through a loader cache of the namespace's own.
		printf 'passwd: files hoop\ngroup: files hoop\nshadow: files\nhosts: files\n' >"$SSHD_DIR/nsswitch.conf"
		printf '%s\ninclude /etc/ld.so.conf\n' "$HOOP_BUILD/tests/nss" >"$SSHD_DIR/ld.so.conf"
		ldconfig -C "$SSHD_DIR/ld.so.cache" -f "$SSHD_DIR/ld.so.conf"
	else
		printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' >"$SSHD_DIR/nsswitch.conf"
		cp /etc/ld.so.cache "$SSHD_DIR/ld.so.cache"
	fi
	printf '%s\n' "$pam_lines" >"$SSHD_DIR/pam.d/sshd"
	printf '%s required pam_deny.so\n' auth account session password >"$SSHD_DIR/pam.d/other"
}

sshd_start() {
	local pam_lines=$1 extra=${2:-}
	sshd_prepare "$pam_lines"
	SSHD_PORT=$(free_port)
	# sshd takes the first value of an option: the caller's lines go first.
	cat >"$SSHD_DIR/sshd_config" <<CONF
$extra
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $SSHD_DIR/host_key
PidFile $SSHD_DIR/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
PermitRootLogin no
StrictModes no
AllowTcpForwarding no
X11Forwarding no
AcceptEnv HOOP_NONE
LogLevel VERBOSE
CONF
	echo "[127.0.0.1]:$SSHD_PORT $(cat "$SSHD_DIR/host_key.pub")" >"$SSHD_DIR/known_hosts"
	unshare -m --propagation private bash -c "
		set -e
		mount --bind '$SSHD_DIR/passwd' /etc/passwd
		mount --bind '$SSHD_DIR/group' /etc/group
		mount --bind '$SSHD_DIR/nsswitch.conf' /etc/nsswitch.conf
		mount --bind '$SSHD_DIR/ld.so.cache' /etc/ld.so.cache
		mount --bind '$SSHD_DIR/pam.d' /etc/pam.d
		mount -t tmpfs tmpfs /run
		mkdir -p /run/sshd
		mount --rbind /dev '$SSHD_DIR/hostdev'
		mount -t tmpfs tmpfs /dev
		for n in null zero full random urandom tty; do
			touch /dev/\$n; mount --bind '$SSHD_DIR/hostdev/'\$n /dev/\$n
		done
		# A devpts of its own: the host's /dev/ptmx cannot allocate
		# ptys from inside the namespace.
		mkdir /dev/pts /dev/shm
		mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
		ln -s pts/ptmx /dev/ptmx
		mount -t tmpfs tmpfs /dev/shm
		umount -l '$SSHD_DIR/hostdev'
		socat -u UNIX-RECV:/dev/log,mode=666 OPEN:'$SSHD_DIR/syslog',creat,append &
		for i in \$(seq 100); do [ -S /dev/log ] && break; sleep 0.02; done
		exec /usr/sbin/sshd -D -e -f '$SSHD_DIR/sshd_config'
	" >"$SSHD_DIR/sshd.log" 2>&1 &
	SSHD_NS_PID=$!
	for _ in $(seq 100); do
		ss -Hltn "sport = :$SSHD_PORT" | grep -q . && return 0
		kill -0 "$SSHD_NS_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "sshd did not start:"; cat "$SSHD_DIR/sshd.log"
	return 1
}

sshd_stop() {
	[ -n "${SSHD_DIR:-}" ] || return 0
	[ -f "$SSHD_DIR/sshd.pid" ] && kill "$(cat "$SSHD_DIR/sshd.pid")" 2>/dev/null
	# socat lives in the namespace; it dies with its parent shell's group.
	pkill -f "UNIX-RECV:/dev/log,mode=666 OPEN:$SSHD_DIR/syslog" 2>/dev/null
	[ -n "${SSHD_NS_PID:-}" ] && wait "$SSHD_NS_PID" 2>/dev/null
	return 0
}

# sshd_ssh USER CMD... : the stock client, keyboard-interactive only,
# answering prompts through hoop-askpass (HOOP_TOKEN or HOOP_TOKEN_FILE).
sshd_ssh() {
	local user=$1; shift
	SSH_ASKPASS=$HOOP_BUILD/hoop-askpass SSH_ASKPASS_REQUIRE=force DISPLAY= \
	setsid -w ssh -F /dev/null -p "$SSHD_PORT" \
		-o UserKnownHostsFile="$SSHD_DIR/known_hosts" \
		-o StrictHostKeyChecking=yes -o BatchMode=no \
		-o PreferredAuthentications=keyboard-interactive \
		-o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 \
		${SSHD_SSH_OPTS:-} "$user@127.0.0.1" "$@" </dev/null
}

# One line per message: the datagrams arrive without separators.
# sshd_as_host CMD...: runs CMD with the namespace's passwd and group (so
# the fixed test users resolve), outside sshd.
sshd_as_host() {
	unshare -m --propagation private bash -c '
		mount --bind "$1/passwd" /etc/passwd
		mount --bind "$1/group" /etc/group
		mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf
		mount --bind "$1/ld.so.cache" /etc/ld.so.cache
		shift; exec "$@"' - "$SSHD_DIR" "$@"
}

sshd_syslog() {
	sed -E 's/<[0-9]{1,3}>[A-Z][a-z]{2} [ 0-9]{2} /\n&/g' "$SSHD_DIR/syslog" 2>/dev/null |
		grep -v '^$'
}
