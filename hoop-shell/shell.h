/* hoop-shell: the recording ForceCommand shell (see hoop-shell(8)). */
#ifndef HOOP_SHELL_H
#define HOOP_SHELL_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>

#include "hoop_config.h"
#include "hoop_policy.h"
#include "hoop_recording.h"
#include "hoop_store.h"

#define SHELL_ENV_MAX 32

struct shell {
	hoop_config_t *cfg;
	hoop_store_t *store;
	struct hoop_principal who;
	hoop_rec_t *rec;
	uid_t user_uid;			/* the user's, from the kernel */
	gid_t user_gid;
	char session_id[HOOP_REC_MAX_SESSION_ID + 1];
	int claimed_pam_row;		/* the row pam_hoop opened */
	char remote[64];
	/* The child's environment: an allowlist, then the session's. */
	char *env[SHELL_ENV_MAX + 1];
	size_t n_env;
	int64_t deadline;		/* unix seconds: the session must end */
	long idle_timeout;		/* seconds without input; 0 none */
	int signal_fd;			/* SIGWINCH, SIGCHLD, SIGTERM... */
	int interactive;		/* our stdin is a terminal */
	struct termios saved_tty;	/* the terminal as sshd gave it */
	int tty_saved;
	int tty_raw;
	int ending;			/* set once the session must end */
	char end_reason[160];
	int status;			/* exit status for sshd */
};

/* Something went wrong that ends the session: say why (to the user and
 * the recording), and stop running anything. */
void shell_end(struct shell *sh, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A line for the user: recorded as output, then written to fd. */
void shell_say(struct shell *sh, int fd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records len bytes of output, then writes them to fd; -1 (and the
 * session ends) when recording fails: nothing unrecorded is shown. */
int shell_output(struct shell *sh, int fd, const void *buf, size_t len);
/* Writes all of buf to fd (retrying short writes and EINTR, unless
 * shell_write_abort is set: a deadline passed while a client that stopped
 * reading kept the write blocked). */
int write_all(int fd, const void *buf, size_t len);
extern volatile sig_atomic_t shell_write_abort;
/* Seconds until the session's deadline, or until idle (input at
 * last_input), whichever is first: a poll() timeout in ms (-1: none). */
int shell_timeout_ms(const struct shell *sh, int64_t last_input_us);
/* Checks the deadline and idle time; ends the session when passed. */
int shell_check_limits(struct shell *sh, int64_t last_input_us);
int64_t now_us(void);

/* The terminal: raw while a line is edited or a child runs on a pty. */
int tty_raw(struct shell *sh);
void tty_restore(struct shell *sh);

/* privs.c: the recorder's rights (see there). 0, or -1 with why. */
int privs_init(struct shell *sh, char *why, size_t whylen);
int privs_claim_tty(struct shell *sh, char *why, size_t whylen);
/* Drops every capability but the recorder's (and, while claiming,
 * those that find the terminal's holders). */
int privs_limit(int claiming);
/* Whether the user (not root) may run the file at path. */
int privs_user_may_exec(struct shell *sh, const char *path);
/* In a child: the user's ids for good. */
int privs_child_drop(const struct shell *sh);
/* Kills and reaps every process below this one; how many were. */
int privs_kill_descendants(void);

/* Runs one command line under policy; returns its exit status (or 126
 * refused, 127 not found). */
int shell_run_line(struct shell *sh, const char *line, size_t len,
    int use_pty);

/* The interactive command line. */
void shell_interactive(struct shell *sh);

/* Completion candidates for the line editor: commands the principal may
 * run (word 0), or targets (other words), starting with prefix. */
typedef void (*shell_candidate_fn)(void *arg, const char *name);
void shell_complete(struct shell *sh, int word, const char *prefix,
    size_t prefix_len, shell_candidate_fn add, void *arg);

#endif
