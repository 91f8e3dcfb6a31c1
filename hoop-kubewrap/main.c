/*
 * hoop-kubewrap: kubectl against a cluster by name, through a Kubernetes
 * API proxy that holds the cluster's credential, decides every request
 * and masks what Secrets hold.
 *
 * Privilege: installed setgid hoop. The group reads hoop.conf's secret
 * files and writes the store (audit events, approvals). The process that
 * keeps the credential is the proxy; the kernel makes a setgid process
 * undumpable, so the user can neither trace it nor read its memory or
 * /proc files (PR_SET_DUMPABLE 0 is also set here). kubectl is its
 * child, started with the group dropped for good (setresgid, checked), a
 * parent-death signal and an environment built from a list, pointed by a
 * kubeconfig in a private directory of the user's at the proxy on
 * loopback with a random token good for this proxy only.
 *
 * Who the user is comes from the store (the live lease of the kernel's
 * real uid); the session from HOOP_SESSION_ID only when the store says
 * it is a live session of that same lease.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "hoop_audit.h"
#include "hoop_log.h"
#include "hoop_util.h"
#include "kubewrap.h"
#include "store_internal.h"

#ifndef HOOP_KUBEWRAP_CONFIG
#define HOOP_KUBEWRAP_CONFIG HOOP_SYSCONFDIR "/hoop/hoop.conf"
#endif

#ifdef __SANITIZE_ADDRESS__
/* LeakSanitizer stops the world with ptrace, which an undumpable process
 * refuses. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

#define SECRET_MAX	16384

extern char **environ;

static void __attribute__((noreturn, format(printf, 2, 3)))
fail(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("hoop-kubewrap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void
diag(void *arg, const char *message)
{
	(void)arg;
	fprintf(stderr, "hoop-kubewrap: %s\n", message);
}

/* ---- kubectl's environment ---- */

/* The terminal, the user and kubectl's own preferences; nothing that
 * tells kubectl where or as whom to connect (KUBECONFIG is set after,
 * proxies never pass). */
static void
base_environment(struct hoop_env *e)
{
	static const char *const keep[] = { "TERM", "COLORTERM", "NO_COLOR",
	    "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "LC_COLLATE",
	    "LC_NUMERIC", "LC_TIME", "LC_MONETARY", "TZ", "HOME", "USER",
	    "LOGNAME", "SHELL", "PAGER", "EDITOR", "VISUAL", "KUBE_EDITOR",
	    "KUBECTL_EXTERNAL_DIFF", "COLUMNS", "LINES", "TMPDIR",
	    "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "HOOP_SESSION_ID",
	    "HOOP_PRINCIPAL", "HOOP_IDENTITY", "HOOP_SESSION_END",
	    "HOOP_APPROVAL_WAIT" };
	const char *v;

	hoop_env_keep(e, keep, sizeof(keep) / sizeof(keep[0]));
	v = getenv("PATH");
	(void)hoop_env_add(e, "PATH", v != NULL ? v : "/usr/bin:/bin");
}

/* ---- Set-up ---- */

static void
find_session(struct kubewrap *kw)
{
	const char *hint = getenv("HOOP_SESSION_ID");
	sqlite3_stmt *st = NULL;

	if (hint == NULL || strlen(hint) != 32 ||
	    strspn(hint, "0123456789abcdef") != 32)
		return;
	if (sqlite3_prepare_v2(hoop_store_db(kw->store), "SELECT 1 FROM "
	    "sessions WHERE id = ?1 AND lease_id = ?2 AND ended_at IS NULL",
	    -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, hint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, kw->who.lease_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(kw->session_buf, sizeof(kw->session_buf), "%s", hint);
		kw->session_id = kw->session_buf;
	}
	sqlite3_finalize(st);
}

static int
usable(struct kubewrap *kw, const struct hoop_target *t)
{
	return t != NULL && t->type == HOOP_TARGET_KUBERNETES &&
	    hoop_policy_target_allowed(kw->cfg, &kw->who, t->name);
}

static void __attribute__((noreturn))
refuse_target(struct kubewrap *kw, const char *name, const char *reason)
{
	struct hoop_audit_event ev = { 0 };
	size_t i;
	int any = 0;

	ev.session_id = kw->session_id;
	ev.principal = kw->who.login;
	ev.identity = kw->who.identity->name;
	ev.target = name;
	ev.kind = "kube";
	ev.action = "connect";
	ev.decision = "deny";
	ev.reason = reason;
	(void)hoop_audit_append(kw->store, &ev, NULL);
	fprintf(stderr, "hoop-kubewrap: %s\n", reason);
	for (i = 0; i < hoop_config_target_count(kw->cfg); i++) {
		const struct hoop_target *t = hoop_config_target_at(kw->cfg, i);

		if (!usable(kw, t))
			continue;
		fprintf(stderr, "%s%s", any ? ", " : "clusters you may use "
		    "(--context NAME): ", t->name);
		any = 1;
	}
	if (any)
		fputc('\n', stderr);
	exit(2);
}

/* --context NAME, or the only cluster the principal may use. */
static void
choose_target(struct kubewrap *kw, const char *name)
{
	const struct hoop_target *t, *only = NULL;
	char why[160];
	size_t i, n = 0;

	if (name != NULL) {
		kw->target = hoop_config_target(kw->cfg, name);
		if (!usable(kw, kw->target)) {
			snprintf(why, sizeof(why), "\"%.64s\" is not a "
			    "Kubernetes cluster you may use", name);
			refuse_target(kw, name, why);
		}
		return;
	}
	for (i = 0; i < hoop_config_target_count(kw->cfg); i++) {
		t = hoop_config_target_at(kw->cfg, i);
		if (usable(kw, t)) {
			only = t;
			n++;
		}
	}
	if (n != 1)
		refuse_target(kw, "-", n == 0 ? "there is no Kubernetes "
		    "cluster you may use" : "name the cluster with --context");
	kw->target = only;
}

static char *
read_token(const struct hoop_target *t)
{
	char *buf = NULL;
	size_t len = 0;
	hoop_err_t err;

	if (t->secret_file == NULL)
		fail(1, "cluster %s has no secret_file (its bearer token): "
		    "tell an administrator", t->name);
	if ((err = hoop_read_file(t->secret_file, SECRET_MAX, &buf, &len)) !=
	    HOOP_OK)
		fail(1, "cannot read the credential of cluster %s (%s): tell "
		    "an administrator", t->name, hoop_strerror(err));
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len == 0 || strlen(buf) != len || strspn(buf,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	    "-._~+/=:") != len) {
		hoop_wipe_free(buf);
		fail(1, "the credential of cluster %s is not one bearer token: "
		    "tell an administrator", t->name);
	}
	return buf;
}

static void
listen_loopback(struct kubewrap *kw)
{
	struct sockaddr_in sin = { 0 };
	socklen_t sl = sizeof(sin);

	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((kw->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1 || bind(kw->listen_fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1 || listen(kw->listen_fd, 64) == -1 ||
	    getsockname(kw->listen_fd, (struct sockaddr *)&sin, &sl) == -1)
		fail(1, "cannot listen on loopback: %s", strerror(errno));
	kw->port_listen = ntohs(sin.sin_port);
}

/* The private directory (the user's, 0700) and the kubeconfig (0600)
 * that points kubectl at the proxy with the one-time token. */
static void
write_kubeconfig(struct kubewrap *kw)
{
	struct stat st;
	unsigned char raw[32];
	char *text = NULL;
	const char *name = kw->target->name;
	unsigned char *ca = NULL;
	size_t pemlen = strlen(kw->cert_pem);
	int fd, n;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		fail(1, "no randomness");
	hoop_hex_encode(raw, sizeof(raw), kw->otp);
	explicit_bzero(raw, sizeof(raw));
	if (strpbrk(name, "\"\\") != NULL)
		fail(1, "cluster name %s cannot be written to a kubeconfig",
		    name);
	snprintf(kw->dir, sizeof(kw->dir), "/tmp/hoop-kubewrap.XXXXXX");
	if (mkdtemp(kw->dir) == NULL)
		fail(1, "cannot make a private directory: %s", strerror(errno));
	if ((kw->dir_fd = open(kw->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(kw->dir_fd, &st) == -1 ||
	    st.st_uid != geteuid() || (st.st_mode & 0077) != 0)
		fail(1, "the private directory %s is not private", kw->dir);
	if ((ca = malloc(4 * (pemlen / 3 + 1) + 1)) == NULL)
		fail(1, "no memory");
	EVP_EncodeBlock(ca, (const unsigned char *)kw->cert_pem, (int)pemlen);
	n = asprintf(&text, "apiVersion: v1\nkind: Config\nclusters:\n"
	    "- name: \"%s\"\n  cluster:\n    server: https://127.0.0.1:%d\n"
	    "    certificate-authority-data: %s\n"
	    "users:\n- name: hoop\n  user:\n    token: %s\ncontexts:\n"
	    "- name: \"%s\"\n  context:\n    cluster: \"%s\"\n    user: hoop\n"
	    "current-context: \"%s\"\npreferences: {}\n", name,
	    kw->port_listen, ca, kw->otp, name, name, name);
	free(ca);
	if (n == -1)
		fail(1, "no memory");
	if ((fd = openat(kw->dir_fd, "config", O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1 ||
	    write(fd, text, (size_t)n) != n || close(fd) == -1)
		fail(1, "cannot write the kubeconfig: %s", strerror(errno));
	explicit_bzero(text, (size_t)n);
	free(text);
}

static void
remove_kubeconfig(struct kubewrap *kw)
{
	if (kw->dir_fd == -1)
		return;
	(void)unlinkat(kw->dir_fd, "config", 0);
	(void)unlinkat(kw->dir_fd, "config.lock", 0);
	close(kw->dir_fd);
	kw->dir_fd = -1;
	(void)rmdir(kw->dir);
}

/* ---- The proxy's threads ---- */

struct job {
	struct kubewrap *kw;
	int fd;
};

/* Connections served at once, at most (kubectl opens a few; anyone on
 * the host can connect, only the token holder gets further). */
#define MAX_CONNECTIONS 128
static int active_connections;

static void *
serve_thread(void *arg)
{
	struct job *j = arg;

	kubewrap_serve(j->kw, j->fd);
	free(j);
	__atomic_sub_fetch(&active_connections, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void
accept_one(struct kubewrap *kw)
{
	pthread_attr_t attr;
	pthread_t t;
	struct job *j;
	int fd, one = 1;

	fd = accept4(kw->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd == -1)
		return;
	if (__atomic_add_fetch(&active_connections, 1, __ATOMIC_SEQ_CST) >
	    MAX_CONNECTIONS) {
		__atomic_sub_fetch(&active_connections, 1, __ATOMIC_SEQ_CST);
		close(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((j = malloc(sizeof(*j))) == NULL) {
		__atomic_sub_fetch(&active_connections, 1, __ATOMIC_SEQ_CST);
		close(fd);
		return;
	}
	j->kw = kw;
	j->fd = fd;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, serve_thread, j) != 0) {
		__atomic_sub_fetch(&active_connections, 1, __ATOMIC_SEQ_CST);
		close(fd);
		free(j);
	}
	pthread_attr_destroy(&attr);
}

/* Until kubectl ends (its status), or a signal ends hoop (-1). */
static int
run(struct kubewrap *kw, int signal_fd, pid_t child)
{
	struct signalfd_siginfo si;
	struct pollfd p[2];
	int status;

	for (;;) {
		p[0].fd = kw->listen_fd;
		p[0].events = POLLIN;
		p[1].fd = signal_fd;
		p[1].events = POLLIN;
		if (poll(p, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[1].revents & POLLIN) {
			while (read(signal_fd, &si, sizeof(si)) ==
			    (ssize_t)sizeof(si)) {
				if (si.ssi_signo != SIGCHLD)
					return -1;
			}
			if (waitpid(child, &status, WNOHANG) == child)
				return status;
		}
		if (p[0].revents & POLLIN)
			accept_one(kw);
	}
}

int
main(int argc, char **argv)
{
	static struct kubewrap kw;
	struct kubewrap_args args;
	struct hoop_env env = { 0 };
	const char *refused;
	char why[512], path[128];
	sigset_t mask;
	struct rlimit fsize;
	hoop_err_t err;
	pid_t child, self;
	int status, signal_fd;

	hoop_sanitize_fds();
	(void)prctl(PR_SET_DUMPABLE, 0);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	hoop_log_init("hoop-kubewrap", LOG_AUTHPRIV, 0);
	kw.dir_fd = kw.listen_fd = -1;
	pthread_mutex_init(&kw.store_lock, NULL);
	pthread_mutex_init(&kw.mask_lock, NULL);

	/* "hoop-kubewrap kubectl ARGS" as well as "kubectl ARGS". */
	if (argc >= 2 && strcmp(argv[1], "kubectl") == 0 &&
	    strcmp(strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 :
	    argv[0], "kubectl") != 0) {
		argc--;
		argv++;
	}
	if (kubewrap_parse_args(argc, argv, &args, why, sizeof(why)) == -1)
		fail(2, "%s", why);
	if ((refused = kubewrap_refused_env(environ)) != NULL)
		fail(2, "%s is set: hoop connects kubectl to the cluster for "
		    "you; unset it and name the cluster with --context",
		    refused);
	if (args.info_only) {
		base_environment(&env);
		(void)hoop_env_add(&env, "KUBECONFIG", "/dev/null");
		hoop_exec_dropped("hoop-kubewrap", HOOP_KUBEWRAP_KUBECTL,
		    args.argv, env.v, 0);
	}

	/* An allowed request is audited once the server has answered it:
	 * a file size limit the user set (ulimit -f) would let it run and
	 * its audit event fail. The soft limit goes up to the hard one,
	 * which must then be no limit. */
	if (getrlimit(RLIMIT_FSIZE, &fsize) == -1 ||
	    (fsize.rlim_cur != fsize.rlim_max &&
	    (fsize.rlim_cur = fsize.rlim_max,
	    setrlimit(RLIMIT_FSIZE, &fsize) == -1)) ||
	    fsize.rlim_max != RLIM_INFINITY)
		fail(2, "a file size limit is set (ulimit -f): the audit log "
		    "could not be written: refusing");
	if ((err = hoop_config_load(HOOP_KUBEWRAP_CONFIG, 0, &kw.cfg, diag,
	    NULL)) != HOOP_OK)
		fail(2, "no valid configuration (%s): refusing",
		    hoop_strerror(err));
	if ((err = hoop_store_open(hoop_config_store_path(kw.cfg), 0,
	    &kw.store)) != HOOP_OK)
		fail(2, "cannot open the store (%s): refusing",
		    hoop_strerror(err));
	if ((err = hoop_policy_principal(kw.store, kw.cfg, getuid(),
	    time(NULL), &kw.who)) != HOOP_OK)
		fail(2, err == HOOP_ERR_NOTFOUND ? "uid %u has no live hoop "
		    "lease: refusing" : "the lease of uid %u is not usable "
		    "(%s): refusing", (unsigned)getuid(), hoop_strerror(err));
	find_session(&kw);
	choose_target(&kw, args.target);
	/* While the group is held: the token, the CA and the mask key are
	 * hoop's. */
	kw.token = read_token(kw.target);
	if (kubewrap_upstream_setup(&kw, why, sizeof(why)) == -1)
		fail(1, "cluster %s: %s: tell an administrator",
		    kw.target->name, why);
	{
		struct hoop_mask_options opt = { 0 };
		hoop_mask_set_t *s = NULL;

		if (hoop_mask_set_create(kw.cfg, &kw.who, kw.target->name,
		    &opt, &s, why, sizeof(why)) != HOOP_OK)
			fail(1, "the masks of cluster %s cannot be set up (%s): "
			    "refusing; tell an administrator", kw.target->name,
			    why);
		if (hoop_mask_set_active(s))
			kw.mask = s;
		else
			hoop_mask_set_free(s);
	}
	if (kubewrap_server_tls(&kw, why, sizeof(why)) == -1)
		fail(1, "%s", why);
	listen_loopback(&kw);
	write_kubeconfig(&kw);
	snprintf(path, sizeof(path), "%s/config", kw.dir);
	base_environment(&env);
	if (hoop_env_add(&env, "KUBECONFIG", path) == -1) {
		remove_kubeconfig(&kw);
		fail(1, "cannot build the environment");
	}
	kw.interactive = isatty(0) && isatty(2);

	/* SIGINT and SIGQUIT are kubectl's; an approval wait takes SIGINT
	 * for itself while it lasts. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) ==
	    -1) {
		remove_kubeconfig(&kw);
		fail(1, "cannot set up signals: %s", strerror(errno));
	}
	self = getpid();
	if ((child = fork()) == -1) {
		remove_kubeconfig(&kw);
		fail(1, "fork: %s", strerror(errno));
	}
	if (child == 0) {
		explicit_bzero(kw.token, strlen(kw.token));
		hoop_exec_dropped("hoop-kubewrap", HOOP_KUBEWRAP_KUBECTL,
		    args.argv, env.v, self);
	}
	hoop_env_free(&env);
	kubewrap_args_free(&args);
	/* The terminal's input is kubectl's alone. */
	status = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (status != -1) {
		(void)dup2(status, 0);
		(void)dup2(status, 1);
		close(status);
	}

	status = run(&kw, signal_fd, child);
	remove_kubeconfig(&kw);
	if (status == -1) {
		kill(child, SIGTERM);
		(void)waitpid(child, &status, 0);
		status = -1;
	}
	explicit_bzero(kw.otp, sizeof(kw.otp));
	/* Threads may still be running: the credential stays until exit,
	 * which ends them. */
	fflush(stderr);
	_exit(status == -1 ? 1 : hoop_exit_status(status));
}
