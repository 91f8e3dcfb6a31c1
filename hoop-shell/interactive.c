/*
 * The interactive command line: a prompt, line editing, history and tab
 * completion of allowed commands and targets. The terminal is in raw
 * mode while a line is edited; everything shown is recorded as output
 * and every key as input.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "shell.h"

#define LINE_MAX_LEN	4096
#define HISTORY_MAX	200

struct editor {
	struct shell *sh;
	char line[LINE_MAX_LEN + 1];
	size_t len, pos;		/* bytes; pos is the cursor */
	char prompt[128];
	char *history[HISTORY_MAX];
	size_t n_history;
	size_t browse;			/* index while browsing, n = current */
	char saved[LINE_MAX_LEN + 1];	/* the line being typed, while browsing */
	int64_t last_input;
	unsigned cols;
	/* Keys read (and recorded) after an Enter: the next lines of a
	 * paste, edited and run in turn. */
	char ahead[256];
	size_t n_ahead;
};

/* Output to the terminal, recorded first. */
static int
out(struct editor *e, const char *s, size_t n)
{
	return shell_output(e->sh, 1, s, n);
}

static int
outs(struct editor *e, const char *s)
{
	return out(e, s, strlen(s));
}

/* UTF-8 continuation bytes are not characters of their own. */
static int
cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

static size_t
chars(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (!cont((unsigned char)s[i]))
			c++;
	return c;
}

/* Redraws the prompt and line, and puts the cursor back. */
static void
refresh(struct editor *e)
{
	char buf[LINE_MAX_LEN * 2 + 256];
	size_t back = chars(e->line + e->pos, e->len - e->pos);
	int n;

	n = snprintf(buf, sizeof(buf), "\r%s%.*s\x1b[K", e->prompt,
	    (int)e->len, e->line);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	if (back > 0)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\x1b[%zuD",
		    back);
	(void)out(e, buf, (size_t)n);
}

static void
insert(struct editor *e, const char *s, size_t n)
{
	if (e->len + n > LINE_MAX_LEN) {
		(void)outs(e, "\a");
		return;
	}
	memmove(e->line + e->pos + n, e->line + e->pos, e->len - e->pos);
	memcpy(e->line + e->pos, s, n);
	e->len += n;
	e->pos += n;
	e->line[e->len] = '\0';
}

static void
delete_range(struct editor *e, size_t from, size_t to)
{
	memmove(e->line + from, e->line + to, e->len - to);
	e->len -= to - from;
	if (e->pos > to)
		e->pos -= to - from;
	else if (e->pos > from)
		e->pos = from;
	e->line[e->len] = '\0';
}

static size_t
char_left(const struct editor *e, size_t pos)
{
	while (pos > 0 && cont((unsigned char)e->line[--pos]))
		;
	return pos;
}

static size_t
char_right(const struct editor *e, size_t pos)
{
	if (pos < e->len)
		pos++;
	while (pos < e->len && cont((unsigned char)e->line[pos]))
		pos++;
	return pos;
}

static void
set_line(struct editor *e, const char *s)
{
	snprintf(e->line, sizeof(e->line), "%s", s);
	e->len = e->pos = strlen(e->line);
}

static void
history_move(struct editor *e, int up)
{
	if (up && e->browse == 0)
		return;
	if (!up && e->browse >= e->n_history)
		return;
	if (e->browse == e->n_history)
		memcpy(e->saved, e->line, e->len + 1);
	e->browse = up ? e->browse - 1 : e->browse + 1;
	set_line(e, e->browse == e->n_history ? e->saved :
	    e->history[e->browse]);
}

static void
history_add(struct editor *e, const char *line)
{
	char *copy;

	if (line[strspn(line, " \t")] == '\0' || (e->n_history > 0 &&
	    strcmp(e->history[e->n_history - 1], line) == 0))
		return;
	if ((copy = strdup(line)) == NULL)
		return;
	if (e->n_history == HISTORY_MAX) {
		free(e->history[0]);
		memmove(e->history, e->history + 1,
		    (HISTORY_MAX - 1) * sizeof(e->history[0]));
		e->n_history--;
	}
	e->history[e->n_history++] = copy;
}

struct matches {
	char names[64][128];
	size_t n;
};

static void
add_match(void *arg, const char *name)
{
	struct matches *m = arg;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->names[i], name) == 0)
			return;
	if (m->n < 64 && strlen(name) < 128)
		snprintf(m->names[m->n++], 128, "%s", name);
}

/* Tab: completes the word before the cursor as far as the candidates
 * agree; a second tab with several left lists them. */
static void
complete(struct editor *e, int listing)
{
	struct matches m = { .n = 0 };
	size_t start = e->pos, common, i, word = 0, k;

	while (start > 0 && e->line[start - 1] != ' ')
		start--;
	for (k = 0; k < start; k++)
		if (e->line[k] != ' ' && (k == 0 || e->line[k - 1] == ' '))
			word++;
	shell_complete(e->sh, (int)word, e->line + start, e->pos - start,
	    add_match, &m);
	if (m.n == 0) {
		(void)outs(e, "\a");
		return;
	}
	common = strlen(m.names[0]);
	for (i = 1; i < m.n; i++) {
		k = 0;
		while (k < common && m.names[i][k] == m.names[0][k])
			k++;
		common = k;
	}
	if (common > e->pos - start) {
		insert(e, m.names[0] + (e->pos - start),
		    common - (e->pos - start));
		if (m.n == 1)
			insert(e, " ", 1);
		refresh(e);
		return;
	}
	if (m.n == 1) {
		insert(e, " ", 1);
		refresh(e);
		return;
	}
	if (!listing) {
		(void)outs(e, "\a");
		return;
	}
	(void)outs(e, "\r\n");
	for (i = 0; i < m.n; i++) {
		(void)outs(e, m.names[i]);
		(void)outs(e, i + 1 < m.n ? "  " : "\r\n");
	}
	refresh(e);
}

/* Reads one key sequence's bytes into buf; 0 on EOF, -1 on an ended
 * session, else the count. */
static ssize_t
read_keys(struct editor *e, char *buf, size_t size)
{
	struct shell *sh = e->sh;
	struct signalfd_siginfo si;
	struct pollfd pfd[2];
	struct winsize ws;
	ssize_t n;

	for (;;) {
		if (shell_check_limits(sh, e->last_input))
			return -1;
		pfd[0].fd = 0;
		pfd[0].events = POLLIN;
		pfd[1].fd = sh->signal_fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, shell_timeout_ms(sh, e->last_input)) == -1) {
			if (errno == EINTR)
				continue;
			shell_end(sh, "poll: %s", strerror(errno));
			return -1;
		}
		while (pfd[1].revents &&
		    read(sh->signal_fd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP) {
				shell_end(sh, "the connection was closed "
				    "(signal %u)", si.ssi_signo);
				return -1;
			}
			if (si.ssi_signo == SIGWINCH &&
			    ioctl(0, TIOCGWINSZ, &ws) == 0 &&
			    hoop_rec_winsize(sh->rec, ws.ws_row, ws.ws_col) !=
			    HOOP_OK) {
				shell_end(sh, "the recording failed");
				return -1;
			}
		}
		if (!pfd[0].revents)
			continue;
		if ((n = read(0, buf, size)) == -1 && (errno == EINTR ||
		    errno == EAGAIN))
			continue;
		if (n <= 0)
			return 0;
		e->last_input = now_us();
		/* What is typed at the prompt is echoed: always recorded
		 * (unless the identity records no input). */
		if (hoop_rec_echo(sh->rec, 1) != HOOP_OK ||
		    hoop_rec_input(sh->rec, buf, (size_t)n) != HOOP_OK) {
			shell_end(sh, "the recording failed");
			return -1;
		}
		return n;
	}
}

/* Edits one line: 1 with e->line set, 0 on EOF (^D on an empty line or
 * the terminal gone), -1 when the session ends. */
static int
edit_line(struct editor *e)
{
	char keys[256];
	ssize_t n, i;
	int tabs = 0;
	unsigned char c;

	e->len = e->pos = 0;
	e->line[0] = '\0';
	e->browse = e->n_history;
	if (outs(e, e->prompt) == -1)
		return -1;
	for (;;) {
		if (e->n_ahead > 0) {
			memcpy(keys, e->ahead, e->n_ahead);
			n = (ssize_t)e->n_ahead;
			e->n_ahead = 0;
		} else if ((n = read_keys(e, keys, sizeof(keys))) <= 0) {
			return (int)n;
		}
		for (i = 0; i < n; i++) {
			c = (unsigned char)keys[i];
			tabs = c == '\t' ? tabs + 1 : 0;
			switch (c) {
			case '\r':
			case '\n':
				/* Typed ahead with the text: show it first. */
				refresh(e);
				(void)outs(e, "\r\n");
				/* \r\n from a paste is one Enter. */
				if (c == '\r' && i + 1 < n && keys[i + 1] == '\n')
					i++;
				memcpy(e->ahead, keys + i + 1, (size_t)(n - i - 1));
				e->n_ahead = (size_t)(n - i - 1);
				return 1;
			case 4:		/* ^D */
				if (e->len == 0) {
					(void)outs(e, "exit\r\n");
					return 0;
				}
				if (e->pos < e->len)
					delete_range(e, e->pos,
					    char_right(e, e->pos));
				break;
			case 3:		/* ^C: a new line */
				(void)outs(e, "^C\r\n");
				e->len = e->pos = 0;
				e->line[0] = '\0';
				e->browse = e->n_history;
				(void)outs(e, e->prompt);
				continue;
			case 127:
			case 8:		/* backspace */
				if (e->pos > 0)
					delete_range(e, char_left(e, e->pos),
					    e->pos);
				break;
			case 1: e->pos = 0; break;		/* ^A */
			case 5: e->pos = e->len; break;		/* ^E */
			case 2: e->pos = char_left(e, e->pos); break;
			case 6: e->pos = char_right(e, e->pos); break;
			case 11: delete_range(e, e->pos, e->len); break;
			case 21: delete_range(e, 0, e->pos); break;
			case 23: {	/* ^W: the word before the cursor */
				size_t p = e->pos;

				while (p > 0 && e->line[p - 1] == ' ')
					p--;
				while (p > 0 && e->line[p - 1] != ' ')
					p--;
				delete_range(e, p, e->pos);
				break;
			}
			case 12:	/* ^L */
				(void)outs(e, "\x1b[H\x1b[2J");
				break;
			case 16: history_move(e, 1); break;	/* ^P */
			case 14: history_move(e, 0); break;	/* ^N */
			case '\t':
				complete(e, tabs >= 2);
				continue;
			case 27:	/* escape sequences: arrows, home, end */
				if (i + 2 < n && (keys[i + 1] == '[' ||
				    keys[i + 1] == 'O')) {
					switch (keys[i + 2]) {
					case 'A': history_move(e, 1); break;
					case 'B': history_move(e, 0); break;
					case 'C': e->pos = char_right(e, e->pos);
						break;
					case 'D': e->pos = char_left(e, e->pos);
						break;
					case 'H': e->pos = 0; break;
					case 'F': e->pos = e->len; break;
					case '3':	/* delete: ESC [ 3 ~ */
						if (e->pos < e->len)
							delete_range(e, e->pos,
							    char_right(e,
							    e->pos));
						i++;
						break;
					}
					i += 2;
					if (i + 1 < n && keys[i + 1] == '~')
						i++;
				}
				break;
			default:
				if (c >= 32 || c == 9)
					insert(e, (const char *)&keys[i], 1);
				break;
			}
			if (e->sh->ending)
				return -1;
		}
		refresh(e);
	}
}

void
shell_interactive(struct shell *sh)
{
	struct editor *e;
	int r;
	size_t i;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		shell_end(sh, "out of memory");
		return;
	}
	e->sh = sh;
	e->last_input = now_us();
	snprintf(e->prompt, sizeof(e->prompt), "%s@hoop> ", sh->who.login);
	shell_say(sh, 1, "hoop: session %s for %s (%s); recorded. Type "
	    "'help' for what you may run.", sh->session_id, sh->who.login,
	    sh->who.identity->name);
	while (!sh->ending) {
		if (tty_raw(sh) == -1) {
			shell_end(sh, "cannot set up the terminal");
			break;
		}
		r = edit_line(e);
		tty_restore(sh);
		if (r <= 0)
			break;
		if (strcmp(e->line, "exit") == 0 ||
		    strcmp(e->line, "logout") == 0)
			break;
		history_add(e, e->line);
		sh->status = shell_run_line(sh, e->line, e->len, 1);
	}
	for (i = 0; i < e->n_history; i++)
		free(e->history[i]);
	free(e);
}
