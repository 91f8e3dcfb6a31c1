/* hoop-ssh internals: the connection (host key, authentication) and the
 * remote command or session. */
#ifndef HOOPSSH_H
#define HOOPSSH_H

#include <libssh/libssh.h>

/* Exit status for errors of hoop-ssh itself, as ssh(1) uses. */
#define HOOPSSH_EXIT_ERROR 255

struct hoopssh_opts {
	const char *host;
	const char *user;
	unsigned port;
	const char *known_hosts;	/* NULL: ~/.ssh/known_hosts */
	const char *pin;		/* "SHA256:..." list, or NULL */
	long connect_timeout;		/* seconds */
	int verbose;
	int want_tty;			/* 1 force, 0 never, -1 if interactive */
	char **argv;			/* the command's words, or NULL */
	int argc;
};

/* Connects and verifies the host key; nothing secret has been sent when
 * this returns. Returns -1 after printing why. */
int hoopssh_connect(const struct hoopssh_opts *o, ssh_session *out);

/* How pam_hoop words a refusal to the client (pam_hoop(8)). */
#define HOOPSSH_REFUSAL_MARK "hoop: token refused: "
#define HOOPSSH_AUTH_REFUSED (-2)

/* keyboard-interactive, answering pam_hoop's first prompt with the whole
 * token. Returns -1 after printing why (and what the server said), or
 * HOOPSSH_AUTH_REFUSED when the server refused the token. */
int hoopssh_auth(ssh_session s, const char *token);

/* Runs the command (or a shell) and returns its exit status, or
 * HOOPSSH_EXIT_ERROR. */
int hoopssh_run(ssh_session s, const struct hoopssh_opts *o);

/* Prints "hoop-ssh: ..." to stderr. */
void hoopssh_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Server-chosen text, printed with control characters escaped so that it
 * cannot drive the terminal. */
void hoopssh_print_remote_text(const char *label, const char *text);

#endif
