/*
 * Writes a sample recording with a fixed clock, for the fuzz corpus and
 * for trying players on (not installed).
 *
 *   hoop-rec-sample [-p|-H] [-u] [-s MS] DIR ID KIND
 *   hoop-rec-sample -d DIR ID      (lists the frames of a recording)
 *
 * KIND: session (every kind of event), bulk, skip (LIMIT_SKIP pausing
 * and resuming), end (LIMIT_END), killed (never sealed), noinput, term
 * (escape sequences, carriage returns, backspaces, UTF-8 split between
 * frames, invalid UTF-8). With -p, prints the recording in
 * fuzz_recording's input form: u32 output length, u32 events length,
 * then the three files. -H prints the seal's head (for the sessions
 * row); -u leaves the recording unsealed, as a live or killed session
 * does; -s sleeps MS milliseconds at each step of the recorded clock,
 * so that readers can watch the recording grow.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hoop_recording.h"
#include "hoop_util.h"

static int64_t now = 1763800000000000LL;
static long slow_ms;

static int64_t
fixed_clock(void *arg)
{
	(void)arg;
	return now;
}

static void
tick(int64_t us)
{
	struct timespec ts = { .tv_sec = slow_ms / 1000,
	    .tv_nsec = slow_ms % 1000 * 1000000 };

	now += us;
	if (slow_ms > 0)
		nanosleep(&ts, NULL);
}

static void
out(hoop_rec_t *rec, const char *text)
{
	hoop_rec_output(rec, text, strlen(text));
}

static void
in(hoop_rec_t *rec, const char *text)
{
	hoop_rec_input(rec, text, strlen(text));
}

static int
session(hoop_rec_t *rec)
{
	struct hoop_rec_command cmd = { .line = "psql prod -c 'select 1'",
	    .decision = "allow", .rule = "read", .reason = NULL };
	struct hoop_rec_command no = { .line = "bash", .decision = "deny",
	    .rule = "default", .reason = "no shell for this identity" };
	uint32_t id = 0;

	hoop_rec_winsize(rec, 24, 80);
	out(rec, "hoop$ ");
	tick(400000);
	in(rec, "psql prod -c 'select 1'\r");
	out(rec, "psql prod -c 'select 1'\r\n");
	hoop_rec_command(rec, &cmd, &id);
	tick(20000);
	out(rec, "Password: ");
	hoop_rec_echo(rec, 0);
	tick(900000);
	in(rec, "s3cret\r");
	hoop_rec_echo(rec, 1);
	tick(30000);
	out(rec, " ?column? \r\n----------\r\n        1\r\n(1 row)"
	    "\r\n\r\n");
	hoop_rec_exit(rec, id, 0);
	out(rec, "hoop$ ");
	tick(2000000);
	hoop_rec_winsize(rec, 50, 132);
	in(rec, "bash\r");
	hoop_rec_command(rec, &no, NULL);
	out(rec, "hoop: bash: denied: no shell for this identity"
	    "\r\nhoop$ ");
	tick(100000);
	hoop_rec_note(rec, "session ended: logout");
	return 0;
}

/* What text export must undo; the expected text is in sessions.bats. */
static void
term(hoop_rec_t *rec)
{
	struct hoop_rec_command cmd = { .line = "echo \xff\x1b[31mred",
	    .decision = "deny", .rule = "no-echo",
	    .reason = "echo is not\tallowed" };

	hoop_rec_winsize(rec, 30, 100);
	out(rec, "\x1b[1;32mgreen\x1b[0m and plain\r\n");
	tick(1000);
	out(rec, "progress 10%\rprogress 100%\r\n");
	tick(1000);
	out(rec, "typo\b\bpo fixed\r\n");
	tick(1000);
	out(rec, "caf\xc3");
	tick(1000);
	out(rec, "\xa9 au lait\r\n");
	tick(1000);
	out(rec, "euro \xe2");
	tick(1000);
	out(rec, "\x82");
	tick(1000);
	out(rec, "\xac sign\r\n");
	tick(1000);
	in(rec, "caf\xc3");
	tick(1000);
	in(rec, "\xa9\r");
	tick(1000);
	hoop_rec_command(rec, &cmd, NULL);
	out(rec, "bad \xff byte\r\n");
	tick(1000);
	out(rec, "\x1b]0;window title\x07title set\r\n");
	out(rec, "erase me\x1b[2K\rgone\r\n");
	out(rec, "col\tumn\r\n");
	tick(1000);
	hoop_rec_winsize(rec, 40, 120);
	out(rec, "quote \" backslash \\ bell \x07 end\r\n");
	out(rec, "no newline at the end");
	tick(1000);
}

static void
bulk(hoop_rec_t *rec, int n, size_t each)
{
	char buf[4096];
	int i;

	for (i = 0; i < n; i++) {
		memset(buf, 'a' + i % 26, sizeof(buf));
		buf[each - 2] = '\r';
		buf[each - 1] = '\n';
		tick(500);
		if (hoop_rec_output(rec, buf, each) != HOOP_OK)
			break;
	}
}

static void
show(const struct hoop_rec_str *s)
{
	size_t i;

	for (i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->ptr[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static int
list(const char *dir, const char *id)
{
	struct hoop_rec_frame f;
	struct hoop_rec_str s;
	hoop_rec_reader_t *r = NULL;
	hoop_err_t err;

	if ((err = hoop_rec_reader_open(dir, id, &r)) != HOOP_OK) {
		fprintf(stderr, "hoop-rec-sample: %s\n", hoop_strerror(err));
		return 1;
	}
	while ((err = hoop_rec_next(r, &f)) == HOOP_OK &&
	    f.type != HOOP_REC_EOF) {
		printf("%lld.%06lld %c %s@%llu len %zu ",
		    (long long)(f.time_us / 1000000),
		    (long long)(f.time_us % 1000000), f.type,
		    f.stream == HOOP_REC_STREAM_OUTPUT ? "out" : "ev",
		    (unsigned long long)f.offset, f.len);
		switch (f.type) {
		case HOOP_REC_COMMAND:
			printf("#%u [", f.u.command.id);
			show(&f.u.command.line);
			printf("] ");
			show(&f.u.command.decision);
			printf(" rule=");
			show(&f.u.command.rule);
			printf(" reason=");
			show(&f.u.command.reason);
			break;
		case HOOP_REC_EXIT:
			printf("#%u %s %u", f.u.exit.id, f.u.exit.signaled ?
			    "signal" : "exit", f.u.exit.value);
			break;
		case HOOP_REC_WINSIZE:
			printf("%ux%u", f.u.winsize.rows, f.u.winsize.cols);
			break;
		case HOOP_REC_RESUME:
			printf("dir %u skipped %llu", f.u.pause.direction,
			    (unsigned long long)f.u.pause.skipped);
			break;
		case HOOP_REC_START:
			show(&f.u.start.session_id);
			printf(" flags %u", f.u.start.flags);
			break;
		default:
			s.ptr = (const char *)f.data;
			s.len = f.len > 60 ? 60 : f.len;
			show(&s);
		}
		putchar('\n');
	}
	if (err != HOOP_OK)
		printf("error: %s: %s\n", hoop_strerror(err),
		    hoop_rec_reader_problem(r));
	hoop_rec_reader_free(r);
	return err != HOOP_OK;
}

static int
dump(const char *dir, const char *id)
{
	static const char *const names[] = {
		HOOP_REC_OUTPUT_FILE, HOOP_REC_EVENTS_FILE, HOOP_REC_CHAIN_FILE,
	};
	char path[4096], *buf[3] = { NULL, NULL, NULL };
	unsigned char lens[8];
	size_t len[3] = { 0, 0, 0 };
	int i, k, ret = 1;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", dir, id, names[i]);
		if (hoop_read_file(path, 64 * 1024 * 1024, &buf[i], &len[i]) !=
		    HOOP_OK)
			goto out;
	}
	for (k = 0; k < 2; k++) {
		for (i = 0; i < 4; i++)
			lens[4 * k + i] = (unsigned char)(len[k] >> (8 * i));
	}
	if (fwrite(lens, 1, 8, stdout) != 8)
		goto out;
	for (i = 0; i < 3; i++) {
		if (fwrite(buf[i], 1, len[i], stdout) != len[i])
			goto out;
	}
	ret = fflush(stdout) != 0;
out:
	for (i = 0; i < 3; i++)
		free(buf[i]);
	return ret;
}

int
main(int argc, char **argv)
{
	struct hoop_rec_options o;
	hoop_rec_t *rec = NULL;
	const char *kind;
	char head[HOOP_REC_HEAD_MAX];
	int pack = 0, seal = 1, print_head = 0;
	hoop_err_t err;

	if (argc == 4 && strcmp(argv[1], "-d") == 0)
		return list(argv[2], argv[3]);
	for (; argc > 1 && argv[1][0] == '-'; argc--, argv++) {
		if (strcmp(argv[1], "-p") == 0)
			pack = 1;
		else if (strcmp(argv[1], "-H") == 0)
			print_head = 1;
		else if (strcmp(argv[1], "-u") == 0)
			seal = 0;
		else if (strcmp(argv[1], "-s") == 0 && argc > 2) {
			slow_ms = atol(argv[2]);
			argc--;
			argv++;
		} else
			break;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: hoop-rec-sample [-p|-H] [-u] [-s MS] "
		    "DIR ID KIND\n");
		return 2;
	}
	kind = argv[3];
	hoop_rec_options_init(&o);
	o.clock = fixed_clock;
	o.chunk_bytes = 2048;
	if (strcmp(kind, "skip") == 0) {
		o.max_bytes = 6000;
		o.limit_policy = HOOP_REC_LIMIT_SKIP;
		o.over_bytes = 4000;
		o.calm_rate = 1000;
		o.calm_burst = 1500;
	} else if (strcmp(kind, "end") == 0) {
		o.max_bytes = 3000;
	} else if (strcmp(kind, "noinput") == 0) {
		o.record_input = 0;
	} else if (strcmp(kind, "bulk") == 0) {
		o.max_frame = 1000;
	} else if (strcmp(kind, "killed") == 0) {
		seal = 0;
	} else if (strcmp(kind, "session") != 0 &&
	    strcmp(kind, "term") != 0) {
		fprintf(stderr, "hoop-rec-sample: unknown kind %s\n", kind);
		return 2;
	}
	if ((err = hoop_rec_create_in(argv[1], argv[2], &o, &rec)) != HOOP_OK) {
		fprintf(stderr, "hoop-rec-sample: %s\n", hoop_strerror(err));
		return 1;
	}
	if (strcmp(kind, "bulk") == 0)
		bulk(rec, 6, 3000);
	else if (strcmp(kind, "skip") == 0) {
		bulk(rec, 6, 1200);
		tick(5000000);
		session(rec);
		bulk(rec, 4, 1000);
	} else if (strcmp(kind, "end") == 0) {
		session(rec);
		bulk(rec, 4, 1000);
	} else if (strcmp(kind, "term") == 0) {
		term(rec);
	} else {
		session(rec);
		bulk(rec, 1, 300);
	}
	if (seal && (err = hoop_rec_seal(rec, head)) != HOOP_OK) {
		fprintf(stderr, "hoop-rec-sample: seal: %s\n",
		    hoop_strerror(err));
		return 1;
	}
	hoop_rec_free(rec);
	if (print_head)
		printf("%s\n", seal ? head : "");
	return pack ? dump(argv[1], argv[2]) : 0;
}
