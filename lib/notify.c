#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "hoop_http.h"
#include "hoop_log.h"
#include "hoop_notify.h"
#include "hoop_util.h"

/* A webhook's answer is not read; a big one is someone else's problem. */
#define WEBHOOK_MAX_ANSWER (64 * 1024)
#define HOOK_ARGV_MAX 64
#define HOOK_REAP_STEP_MS 10

hoop_err_t
hoop_notify_sign(const unsigned char *key, size_t keylen,
    const char *timestamp, const char *body, char out[HOOP_NOTIFY_SIG_LEN + 1])
{
	hoop_err_t ret = HOOP_ERR_CRYPTO;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	unsigned char md[EVP_MAX_MD_SIZE];
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *mac = NULL;
	size_t mdlen = 0;

	if (keylen == 0)
		return HOOP_ERR_INVAL;
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(ctx, key, keylen, params) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)timestamp,
	    strlen(timestamp)) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)".", 1) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)body, strlen(body)) !=
	    1 || EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) != 1 ||
	    mdlen != 32)
		goto out;
	memcpy(out, "sha256=", 7);
	hoop_hex_encode(md, mdlen, out + 7);
	ret = HOOP_OK;
out:
	explicit_bzero(md, sizeof(md));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ret;
}

/* Slack reads &, < and > as markup: escape them. */
static char *
slack_body(const char *text)
{
	char *esc = NULL, *body = NULL;
	size_t i, o = 0;
	json_t *obj = NULL;

	if ((esc = malloc(strlen(text) * 5 + 1)) == NULL)
		goto out;
	for (i = 0; text[i] != '\0'; i++) {
		const char *rep = text[i] == '&' ? "&amp;" : text[i] == '<' ?
		    "&lt;" : text[i] == '>' ? "&gt;" : NULL;

		if (rep != NULL) {
			memcpy(esc + o, rep, strlen(rep));
			o += strlen(rep);
		} else
			esc[o++] = text[i];
	}
	esc[o] = '\0';
	if ((obj = json_pack("{s:s}", "text", esc)) == NULL)
		goto out;
	body = json_dumps(obj, JSON_COMPACT);
out:
	json_decref(obj);
	free(esc);
	return body;
}

hoop_err_t
hoop_notify_webhook(const struct hoop_notify *sink,
    const struct hoop_notify_message *msg, char *why, size_t whylen)
{
	hoop_err_t ret = HOOP_ERR_IO;
	struct hoop_http_request req = { 0 };
	struct hoop_http_response resp = { 0 };
	char ts[32], sig[HOOP_NOTIFY_SIG_LEN + 1], h_ts[64];
	char h_sig[32 + HOOP_NOTIFY_SIG_LEN];
	const char *headers[6], *body = msg->json;
	char *slack = NULL, *key = NULL;
	size_t nh = 0, keylen = 0;

	if (sink->url == NULL) {
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	if (sink->format == HOOP_NOTIFY_SLACK) {
		if ((slack = slack_body(msg->text)) == NULL) {
			ret = HOOP_ERR_NOMEM;
			goto out;
		}
		body = slack;
	}
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	snprintf(h_ts, sizeof(h_ts), "X-Hoop-Timestamp: %s", ts);
	headers[nh++] = "Content-Type: application/json";
	/* No "100-continue" round trip: a receiver that ignores it would
	 * cost a second of waiting. */
	headers[nh++] = "Expect:";
	headers[nh++] = h_ts;
	if (sink->secret_file != NULL) {
		if ((ret = hoop_read_secret(sink->secret_file,
		    HOOP_NOTIFY_SECRET_MAX, &key, &keylen, why, whylen)) !=
		    HOOP_OK)
			goto out;
		if ((ret = hoop_notify_sign((unsigned char *)key, keylen, ts,
		    body, sig)) != HOOP_OK) {
			hoop_why(why, whylen, "cannot sign the body");
			goto out;
		}
		snprintf(h_sig, sizeof(h_sig), "X-Hoop-Signature: %s", sig);
		headers[nh++] = h_sig;
	}
	headers[nh] = NULL;
	req.url = sink->url;
	req.post_body = body;
	req.headers = headers;
	req.ca_file = sink->ca_file;
	req.max_body = WEBHOOK_MAX_ANSWER;
	req.connect_timeout = sink->timeout;
	req.timeout = sink->timeout;
	if ((ret = hoop_http_request(&req, &resp, why, whylen)) != HOOP_OK)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		hoop_why(why, whylen, "HTTP status %ld", resp.status);
		ret = HOOP_ERR_IO;
		goto out;
	}
	hoop_why(why, whylen, "HTTP status %ld", resp.status);
	ret = HOOP_OK;
out:
	hoop_http_response_clear(&resp);
	if (key != NULL) {
		explicit_bzero(key, keylen);
		free(key);
	}
	free(slack);
	return ret;
}

/* Writes body to fd until done, the reader goes away, or the deadline. */
static void
feed(int fd, const char *body, int64_t deadline)
{
	size_t len = strlen(body), done = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t n;
	int64_t left;

	while (done < len && (left = deadline - hoop_mono_ms()) > 0) {
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		/* MSG_NOSIGNAL: a hook that does not read its input must
		 * not kill us with SIGPIPE. */
		n = send(fd, body + done, len - done, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
		if (n > 0)
			done += (size_t)n;
		else if (n == -1 && errno != EAGAIN && errno != EINTR)
			break;
	}
}

/* Whom command hooks run as; by default the real ids. */
static int hook_ids_set;
static uid_t hook_uid;
static gid_t hook_gid;

void
hoop_notify_hook_user(uid_t uid, gid_t gid)
{
	hook_uid = uid;
	hook_gid = gid;
	hook_ids_set = 1;
}

hoop_err_t
hoop_notify_command(const struct hoop_notify *sink,
    const struct hoop_notify_message *msg, char *why, size_t whylen)
{
	char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	char *envp[] = { path_env, NULL };
	char *argv[HOOK_ARGV_MAX + 1];
	hoop_err_t ret = HOOP_ERR_IO;
	int sv[2] = { -1, -1 }, devnull = -1, status = 0, reaped = 0;
	int64_t deadline;
	gid_t gid = hook_ids_set ? hook_gid : getgid();
	uid_t uid = hook_ids_set ? hook_uid : getuid();
	pid_t pid = -1, r;
	size_t i;

	if (sink->n_command == 0 || sink->n_command > HOOK_ARGV_MAX) {
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	for (i = 0; i < sink->n_command; i++)
		argv[i] = (char *)sink->command[i];
	argv[i] = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		hoop_why(why, whylen, "cannot set up the hook: %s",
		    strerror(errno));
		goto out;
	}
	deadline = hoop_mono_ms() + sink->timeout * 1000;
	if ((pid = fork()) == -1) {
		hoop_why(why, whylen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here: the parent may have
		 * threads. The hook gets no hoop group rights (it needs no
		 * secret), none of root's when it runs in a root process,
		 * and its own process group, killed if late. */
		if (dup2(sv[1], 0) == -1 || dup2(devnull, 1) == -1 ||
		    dup2(devnull, 2) == -1 || setpgid(0, 0) == -1 ||
		    syscall(SYS_setresgid, gid, gid, gid) == -1 ||
		    syscall(SYS_setresuid, uid, uid, uid) == -1)
			_exit(126);
		close_range(3, ~0U, 0);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	(void)setpgid(pid, pid);
	close(sv[1]);
	sv[1] = -1;
	feed(sv[0], msg->json, deadline);
	close(sv[0]);
	sv[0] = -1;
	while (hoop_mono_ms() < deadline) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r == -1 && errno == ECHILD)) {
			reaped = r == pid ? 1 : -1;
			break;
		}
		usleep(HOOK_REAP_STEP_MS * 1000);
	}
	if (!reaped) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		hoop_why(why, whylen, "killed after %lds (timeout)",
		    sink->timeout);
		goto out;
	}
	if (reaped == -1) {
		/* Someone else reaped it (a SIGCHLD handler of the host). */
		hoop_why(why, whylen, "exit status unknown");
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		hoop_why(why, whylen, "exit status 0");
		ret = HOOP_OK;
	} else if (WIFEXITED(status))
		hoop_why(why, whylen, "exit status %d%s", WEXITSTATUS(status),
		    WEXITSTATUS(status) == 127 ? " (cannot run the program)" :
		    "");
	else
		hoop_why(why, whylen, "killed by signal %d",
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
out:
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	if (devnull != -1)
		close(devnull);
	return ret;
}

void
hoop_notify_send(const hoop_config_t *cfg,
    const struct hoop_notify_message *msg, hoop_notify_done_fn done,
    void *arg)
{
	const struct hoop_notify *sink;
	char why[256];
	hoop_err_t err;
	size_t i;

	for (i = 0; i < hoop_config_notify_count(cfg); i++) {
		sink = hoop_config_notify_at(cfg, i);
		why[0] = '\0';
		err = sink->url != NULL ?
		    hoop_notify_webhook(sink, msg, why, sizeof(why)) :
		    hoop_notify_command(sink, msg, why, sizeof(why));
		if (err != HOOP_OK) {
			if (why[0] == '\0')
				snprintf(why, sizeof(why), "%s",
				    hoop_strerror(err));
			hoop_log(LOG_WARNING, "notify %s: failed: %s",
			    sink->name, why);
		}
		if (done != NULL)
			done(arg, sink, err == HOOP_OK, why);
	}
}
