/* The remote command or shell: stdin, stdout, stderr and the exit
 * status passed through as ssh(1) does, with a pty for interactive use. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <libssh/callbacks.h>

#include "hoopssh.h"

#define IO_BUF 32768

static volatile sig_atomic_t got_winch, got_quit;

static void
on_signal(int sig)
{
	if (sig == SIGWINCH)
		got_winch = 1;
	else
		got_quit = sig;
}

struct exit_info {
	char signal[32];
	int core;
};

struct io_state {
	struct exit_info *exit;
	int write_failed;
};

static void
on_exit_signal(ssh_session s, ssh_channel ch, const char *sig, int core,
    const char *errmsg, const char *lang, void *arg)
{
	struct exit_info *x = ((struct io_state *)arg)->exit;

	(void)s; (void)ch; (void)errmsg; (void)lang;
	snprintf(x->signal, sizeof(x->signal), "%s", sig != NULL ? sig : "?");
	x->core = core;
}

/* The words joined with spaces, as ssh(1) sends them: the remote shell
 * parses the line. */
static char *
join_command(int argc, char **argv)
{
	size_t len = 1, off = 0;
	char *cmd;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if ((cmd = malloc(len)) == NULL)
		return NULL;
	for (i = 0; i < argc; i++)
		off += (size_t)snprintf(cmd + off, len - off, "%s%s",
		    i ? " " : "", argv[i]);
	cmd[off] = '\0';
	return cmd;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
window_size(int *cols, int *rows)
{
	struct winsize ws;

	*cols = 80;
	*rows = 24;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 &&
	    ws.ws_row > 0) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
	}
}

/* Output is written from libssh's data callback as packets are
 * processed, so nothing waits in a channel buffer while we sleep in
 * ppoll (a read of one stream can process packets of the other), and
 * libssh grows the window as the callback consumes. */
static int
on_data(ssh_session s, ssh_channel ch, void *data, uint32_t len,
    int is_stderr, void *arg)
{
	struct io_state *io = arg;

	(void)s; (void)ch;
	if (!io->write_failed && write_all(is_stderr ? STDERR_FILENO :
	    STDOUT_FILENO, data, len) == -1) {
		hoopssh_err("cannot write %s: %s", is_stderr ? "stderr" :
		    "stdout", strerror(errno));
		io->write_failed = 1;
	}
	return (int)len;
}

/* Forwards output until the remote side has sent EOF; stdin until it
 * ends. Returns -1 when the connection fails. */
static int
pump(ssh_session s, ssh_channel ch, int tty, const sigset_t *waitmask,
    struct io_state *io)
{
	struct pollfd pfd[2];
	char buf[IO_BUF];
	uint32_t window;
	int stdin_open = 1, nfds, cols, rows;
	ssize_t r;

	for (;;) {
		/* Processes what has arrived (the callback writes it). */
		if (ssh_channel_poll(ch, 0) == SSH_ERROR) {
			hoopssh_err("connection lost: %s", ssh_get_error(s));
			return -1;
		}
		if (io->write_failed)
			return -1;
		if (ssh_channel_is_eof(ch) || ssh_channel_is_closed(ch))
			return 0;
		if (got_quit) {
			hoopssh_err("terminated by signal %d", (int)got_quit);
			return -1;
		}
		if (got_winch && tty) {
			got_winch = 0;
			window_size(&cols, &rows);
			ssh_channel_change_pty_size(ch, cols, rows);
		}
		pfd[0].fd = ssh_get_fd(s);
		pfd[0].events = POLLIN;
		/* libssh queues what the socket would not take (our data, a
		 * window adjust); wake when it can be flushed, or both sides
		 * wait for each other. */
		if (ssh_get_poll_flags(s) & SSH_WRITE_PENDING)
			pfd[0].events |= POLLOUT;
		nfds = 1;
		/* Read stdin only as far as the server's window goes, so a
		 * write never blocks while the server waits for us to read. */
		window = stdin_open ? ssh_channel_window_size(ch) : 0;
		if (window > 0) {
			pfd[1].fd = STDIN_FILENO;
			pfd[1].events = POLLIN;
			pfd[1].revents = 0;
			nfds = 2;
		}
		if (ppoll(pfd, (nfds_t)nfds, NULL, waitmask) == -1) {
			if (errno == EINTR)
				continue;
			hoopssh_err("poll: %s", strerror(errno));
			return -1;
		}
		if (nfds < 2 || !(pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = read(STDIN_FILENO, buf, window < sizeof(buf) ? window :
		    sizeof(buf));
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			stdin_open = 0;
			/* With a pty the remote side ends the session itself. */
			if (!tty && ssh_channel_send_eof(ch) == SSH_ERROR) {
				hoopssh_err("connection lost: %s",
				    ssh_get_error(s));
				return -1;
			}
			continue;
		}
		if (ssh_channel_write(ch, buf, (uint32_t)r) != (int)r) {
			hoopssh_err("connection lost: %s", ssh_get_error(s));
			return -1;
		}
	}
}

int
hoopssh_run(ssh_session s, const struct hoopssh_opts *o)
{
	struct ssh_channel_callbacks_struct cb;
	struct exit_info xi = { "", 0 };
	struct io_state io = { &xi, 0 };
	struct termios saved, raw;
	struct sigaction sa;
	sigset_t block, waitmask;
	ssh_channel ch = NULL;
	const char *term;
	char *cmd = NULL;
	int ret = HOOPSSH_EXIT_ERROR, tty, raw_set = 0, cols, rows, status;

	if (o->argc > 0 && (cmd = join_command(o->argc, o->argv)) == NULL) {
		hoopssh_err("out of memory");
		goto out;
	}
	tty = o->want_tty == 1 ||
	    (o->want_tty == -1 && cmd == NULL && isatty(STDIN_FILENO));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* The signals arrive only inside ppoll, so none is missed between
	 * the checks and the wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGWINCH);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGWINCH);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGHUP);

	if ((ch = ssh_channel_new(s)) == NULL ||
	    ssh_channel_open_session(ch) != SSH_OK) {
		hoopssh_err("cannot open a session channel: %s",
		    ssh_get_error(s));
		goto out;
	}
	memset(&cb, 0, sizeof(cb));
	cb.userdata = &io;
	cb.channel_data_function = on_data;
	cb.channel_exit_signal_function = on_exit_signal;
	ssh_callbacks_init(&cb);
	ssh_set_channel_callbacks(ch, &cb);
	if (tty) {
		if ((term = getenv("TERM")) == NULL || *term == '\0')
			term = "dumb";
		window_size(&cols, &rows);
		if (ssh_channel_request_pty_size(ch, term, cols, rows) !=
		    SSH_OK) {
			hoopssh_err("the server refused a pty: %s",
			    ssh_get_error(s));
			goto out;
		}
	}
	if ((cmd != NULL ? ssh_channel_request_exec(ch, cmd) :
	    ssh_channel_request_shell(ch)) != SSH_OK) {
		hoopssh_err("the server refused to run %s: %s",
		    cmd != NULL ? "the command" : "a shell", ssh_get_error(s));
		goto out;
	}
	if (tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) ==
	    0) {
		raw = saved;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0)
			raw_set = 1;
	}
	if (pump(s, ch, tty, &waitmask, &io) == -1)
		goto out;
	if (raw_set) {
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
		raw_set = 0;
	}
	status = ssh_channel_get_exit_status(ch);
	if (xi.signal[0] != '\0') {
		hoopssh_err("remote command killed by signal %s%s", xi.signal,
		    xi.core ? " (core dumped)" : "");
		goto out;
	}
	if (status < 0 || status > 255) {
		hoopssh_err("the server sent no exit status");
		goto out;
	}
	ret = status;
out:
	if (raw_set)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	if (ch != NULL) {
		ssh_channel_close(ch);
		ssh_channel_free(ch);
	}
	free(cmd);
	return ret;
}
