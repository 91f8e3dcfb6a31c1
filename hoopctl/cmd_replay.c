/*
 * hoopctl replay and export: a recording played in the terminal with its
 * own timing (or followed while it is still being written), or written
 * out as asciicast, ttyrec or text. Recorded output goes to stdout as it
 * was; everything hoopctl says goes to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <linux/openat2.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hoop_rec_export.h"
#include "hoop_recording.h"
#include "hoop_util.h"
#include "hoopctl.h"
#include "store_internal.h"

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
warn_session(const char *what, const struct hoopctl_session *s,
    const char *problem)
{
	fprintf(stderr, "hoopctl: %s ", what);
	hoop_put_safe(stderr, s->id, strlen(s->id));
	fprintf(stderr, ": %s\n", problem);
}

/* ---- the terminal: keys without echo, restored on every way out ---- */

static struct termios saved_tio, keys_tio;
static volatile sig_atomic_t tio_changed;

static void
on_fatal_signal(int sig)
{
	if (tio_changed) {
		tcflush(STDIN_FILENO, TCIFLUSH);
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	}
	tio_changed = 0;
	signal(sig, SIG_DFL);
	raise(sig);		/* delivered as the handler returns */
}

static void
on_stop_signal(int sig)
{
	struct sigaction sa;
	sigset_t set;
	int saved = errno;

	if (tio_changed)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);		/* stopped here until SIGCONT */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigaction(sig, &sa, NULL);
	if (tio_changed)
		tcsetattr(STDIN_FILENO, TCSANOW, &keys_tio);
	errno = saved;
}

static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
    SIGPIPE, SIGALRM, SIGUSR1, SIGUSR2 };

/* 1 when stdin is a terminal now reading single keys, else 0. */
static int
keys_on(void)
{
	struct sigaction sa;
	size_t i;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) == -1)
		return 0;
	keys_tio = saved_tio;
	keys_tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	keys_tio.c_cc[VMIN] = 1;
	keys_tio.c_cc[VTIME] = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	for (i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		sigaction(fatal_signals[i], &sa, NULL);
	sa.sa_handler = on_stop_signal;
	sigaction(SIGTSTP, &sa, NULL);
	tio_changed = 1;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &keys_tio) == -1) {
		tio_changed = 0;
		return 0;
	}
	return 1;
}

static void
keys_off(void)
{
	/* What the terminal sent in answer to recorded queries must not
	 * reach the auditor's shell as typed input. */
	if (tio_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	tio_changed = 0;
}

/* ---- following a recording that is still being written ---- */

#define FOLLOW_READ_MAX	(4 * 1024 * 1024)
#define NO_TIME		INT64_MIN

struct follow {
	struct hoopctl *ctx;
	const char *session_id;
	int dirfd, fd[2];		/* output, events */
	int inotify;
	unsigned char *buf[2];		/* bytes not yet delivered */
	size_t len[2], cap[2];
	uint64_t consumed[2];		/* bytes delivered, per file */
	int64_t delivered_time[2];	/* last frame delivered */
	unsigned char *start;		/* the START frame, copied */
	size_t start_len;
	unsigned char *evbuf;		/* START + undelivered events */
	size_t evcap;
	hoop_rec_reader_t *r;		/* over what is safe to deliver */
	size_t prefix;			/* the START copy in evbuf */
	size_t used[2];			/* bytes of buf delivered from r */
	int64_t horizon;
	int more;			/* a read stopped before the end */
	int final;			/* the session is closed */
	int ended;			/* END delivered */
	int retried;			/* a held-back frame was retried */
	int64_t next_check;
};

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Reads what the file has grown by (up to a bound); 1 at its end. */
static int
read_more(struct follow *fl, int s)
{
	size_t want;
	ssize_t n;
	void *nb;

	for (;;) {
		if (fl->len[s] >= FOLLOW_READ_MAX) {
			fl->more = 1;
			return 0;
		}
		if (fl->cap[s] - fl->len[s] < 65536) {
			size_t cap = fl->cap[s] ? fl->cap[s] * 2 : 262144;

			if ((nb = realloc(fl->buf[s], cap)) == NULL)
				return -1;
			fl->buf[s] = nb;
			fl->cap[s] = cap;
		}
		want = fl->cap[s] - fl->len[s];
		n = read(fl->fd[s], fl->buf[s] + fl->len[s], want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return 1;
		fl->len[s] += (size_t)n;
	}
}

/* The time of the last whole frame in the first limit bytes of buf. */
static int64_t
last_whole(const unsigned char *buf, size_t limit, int64_t dflt)
{
	int64_t t = dflt;
	size_t pos = 0;
	uint32_t len;

	while (limit - pos >= HOOP_REC_HEADER_SIZE) {
		len = le32(buf + pos + 8);
		if (len > HOOP_REC_MAX_FRAME ||
		    limit - pos - HOOP_REC_HEADER_SIZE < len)
			break;
		t = (int64_t)le32(buf + pos) * 1000000 + le32(buf + pos + 4);
		pos += HOOP_REC_HEADER_SIZE + len;
	}
	return t;
}

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/*
 * One round: read what was added and open a reader over it, delivering
 * only frames up to a time before which nothing can still be missing.
 * The writer writes frames one after the other in time order, so: the
 * output read first is complete up to its last frame once the events
 * have been read after it to their end, and the events up to their last
 * frame once the output has been read again after them to its end; and
 * each stream is complete up to its own last whole frame.
 * 0: a reader is open; 1: nothing to read yet; -1 error.
 */
static int
follow_round(struct follow *fl)
{
	int eof_ev, eof_out2;
	size_t mark, ev_len;
	int64_t t_out1, t_out, t_ev;
	hoop_err_t err;
	void *nb;

	fl->more = 0;
	if (read_more(fl, 0) == -1)
		return -1;
	mark = fl->len[0];
	if ((eof_ev = read_more(fl, 1)) == -1 ||
	    (eof_out2 = read_more(fl, 0)) == -1)
		return -1;
	t_out1 = last_whole(fl->buf[0], mark, fl->delivered_time[0]);
	t_out = last_whole(fl->buf[0], fl->len[0], fl->delivered_time[0]);
	t_ev = last_whole(fl->buf[1], fl->len[1], fl->delivered_time[1]);
	fl->horizon = t_out < t_ev ? t_out : t_ev;
	if (eof_ev)
		fl->horizon = max64(fl->horizon, t_out1);
	if (eof_out2)
		fl->horizon = max64(fl->horizon, t_ev);
	if (fl->final)
		fl->horizon = INT64_MAX;
	/* The reader wants START first: a copy of it leads what is left. */
	if (fl->start == NULL) {
		if (fl->len[1] < HOOP_REC_HEADER_SIZE ||
		    fl->len[1] - HOOP_REC_HEADER_SIZE < le32(fl->buf[1] + 8) ||
		    le32(fl->buf[1] + 8) > HOOP_REC_MAX_FRAME)
			return fl->final ? -2 : 1;
		fl->start_len = HOOP_REC_HEADER_SIZE + le32(fl->buf[1] + 8);
		if ((fl->start = malloc(fl->start_len)) == NULL)
			return -1;
		memcpy(fl->start, fl->buf[1], fl->start_len);
	}
	fl->prefix = fl->consumed[1] > 0 ? fl->start_len : 0;
	ev_len = fl->prefix + fl->len[1];
	if (ev_len > fl->evcap) {
		if ((nb = realloc(fl->evbuf, ev_len)) == NULL)
			return -1;
		fl->evbuf = nb;
		fl->evcap = ev_len;
	}
	memcpy(fl->evbuf, fl->start, fl->prefix);
	if (fl->len[1] > 0)
		memcpy(fl->evbuf + fl->prefix, fl->buf[1], fl->len[1]);
	fl->used[0] = fl->used[1] = 0;
	if ((err = hoop_rec_reader_open_mem(fl->buf[0], fl->len[0],
	    fl->evbuf, ev_len, &fl->r)) != HOOP_OK)
		return -1;
	return 0;
}

/* Drops what the round's reader delivered. */
static void
follow_round_end(struct follow *fl)
{
	int s;

	hoop_rec_reader_free(fl->r);
	fl->r = NULL;
	for (s = 0; s < 2; s++) {
		memmove(fl->buf[s], fl->buf[s] + fl->used[s],
		    fl->len[s] - fl->used[s]);
		fl->len[s] -= fl->used[s];
		fl->consumed[s] += fl->used[s];
		fl->used[s] = 0;
	}
}

/* Whether the session's row says it has ended (checked now and then). */
static int
session_closed(struct follow *fl)
{
	sqlite3_stmt *st = NULL;
	int closed = 0;

	if (now_us() < fl->next_check)
		return 0;
	fl->next_check = now_us() + 500000;
	if (sqlite3_prepare_v2(hoop_store_db(fl->ctx->store), "SELECT "
	    "ended_at IS NOT NULL FROM sessions WHERE id = ?1", -1, &st,
	    NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, fl->session_id, -1, SQLITE_STATIC);
	/* A row that is gone is over too. */
	closed = sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return closed;
}

/*
 * The next frame of a live recording: HOOP_OK with a frame (EOF once
 * END was delivered, or the session is closed and everything read);
 * *again when nothing can be delivered yet.
 */
static hoop_err_t
follow_next(struct follow *fl, struct hoop_rec_frame *f, int *again,
    char *why, size_t whylen)
{
	hoop_err_t err;
	int rc, s;

	*again = 0;
	memset(f, 0, sizeof(*f));
	if (fl->ended)
		return HOOP_OK;		/* EOF */
	for (;;) {
		if (fl->r == NULL) {
			if (!fl->final && session_closed(fl))
				fl->final = 1;
			rc = follow_round(fl);
			if (rc == -2) {
				snprintf(why, whylen, "%s: no START frame",
				    HOOP_REC_EVENTS_FILE);
				return HOOP_ERR_REC_FORMAT;
			}
			if (rc == -1) {
				snprintf(why, whylen, "cannot read: %s",
				    strerror(errno));
				return HOOP_ERR_IO;
			}
			if (rc == 1) {
				*again = 1;
				return HOOP_OK;
			}
		}
		err = hoop_rec_next(fl->r, f);
		if (err == HOOP_OK && f->type != HOOP_REC_EOF) {
			s = f->stream == HOOP_REC_STREAM_OUTPUT ? 0 : 1;
			if (s == 1 && f->offset < fl->prefix)
				continue;	/* the START copy */
			if (f->time_us <= fl->horizon) {
				fl->used[s] = (size_t)(f->offset - (s == 1 ?
				    fl->prefix : 0)) + HOOP_REC_HEADER_SIZE +
				    f->len + (size_t)s;
				fl->delivered_time[s] = f->time_us;
				fl->ended = f->type == HOOP_REC_END;
				fl->retried = 0;
				return HOOP_OK;
			}
			/* Held back, most likely complete by the next round:
			 * one more at once (not more: a file whose times go
			 * back would spin). */
			fl->more = fl->more || !fl->retried;
			fl->retried = 1;
		} else if (err != HOOP_OK && (err != HOOP_ERR_REC_TRUNCATED ||
		    fl->final)) {
			/* A frame still being written is not an error until
			 * the session is over. */
			snprintf(why, whylen, "%s", hoop_rec_reader_problem(
			    fl->r));
			return err;
		}
		follow_round_end(fl);
		if (fl->final && !fl->more) {
			memset(f, 0, sizeof(*f));
			return HOOP_OK;		/* EOF: closed, all read */
		}
		if (!fl->more) {
			*again = 1;
			return HOOP_OK;
		}
	}
}

static int
valid_name(const char *id)
{
	size_t i, n = strlen(id);

	if (n == 0 || n > HOOP_REC_MAX_SESSION_ID || id[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') || id[i] == '.' ||
		    id[i] == '_' || id[i] == '-'))
			return 0;
	}
	return 1;
}

static int
follow_open(struct follow *fl, struct hoopctl *ctx,
    const struct hoopctl_session *s, const char *dir)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_NO_SYMLINKS };
	const char *names[2] = { HOOP_REC_OUTPUT_FILE, HOOP_REC_EVENTS_FILE };
	char path[PATH_MAX];
	int i;

	memset(fl, 0, sizeof(*fl));
	fl->ctx = ctx;
	fl->session_id = s->id;
	fl->dirfd = fl->fd[0] = fl->fd[1] = fl->inotify = -1;
	fl->delivered_time[0] = fl->delivered_time[1] = NO_TIME;
	if (!valid_name(s->recording) || (size_t)snprintf(path, sizeof(path),
	    "%s/%s", dir, s->recording) >= sizeof(path)) {
		warn_session("bad recording name for session", s,
		    "refusing");
		return -1;
	}
	/* Not one symlink on the way, as the writer and reader insist. */
	fl->dirfd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how,
	    sizeof(how));
	for (i = 0; fl->dirfd != -1 && i < 2; i++)
		fl->fd[i] = openat(fl->dirfd, names[i], O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC | O_NOCTTY);
	if (fl->dirfd == -1 || fl->fd[0] == -1 || fl->fd[1] == -1) {
		warn_session("cannot open the recording of", s,
		    strerror(errno));
		return -1;
	}
	/* A wake-up when the files change; a short sleep without it. */
	if ((fl->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) != -1 &&
	    inotify_add_watch(fl->inotify, path, IN_MODIFY | IN_CLOSE_WRITE |
	    IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW) ==
	    -1) {
		close(fl->inotify);
		fl->inotify = -1;
	}
	return 0;
}

static void
follow_close(struct follow *fl)
{
	int i;

	hoop_rec_reader_free(fl->r);
	for (i = 0; i < 2; i++) {
		if (fl->fd[i] != -1)
			close(fl->fd[i]);
		free(fl->buf[i]);
	}
	if (fl->dirfd != -1)
		close(fl->dirfd);
	if (fl->inotify != -1)
		close(fl->inotify);
	free(fl->start);
	free(fl->evbuf);
}

static void
drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* ---- the player ---- */

struct player {
	double speed;
	int64_t idle_cap;		/* microseconds; 0: none */
	int keys;			/* stdin is a terminal we read */
	int paused, skipping;
	int64_t prev_output;		/* time of the last output shown */
	int64_t paused_left;
};

enum { WAIT_GO, WAIT_QUIT, WAIT_WOKEN };

/*
 * Waits delay microseconds of playing time (time paused does not
 * count) while handling keys; wake_fd (-1: none) ends the wait early
 * when readable.
 */
static int
player_wait(struct player *p, int64_t delay, int wake_fd)
{
	struct pollfd pfd[2];
	int64_t deadline = now_us() + delay, left;
	unsigned char keys[32];
	int n, timeout, r, i, k;

	if (p->paused)
		p->paused_left = delay;
	for (;;) {
		left = deadline - now_us();
		if (!p->paused && left <= 0)
			return WAIT_GO;
		timeout = p->paused ? 1000 : left > 1000000 ? 1000 :
		    (int)((left + 999) / 1000);
		n = 0;
		if (p->keys) {
			pfd[n].fd = STDIN_FILENO;
			pfd[n++].events = POLLIN;
		}
		if (wake_fd != -1) {
			pfd[n].fd = wake_fd;
			pfd[n++].events = POLLIN;
		}
		r = poll(pfd, (nfds_t)n, timeout);
		if (r == -1 && errno != EINTR)
			return WAIT_QUIT;
		if (r <= 0)
			continue;
		if (wake_fd != -1 && pfd[n - 1].revents != 0)
			return WAIT_WOKEN;
		if (!p->keys || pfd[0].revents == 0)
			continue;
		k = (int)read(STDIN_FILENO, keys, sizeof(keys));
		if (k <= 0) {
			/* The terminal went away: play on without keys. */
			p->keys = 0;
			p->paused = 0;
			continue;
		}
		/* An escape sequence is the terminal answering something
		 * recorded, not the auditor: the rest of it is dropped. */
		for (i = 0; i < k && keys[i] != 0x1b; i++) {
			switch (keys[i]) {
			case 'q':
				return WAIT_QUIT;
			case ' ':
				if (p->paused) {
					p->paused = 0;
					deadline = now_us() + p->paused_left;
				} else {
					p->paused = 1;
					p->paused_left = deadline - now_us();
				}
				break;
			case '.':
				if (p->paused)
					return WAIT_GO;
				break;
			case 'n':
				p->skipping = 1;
				return WAIT_GO;
			default:
				break;
			}
		}
	}
}

static int
write_all(const unsigned char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(STDOUT_FILENO, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The pause before an output frame, in real time. */
static int64_t
frame_delay(const struct player *p, int64_t t)
{
	int64_t gap;

	if (p->prev_output == NO_TIME || p->skipping)
		return 0;
	gap = t - p->prev_output;
	if (gap < 0)
		gap = 0;
	if (p->idle_cap > 0 && gap > p->idle_cap)
		gap = p->idle_cap;
	return (int64_t)((double)gap / p->speed);
}

/* Plays frames from r, or from fl when following. 0, or 1 on trouble. */
static int
play(struct player *p, hoop_rec_reader_t *r, struct follow *fl,
    const struct hoopctl_session *s)
{
	struct hoop_rec_frame f;
	char why[256] = "";
	hoop_err_t err;
	int again = 0, w;

	p->prev_output = NO_TIME;
	for (;;) {
		if (fl != NULL) {
			err = follow_next(fl, &f, &again, why, sizeof(why));
		} else {
			err = hoop_rec_next(r, &f);
			if (err != HOOP_OK)
				snprintf(why, sizeof(why), "%s",
				    hoop_rec_reader_problem(r));
		}
		if (err != HOOP_OK) {
			warn_session("the recording is damaged; played up to "
			    "the problem in", s, why);
			return 1;
		}
		if (again) {
			w = player_wait(p, fl->inotify != -1 ? 1000000 :
			    200000, fl->inotify);
			if (w == WAIT_QUIT)
				return 0;
			if (w == WAIT_WOKEN)
				drain(fl->inotify);
			continue;
		}
		if (f.type == HOOP_REC_EOF)
			return 0;
		if (f.type == HOOP_REC_COMMAND && p->skipping) {
			/* Arrived: play on from here. */
			p->skipping = 0;
			p->prev_output = f.time_us;
		}
		if (f.type != HOOP_REC_OUTPUT)
			continue;
		/* A live recording is shown as it comes: its own pace. */
		if (!p->skipping && player_wait(p, fl != NULL ? 0 :
		    frame_delay(p, f.time_us), -1) == WAIT_QUIT)
			return 0;
		if (write_all(f.data, f.len) == -1) {
			fprintf(stderr, "hoopctl: cannot write the output: "
			    "%s\n", strerror(errno));
			return 1;
		}
		p->prev_output = f.time_us;
	}
}

static int
parse_positive(const char *text, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !isfinite(v) ||
	    v <= 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Audit detail: a JSON object from a jansson pack format. */
static char *
detail_of(json_t *obj)
{
	char *d = obj != NULL ? json_dumps(obj, JSON_COMPACT |
	    JSON_SORT_KEYS) : NULL;

	json_decref(obj);
	return d;
}

/* The session and its recordings directory, with the store writable (the
 * view is recorded in it). */
static int
open_session(struct hoopctl *ctx, const char *what, const char *id,
    struct hoopctl_session **s, const char **dir)
{
	if (hoopctl_require_admin(ctx, what) || hoopctl_config(ctx) == -1 ||
	    hoopctl_store(ctx, 0) == -1 ||
	    hoopctl_session_get(ctx, id, s) == -1)
		return -1;
	if ((*dir = hoopctl_session_recordings(ctx, *s)) == NULL)
		return -1;
	return 0;
}

int
cmd_replay(struct hoopctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "speed", required_argument, NULL, 's' },
		{ "idle-limit", required_argument, NULL, 'i' },
		{ "follow", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct player p = { .speed = 1.0, .prev_output = NO_TIME };
	struct hoopctl_session *s = NULL;
	struct follow fl;
	hoop_rec_reader_t *r = NULL;
	const char *dir;
	char *detail = NULL;
	double idle = 0;
	hoop_err_t err;
	int ch, follow = 0, following = 0, ret = 1;

	optind = 0;	/* afresh: options may follow the ID */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (parse_positive(optarg, 1e6, &p.speed) == -1) {
				fprintf(stderr, "hoopctl: bad speed '%s'\n",
				    optarg);
				return 2;
			}
			break;
		case 'i':
			if (parse_positive(optarg, 86400.0 * 365, &idle) ==
			    -1) {
				fprintf(stderr, "hoopctl: bad idle limit "
				    "'%s'\n", optarg);
				return 2;
			}
			p.idle_cap = (int64_t)(idle * 1e6);
			break;
		case 'f':
			follow = 1;
			break;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: hoopctl replay [--speed F] "
		    "[--idle-limit SECONDS] [--follow] ID\n");
		return 2;
	}
	if (open_session(ctx, "replay", argv[optind], &s, &dir) == -1)
		goto out;
	if (follow) {
		if (follow_open(&fl, ctx, s, dir) == -1)
			goto out;
		following = 1;
	} else {
		hoopctl_session_check_seal(ctx, s);
		if ((err = hoop_rec_reader_open(dir, s->recording, &r)) !=
		    HOOP_OK) {
			warn_session("cannot read the recording of", s,
			    hoop_strerror(err));
			goto out;
		}
		if (s->live)
			warn_session("playing what is recorded so far of live "
			    "session", s, "--follow keeps watching");
	}
	if ((detail = detail_of(json_pack("{s:f, s:f, s:b}", "speed",
	    p.speed, "idle_limit", idle, "follow", follow))) == NULL ||
	    hoopctl_view_event(ctx, s, "replay", detail) == -1)
		goto out;
	p.keys = keys_on();
	if (p.keys)
		fprintf(stderr, "hoopctl: replaying; keys: space pause/resume, "
		    ". step while paused, n next command, q quit\n");
	ret = play(&p, r, following ? &fl : NULL, s);
	keys_off();
out:
	keys_off();
	if (following)
		follow_close(&fl);
	hoop_rec_reader_free(r);
	hoopctl_session_free(s);
	free(detail);
	return ret;
}

/* ---- export ---- */

/* The output file, created with the caller's own rights, never the hoop
 * group's: the caller chose its name. */
static FILE *
open_output(struct hoopctl *ctx, const char *path)
{
	gid_t egid = getegid();
	FILE *f = NULL;
	int fd, saved;

	if (ctx->privileged && setegid(getgid()) == -1) {
		fprintf(stderr, "hoopctl: cannot drop privileges: %s\n",
		    strerror(errno));
		return NULL;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY,
	    0600);
	saved = errno;
	if (ctx->privileged && setegid(egid) == -1) {
		fprintf(stderr, "hoopctl: cannot restore privileges: %s\n",
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if (fd == -1 || (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "hoopctl: %s: %s\n", path, strerror(fd == -1 ?
		    saved : errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	return f;
}

int
cmd_export(struct hoopctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	enum hoop_rec_export_format fmt = HOOP_REC_EXPORT_TEXT;
	struct hoopctl_session *s = NULL;
	const char *dir, *format = NULL, *path = NULL;
	char why[256], *detail = NULL;
	hoop_err_t err;
	FILE *out = NULL;
	int ch, ret = 1;

	optind = 0;	/* afresh: options may follow the ID */
	while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (ch) {
		case 'F':
			format = optarg;
			break;
		case 'o':
			path = optarg;
			break;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc || format == NULL ||
	    hoop_rec_export_format_parse(format, &fmt) == -1) {
		fprintf(stderr, "usage: hoopctl export ID --format "
		    "asciicast|ttyrec|text [-o FILE]\n");
		return 2;
	}
	/* Raw terminal data is not for the auditor's own terminal. */
	if (path == NULL && fmt == HOOP_REC_EXPORT_TTYREC &&
	    isatty(STDOUT_FILENO)) {
		fprintf(stderr, "hoopctl: not writing ttyrec to a terminal: "
		    "use -o FILE or a pipe (or hoopctl replay)\n");
		return 2;
	}
	if (open_session(ctx, "export", argv[optind], &s, &dir) == -1)
		goto out;
	if (path != NULL && (out = open_output(ctx, path)) == NULL)
		goto out;
	hoopctl_session_check_seal(ctx, s);
	if ((detail = detail_of(json_pack("{s:s, s:s?}", "format", format,
	    "file", path))) == NULL ||
	    hoopctl_view_event(ctx, s, "export", detail) == -1)
		goto out;
	err = hoop_rec_export(dir, s->recording, fmt, out != NULL ? out :
	    stdout, why, sizeof(why));
	if (err == HOOP_ERR_REC_TRUNCATED || err == HOOP_ERR_REC_FORMAT) {
		warn_session("the recording is damaged; exported up to the "
		    "problem in", s, why);
		goto out;
	}
	if (err != HOOP_OK) {
		warn_session("cannot export", s, hoop_strerror(err));
		goto out;
	}
	ret = 0;
out:
	if (out != NULL && fclose(out) != 0 && ret == 0) {
		fprintf(stderr, "hoopctl: %s: %s\n", path, strerror(errno));
		ret = 1;
	}
	hoopctl_session_free(s);
	free(detail);
	return ret;
}
