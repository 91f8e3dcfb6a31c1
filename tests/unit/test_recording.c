/* Session recordings: writer, ttyrec layout, splitting, echo-off input,
 * size limits, the seal against tampering, a killed writer, a full disk,
 * symlinks, and the reader's checks on bad files. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hoop_config.h"
#include "hoop_log.h"
#include "hoop_recording.h"
#include "hoop_util.h"
#include "tap.h"

static char dir[] = "/tmp/hoop-test-rec.XXXXXX";
static char recs[300];		/* the recordings directory */

/* A clock the tests move by hand. */
static int64_t fake_now = 1700000000123456LL;

static int64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void
opts_fake(struct hoop_rec_options *o)
{
	hoop_rec_options_init(o);
	o->clock = fake_clock;
}

static char *
rec_path(const char *id, const char *file)
{
	static char path[600];

	snprintf(path, sizeof(path), "%s/%s/%s", recs, id, file);
	return path;
}

/* A whole file, or NULL; *len its size. */
static unsigned char *
slurp(const char *id, const char *file, size_t *len)
{
	char *buf = NULL;

	if (hoop_read_file(rec_path(id, file), 256 * 1024 * 1024, &buf,
	    len) != HOOP_OK)
		return NULL;
	return (unsigned char *)buf;
}

static int
spit(const char *id, const char *file, const void *data, size_t len)
{
	FILE *f = fopen(rec_path(id, file), "w");
	int ok_ = f != NULL && fwrite(data, 1, len, f) == len;

	if (f != NULL && fclose(f) != 0)
		ok_ = 0;
	return ok_;
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static int
contains(const unsigned char *hay, size_t n, const char *needle)
{
	return hay != NULL && memmem(hay, n, needle, strlen(needle)) != NULL;
}

/* Reads every frame; returns the final status, counts frames and keeps
 * the output bytes (caller frees). */
struct readback {
	hoop_err_t err;
	size_t frames, output_frames;
	unsigned char *output;
	size_t output_len;
	int ordered;		/* times strictly increasing */
	char types[4096];	/* event types in order */
	char problem[256];
};

static void
read_all(hoop_rec_reader_t *r, struct readback *rb)
{
	struct hoop_rec_frame f;
	int64_t last = -1;
	size_t nt = 0, cap = 0;

	memset(rb, 0, sizeof(*rb));
	rb->ordered = 1;
	for (;;) {
		rb->err = hoop_rec_next(r, &f);
		if (rb->err != HOOP_OK || f.type == HOOP_REC_EOF)
			break;
		rb->frames++;
		if (f.time_us <= last)
			rb->ordered = 0;
		last = f.time_us;
		if (f.type == HOOP_REC_OUTPUT) {
			rb->output_frames++;
			/* Doubling: realloc per frame is quadratic. */
			if (rb->output_len + f.len + 1 > cap) {
				while (rb->output_len + f.len + 1 > cap)
					cap = cap ? 2 * cap : 65536;
				rb->output = realloc(rb->output, cap);
			}
			memcpy(rb->output + rb->output_len, f.data, f.len);
			rb->output_len += f.len;
		} else if (nt + 1 < sizeof(rb->types))
			rb->types[nt++] = (char)f.type;
	}
	snprintf(rb->problem, sizeof(rb->problem), "%s",
	    hoop_rec_reader_problem(r));
}

static void
read_id(const char *id, struct readback *rb)
{
	hoop_rec_reader_t *r = NULL;

	memset(rb, 0, sizeof(*rb));
	if ((rb->err = hoop_rec_reader_open(recs, id, &r)) != HOOP_OK)
		return;
	read_all(r, rb);
	hoop_rec_reader_free(r);
}

static void
test_create(void)
{
	struct hoop_rec_options o;
	hoop_rec_t *rec = NULL;
	hoop_config_t *cfg = NULL;
	struct stat st;
	char path[700], other[600], conf[700];
	static const char *const bad_ids[] = {
		"", ".hidden", "..", "a/b", "a b", "x\n", "../up",
	};
	char longid[HOOP_REC_MAX_SESSION_ID + 2];
	size_t i;

	for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++)
		is_int(hoop_rec_create_in(recs, bad_ids[i], NULL, &rec),
		    HOOP_ERR_INVAL, "bad session id %zu refused", i);
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	is_int(hoop_rec_create_in(recs, longid, NULL, &rec), HOOP_ERR_INVAL,
	    "a session id over %d characters refused",
	    HOOP_REC_MAX_SESSION_ID);
	longid[HOOP_REC_MAX_SESSION_ID] = '\0';
	is_int(hoop_rec_create_in(recs, longid, NULL, &rec), HOOP_OK,
	    "a session id of %d characters accepted", HOOP_REC_MAX_SESSION_ID);
	hoop_rec_free(rec);

	hoop_rec_options_init(&o);
	o.max_frame = 0;
	is_int(hoop_rec_create_in(recs, "badopt", &o, &rec), HOOP_ERR_INVAL,
	    "max_frame 0 refused");
	o.max_frame = HOOP_REC_MAX_FRAME;
	is_int(hoop_rec_create_in(recs, "badopt", &o, &rec), HOOP_ERR_INVAL,
	    "max_frame above the reader's limit refused");
	ok(lstat(rec_path("badopt", ""), &st) == -1,
	    "nothing created for refused options");

	/* The recordings directory's last component is made if missing. */
	snprintf(path, sizeof(path), "%s/fresh", dir);
	is_int(hoop_rec_create_in(path, "s1", NULL, &rec), HOOP_OK,
	    "missing recordings directory is created");
	hoop_rec_free(rec);
	snprintf(path, sizeof(path), "%s/no/such/dir", dir);
	is_int(hoop_rec_create_in(path, "s1", NULL, &rec), HOOP_ERR_NOTFOUND,
	    "missing parents are not");

	is_int(hoop_rec_create_in(recs, "modes", NULL, &rec), HOOP_OK,
	    "create");
	ok(stat(rec_path("modes", ""), &st) == 0 &&
	    (st.st_mode & 07777) == 0750, "session directory is 0750 (%o)",
	    st.st_mode & 07777);
	ok(stat(rec_path("modes", HOOP_REC_OUTPUT_FILE), &st) == 0 &&
	    (st.st_mode & 07777) == 0640 && st.st_gid == getegid(),
	    "output file is 0640, effective group (%o)", st.st_mode & 07777);
	ok(stat(rec_path("modes", HOOP_REC_EVENTS_FILE), &st) == 0 &&
	    (st.st_mode & 07777) == 0640, "events file is 0640");
	ok(stat(rec_path("modes", HOOP_REC_CHAIN_FILE), &st) == 0 &&
	    (st.st_mode & 07777) == 0640, "chain file is 0640");
	hoop_rec_free(rec);
	is_int(hoop_rec_create_in(recs, "modes", NULL, &rec), HOOP_ERR_EXISTS,
	    "an existing recording is never reopened");
	ok(rec == NULL, "and no handle is returned");

	/* A symlink planted at the target path. */
	snprintf(other, sizeof(other), "%s/elsewhere", dir);
	mkdir(other, 0700);
	snprintf(path, sizeof(path), "%s/planted", recs);
	ok(symlink(other, path) == 0, "plant a symlink at the target path");
	is_int(hoop_rec_create_in(recs, "planted", NULL, &rec),
	    HOOP_ERR_EXISTS, "a symlink at the target path is refused");
	snprintf(path, sizeof(path), "%s/%s", other, HOOP_REC_OUTPUT_FILE);
	ok(lstat(path, &st) == -1, "nothing written through it");
	is_int(hoop_rec_verify(recs, "planted", NULL,
	    &(struct hoop_rec_verify_result){ 0 }), HOOP_ERR_PERM,
	    "verify does not follow it either");
	ok(hoop_rec_reader_open(recs, "planted", &(hoop_rec_reader_t *){ 0 })
	    == HOOP_ERR_PERM, "nor does the reader");
	/* A symlink as a file inside a session directory. */
	ok(mkdir(rec_path("linkfile", ""), 0750) == 0 &&
	    symlink("/etc/passwd", rec_path("linkfile",
	    HOOP_REC_OUTPUT_FILE)) == 0 && spit("linkfile",
	    HOOP_REC_EVENTS_FILE, "", 0), "plant a symlinked output file");
	ok(hoop_rec_reader_open(recs, "linkfile", &(hoop_rec_reader_t *){ 0 })
	    == HOOP_ERR_PERM, "the reader refuses a symlinked file");

	/* A symlink on the way to the recordings directory. */
	snprintf(path, sizeof(path), "%s/reclink", dir);
	ok(symlink(recs, path) == 0, "symlink to the recordings directory");
	is_int(hoop_rec_create_in(path, "vialink", NULL, &rec), HOOP_ERR_PERM,
	    "a symlinked recordings directory is refused");
	snprintf(path, sizeof(path), "%s/reclink/sub", dir);
	is_int(hoop_rec_create_in(path, "vialink", NULL, &rec), HOOP_ERR_PERM,
	    "a symlink in the middle of the path is refused");

	/* World-writable recordings directory. */
	snprintf(path, sizeof(path), "%s/open", dir);
	mkdir(path, 0777);
	chmod(path, 0777);
	is_int(hoop_rec_create_in(path, "s1", NULL, &rec), HOOP_ERR_PERM,
	    "a world-writable recordings directory is refused");

	/* From the configuration, the only path hoop-shell has. */
	snprintf(conf, sizeof(conf), "recordings = \"%s\"\n", recs);
	is_int(hoop_config_load_buf(conf, strlen(conf), "t.conf",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, NULL, NULL), HOOP_OK,
	    "config with recordings");
	is_int(hoop_rec_create(cfg, "fromcfg", NULL, &rec), HOOP_OK,
	    "create from the configuration");
	hoop_rec_free(rec);
	ok(stat(rec_path("fromcfg", HOOP_REC_OUTPUT_FILE), &st) == 0,
	    "in the configured directory");
	hoop_config_free(cfg);
	is_int(hoop_rec_create(NULL, "x", NULL, &rec), HOOP_ERR_CONFIG,
	    "no configuration, no recording");
}

/* Output "hello", in exact ttyrec bytes. */
static void
test_layout(void)
{
	struct hoop_rec_options o;
	hoop_rec_t *rec = NULL;
	unsigned char *buf;
	size_t len;
	/* 1700000000.123456 and .123457 (the second frame of a write is
	 * a microsecond later), 1700000001.5. */
	static const unsigned char want[] = {
		0x00, 0xf1, 0x53, 0x65, 0x40, 0xe2, 0x01, 0x00,
		0x03, 0x00, 0x00, 0x00, 'a', 'b', 'c',
		0x00, 0xf1, 0x53, 0x65, 0x41, 0xe2, 0x01, 0x00,
		0x02, 0x00, 0x00, 0x00, 'd', 'e',
		0x01, 0xf1, 0x53, 0x65, 0x20, 0xa1, 0x07, 0x00,
		0x01, 0x00, 0x00, 0x00, '\n',
	};
	static const unsigned char want_start[] = {
		0x00, 0xf1, 0x53, 0x65, 0x3f, 0xe2, 0x01, 0x00,
		0x0e, 0x00, 0x00, 0x00, 'S',
		'h', 'o', 'o', 'p', '-', 'r', 'e', 'c', 0x01, 0x01, 'l', 'y',
		'1',
	};

	opts_fake(&o);
	o.max_frame = 3;
	fake_now = 1700000000123455LL;
	is_int(hoop_rec_create_in(recs, "ly1", &o, &rec), HOOP_OK, "create");
	fake_now = 1700000000123456LL;
	is_int(hoop_rec_output(rec, "abcde", 5), HOOP_OK, "output 5 bytes");
	fake_now = 1700000001500000LL;
	is_int(hoop_rec_output(rec, "\n", 1), HOOP_OK, "output 1 byte");
	is_int(hoop_rec_seal(rec, NULL), HOOP_OK, "seal");
	hoop_rec_free(rec);
	buf = slurp("ly1", HOOP_REC_OUTPUT_FILE, &len);
	ok(buf != NULL && len == sizeof(want) && memcmp(buf, want, len) == 0,
	    "output.ttyrec is ttyrec byte for byte (%zu bytes)", len);
	free(buf);
	buf = slurp("ly1", HOOP_REC_EVENTS_FILE, &len);
	ok(buf != NULL && len > sizeof(want_start) && memcmp(buf, want_start,
	    sizeof(want_start)) == 0, "events.hrec starts with START");
	/* END: the last frame, type only. */
	ok(buf != NULL && len >= 13 && le32(buf + len - 5) == 1 &&
	    buf[len - 1] == 'z', "events.hrec ends with END");
	free(buf);
	buf = slurp("ly1", HOOP_REC_CHAIN_FILE, &len);
	ok(buf != NULL && len % 72 == 0 && len >= 144 &&
	    memcmp(buf, "hrc1", 4) == 0 && le32(buf + len - 72 + 4) == 1 &&
	    le32(buf + len - 72 + 8) == len / 72,
	    "chain.hrec: 72-byte records, the last sealed (%zu bytes)", len);
	free(buf);
}

/* Big writes are split into frames of at most max_frame. */
static void
test_split(void)
{
	struct hoop_rec_options o;
	struct readback rb;
	hoop_rec_t *rec = NULL;
	unsigned char *big, *buf;
	size_t i, len, off, frames, maxlen;
	const size_t n = 3 * 1024 * 1024 + 17;
	int sizes_ok;

	big = malloc(n);
	for (i = 0; i < n; i++)
		big[i] = (unsigned char)(i * 7 + i / 251);
	opts_fake(&o);
	is_int(hoop_rec_create_in(recs, "split", &o, &rec), HOOP_OK, "create");
	is_int(hoop_rec_output(rec, big, n), HOOP_OK, "output 3 MiB at once");
	is_int(hoop_rec_seal(rec, NULL), HOOP_OK, "seal");
	hoop_rec_free(rec);
	buf = slurp("split", HOOP_REC_OUTPUT_FILE, &len);
	frames = 0;
	maxlen = 0;
	for (off = 0; buf != NULL && off + 12 <= len; frames++) {
		if (le32(buf + off + 8) > maxlen)
			maxlen = le32(buf + off + 8);
		off += 12 + le32(buf + off + 8);
	}
	ok(off == len && frames == (n + 65535) / 65536 && maxlen == 65536,
	    "split into %zu frames of at most 64 KiB (%zu)", frames, maxlen);
	free(buf);
	read_id("split", &rb);
	ok(rb.err == HOOP_OK && rb.output_len == n &&
	    memcmp(rb.output, big, n) == 0, "read back whole");
	ok(rb.ordered, "frame times strictly increase");
	free(rb.output);

	/* Many more frames than one writev carries. */
	opts_fake(&o);
	o.max_frame = 7;
	is_int(hoop_rec_create_in(recs, "split2", &o, &rec), HOOP_OK, "create");
	is_int(hoop_rec_output(rec, big, 5000), HOOP_OK, "5000 bytes");
	is_int(hoop_rec_input(rec, big, 3000), HOOP_OK, "3000 bytes input");
	is_int(hoop_rec_seal(rec, NULL), HOOP_OK, "seal");
	hoop_rec_free(rec);
	read_id("split2", &rb);
	ok(rb.err == HOOP_OK && rb.output_len == 5000 && rb.output_frames ==
	    715 && memcmp(rb.output, big, 5000) == 0,
	    "715 frames of 7 bytes or less (%zu)", rb.output_frames);
	sizes_ok = strspn(rb.types + 1, "i") == 429;
	ok(sizes_ok, "input as 429 frames");
	free(rb.output);
	is_int(hoop_rec_verify(recs, "split2", NULL,
	    &(struct hoop_rec_verify_result){ 0 }), HOOP_OK, "verifies");
	free(big);
}

/* A session in short: every kind of frame, read back in order. */
static void
test_round_trip(void)
{
	struct hoop_rec_command cmd = { .line = "psql prod -c 'select 1'",
	    .decision = "allow", .rule = "dba-read", .reason = NULL };
	struct hoop_rec_command denied = { .line = "rm -rf /",
	    .decision = "deny", .rule = "default", .reason = "not allowed" };
	struct hoop_rec_verify_result vr;
	struct hoop_rec_options o;
	struct hoop_rec_frame f;
	hoop_rec_reader_t *r = NULL;
	hoop_rec_t *rec = NULL;
	char head[HOOP_REC_HEAD_MAX], head2[HOOP_REC_HEAD_MAX];
	uint32_t id = 0, id2 = 0;
	unsigned char *buf;
	size_t len;
	int n = 0, good = 1;
	hoop_err_t err;

	opts_fake(&o);
	o.chunk_bytes = 1 << 20;
	o.chunk_ms = 60000;
	fake_now = 1700000100000000LL;
	is_int(hoop_rec_create_in(recs, "rt", &o, &rec), HOOP_OK, "create");
	hoop_rec_head(rec, head);
	ok(strncmp(head, "1:", 2) == 0 && strlen(head) == 66,
	    "head after create is chunk 1: %s", head);
	ok(hoop_rec_winsize(rec, 24, 80) == HOOP_OK &&
	    hoop_rec_output(rec, "$ ", 2) == HOOP_OK &&
	    hoop_rec_input(rec, "p", 1) == HOOP_OK &&
	    hoop_rec_output(rec, "p", 1) == HOOP_OK &&
	    hoop_rec_command(rec, &cmd, &id) == HOOP_OK &&
	    hoop_rec_output(rec, "Password: ", 10) == HOOP_OK &&
	    hoop_rec_echo(rec, 0) == HOOP_OK &&
	    hoop_rec_input(rec, "hunter2", 7) == HOOP_OK &&
	    hoop_rec_input(rec, "\r", 1) == HOOP_OK &&
	    hoop_rec_echo(rec, 1) == HOOP_OK &&
	    hoop_rec_output(rec, " 1\r\n", 4) == HOOP_OK &&
	    hoop_rec_exit(rec, id, 3 << 8) == HOOP_OK &&
	    hoop_rec_command(rec, &denied, &id2) == HOOP_OK &&
	    hoop_rec_exit(rec, id2, SIGTERM) == HOOP_OK &&
	    hoop_rec_winsize(rec, 50, 132) == HOOP_OK &&
	    hoop_rec_note(rec, "session ended: idle timeout") == HOOP_OK,
	    "a session's writes");
	is_int(id, 1, "commands are numbered from 1");
	is_int(id2, 2, "and on");
	is_int(hoop_rec_seal(rec, head), HOOP_OK, "seal: %s", head);
	hoop_rec_head(rec, head2);
	ok(strcmp(head, head2) == 0, "hoop_rec_head gives the sealed head");
	is_int(hoop_rec_output(rec, "x", 1), HOOP_ERR_INVAL,
	    "nothing is written after the seal");
	is_int(hoop_rec_seal(rec, head2), HOOP_ERR_INVAL, "nor sealed twice");
	hoop_rec_free(rec);

	buf = slurp("rt", HOOP_REC_EVENTS_FILE, &len);
	ok(buf != NULL && !contains(buf, len, "hunter2"),
	    "input typed with echo off is nowhere in the events");
	free(buf);
	buf = slurp("rt", HOOP_REC_OUTPUT_FILE, &len);
	ok(buf != NULL && !contains(buf, len, "hunter2"), "nor in the output");
	free(buf);

	is_int(hoop_rec_verify(recs, "rt", head, &vr), HOOP_OK,
	    "verifies against its head");
	ok(vr.sealed && vr.unsealed_bytes == 0 && strcmp(vr.head, head) == 0,
	    "sealed, nothing unsealed, same head");

	is_int(hoop_rec_reader_open(recs, "rt", &r), HOOP_OK, "reader");
	/* Expected: type, then a check on the payload. */
#define NEXT(t, cond, what) do { \
	err = hoop_rec_next(r, &f); \
	n++; \
	if (err != HOOP_OK || f.type != (t) || !(cond)) { \
		good = 0; \
		printf("# frame %d: err %d type %c, want %c (%s)\n", n, err, \
		    f.type ? f.type : '0', (t) ? (t) : '0', what); \
	} \
} while (0)
#define STREQ(s, lit) ((s).len == strlen(lit) && memcmp((s).ptr, lit, \
	(s).len) == 0)
	NEXT(HOOP_REC_START, f.u.start.version == 1 && f.u.start.flags == 1 &&
	    STREQ(f.u.start.session_id, "rt") && f.offset == 0, "start");
	NEXT(HOOP_REC_WINSIZE, f.u.winsize.rows == 24 &&
	    f.u.winsize.cols == 80, "winsize");
	NEXT(HOOP_REC_OUTPUT, f.len == 2 && memcmp(f.data, "$ ", 2) == 0 &&
	    f.stream == HOOP_REC_STREAM_OUTPUT, "prompt");
	NEXT(HOOP_REC_INPUT, f.len == 1 && f.data[0] == 'p', "input");
	NEXT(HOOP_REC_OUTPUT, f.len == 1, "echo");
	NEXT(HOOP_REC_COMMAND, f.u.command.id == 1 &&
	    STREQ(f.u.command.line, "psql prod -c 'select 1'") &&
	    STREQ(f.u.command.decision, "allow") &&
	    STREQ(f.u.command.rule, "dba-read") &&
	    f.u.command.reason.len == 0, "command");
	NEXT(HOOP_REC_OUTPUT, f.len == 10, "password prompt");
	NEXT(HOOP_REC_ECHO, f.u.echo.on == 0, "echo off");
	NEXT(HOOP_REC_INPUT_WITHHELD, f.len == 0, "withheld, once");
	NEXT(HOOP_REC_ECHO, f.u.echo.on == 1, "echo on");
	NEXT(HOOP_REC_OUTPUT, f.len == 4, "result");
	NEXT(HOOP_REC_EXIT, f.u.exit.id == 1 && !f.u.exit.signaled &&
	    f.u.exit.value == 3, "exit 3");
	NEXT(HOOP_REC_COMMAND, f.u.command.id == 2 &&
	    STREQ(f.u.command.decision, "deny") &&
	    STREQ(f.u.command.reason, "not allowed"), "denied command");
	NEXT(HOOP_REC_EXIT, f.u.exit.id == 2 && f.u.exit.signaled &&
	    f.u.exit.value == SIGTERM, "killed");
	NEXT(HOOP_REC_WINSIZE, f.u.winsize.rows == 50 &&
	    f.u.winsize.cols == 132, "resize");
	NEXT(HOOP_REC_NOTE, f.len == 27 && memcmp(f.data, "session ended",
	    13) == 0, "note");
	NEXT(HOOP_REC_END, f.len == 0, "end");
	NEXT(HOOP_REC_EOF, 1, "eof");
	NEXT(HOOP_REC_EOF, 1, "eof again");
#undef NEXT
	ok(good, "every frame comes back in order with its payload");
	ok(hoop_rec_reader_problem(r)[0] == '\0', "no problem reported");
	hoop_rec_reader_free(r);
}

static void
test_input_off(void)
{
	struct hoop_rec_options o;
	struct readback rb;
	hoop_rec_t *rec = NULL;
	unsigned char *buf;
	size_t len;

	opts_fake(&o);
	o.record_input = 0;
	is_int(hoop_rec_create_in(recs, "noinput", &o, &rec), HOOP_OK,
	    "create without input recording");
	ok(hoop_rec_input(rec, "typed-secret", 12) == HOOP_OK &&
	    hoop_rec_output(rec, "shown", 5) == HOOP_OK &&
	    hoop_rec_seal(rec, NULL) == HOOP_OK, "write, seal");
	hoop_rec_free(rec);
	buf = slurp("noinput", HOOP_REC_EVENTS_FILE, &len);
	ok(buf != NULL && !contains(buf, len, "typed-secret") &&
	    buf[22] == 0, "no input recorded, START flags say so");
	free(buf);
	read_id("noinput", &rb);
	ok(rb.err == HOOP_OK && strcmp(rb.types, "Sz") == 0 &&
	    rb.output_len == 5, "frames: %s", rb.types);
	free(rb.output);

	/* Two echo-off periods: one marker each, whatever is typed. */
	opts_fake(&o);
	is_int(hoop_rec_create_in(recs, "echo2", &o, &rec), HOOP_OK, "create");
	ok(hoop_rec_echo(rec, 0) == HOOP_OK &&
	    hoop_rec_input(rec, "a", 1) == HOOP_OK &&
	    hoop_rec_input(rec, "b", 1) == HOOP_OK &&
	    hoop_rec_echo(rec, 0) == HOOP_OK &&
	    hoop_rec_input(rec, "c", 1) == HOOP_OK &&
	    hoop_rec_echo(rec, 1) == HOOP_OK &&
	    hoop_rec_echo(rec, 1) == HOOP_OK &&
	    hoop_rec_input(rec, "X", 1) == HOOP_OK &&
	    hoop_rec_echo(rec, 0) == HOOP_OK &&
	    hoop_rec_input(rec, "d", 1) == HOOP_OK &&
	    hoop_rec_seal(rec, NULL) == HOOP_OK, "two echo-off periods");
	hoop_rec_free(rec);
	read_id("echo2", &rb);
	ok(rb.err == HOOP_OK && strcmp(rb.types, "Seheiehz") == 0,
	    "one marker per period, repeated states ignored: %s", rb.types);
	free(rb.output);
}

/* A deterministic sealed recording of 12 chunks (every write ends one):
 * START, then 5 x (output 100 bytes, input 10 bytes), END. */
static void
make_sample(const char *id, char head[HOOP_REC_HEAD_MAX])
{
	struct hoop_rec_options o;
	hoop_rec_t *rec = NULL;
	char out[100], in[10];
	int i;

	opts_fake(&o);
	o.chunk_bytes = 0;
	fake_now = 1700000200000000LL;
	if (hoop_rec_create_in(recs, id, &o, &rec) != HOOP_OK) {
		head[0] = '\0';
		return;
	}
	for (i = 0; i < 5; i++) {
		memset(out, 'A' + i, sizeof(out));
		memset(in, 'a' + i, sizeof(in));
		fake_now += 1000;
		hoop_rec_output(rec, out, sizeof(out));
		hoop_rec_input(rec, in, sizeof(in));
	}
	if (hoop_rec_seal(rec, head) != HOOP_OK)
		head[0] = '\0';
	hoop_rec_free(rec);
}

enum { OUT_F, EV_F, CHAIN_F };
static const char *const fname[] = {
	HOOP_REC_OUTPUT_FILE, HOOP_REC_EVENTS_FILE, HOOP_REC_CHAIN_FILE,
};

/* Verifies a tampered sample: broken at chunk `want`, problem mentions
 * phrase. */
static void
expect_broken(const char *id, const char *head, uint64_t want,
    const char *phrase, const char *what)
{
	struct hoop_rec_verify_result vr;
	hoop_err_t err;

	err = hoop_rec_verify(recs, id, head, &vr);
	is_int(err, HOOP_ERR_REC_BROKEN, "%s is detected", what);
	ok(vr.broken_chunk == want && strstr(vr.problem, phrase) != NULL,
	    "%s: chunk %lu (got %lu: %s)", what, (unsigned long)want,
	    (unsigned long)vr.broken_chunk, vr.problem);
}

static void
test_tamper(void)
{
	struct hoop_rec_verify_result vr;
	char head[HOOP_REC_HEAD_MAX], other[HOOP_REC_HEAD_MAX], path[700];
	unsigned char *b, tmp[72];
	size_t len;

	make_sample("t0", head);
	is_int(hoop_rec_verify(recs, "t0", head, &vr), HOOP_OK,
	    "the sample verifies");
	ok(vr.chunks == 12 && vr.sealed && strncmp(head, "12:", 3) == 0,
	    "12 chunks, sealed (%lu)", (unsigned long)vr.chunks);
	is_int(hoop_rec_verify(recs, "t0", NULL, &vr), HOOP_OK,
	    "and verifies without a head");

	/* Output frames are 112 bytes: frame i (from 0) is chunk i + 2. */
	make_sample("t1", head);
	b = slurp("t1", fname[OUT_F], &len);
	b[2 * 112 + 50] ^= 1;
	spit("t1", fname[OUT_F], b, len);
	free(b);
	expect_broken("t1", head, 6, "hash mismatch", "one bit of output");

	/* Events: START (12+1+12), then input frames of 23 bytes. */
	make_sample("t2", head);
	b = slurp("t2", fname[EV_F], &len);
	b[25 + 23 * 1 + 15] = 'Z';
	spit("t2", fname[EV_F], b, len);
	free(b);
	expect_broken("t2", head, 5, "hash mismatch", "one byte of input");

	/* A frame's time. */
	make_sample("t3", head);
	b = slurp("t3", fname[OUT_F], &len);
	b[112 * 4 + 4] ^= 0x10;
	spit("t3", fname[OUT_F], b, len);
	free(b);
	expect_broken("t3", head, 10, "hash mismatch", "a frame's time");

	make_sample("t4", head);
	b = slurp("t4", fname[OUT_F], &len);
	spit("t4", fname[OUT_F], b, len - 30);
	free(b);
	expect_broken("t4", head, 10, "truncated", "truncated output");

	/* Cutting the seal off, and with it the head's chunk. */
	make_sample("t5", head);
	b = slurp("t5", fname[CHAIN_F], &len);
	spit("t5", fname[CHAIN_F], b, len - 72);
	free(b);
	expect_broken("t5", head, 12, "head names chunk 12",
	    "the seal record cut off");
	is_int(hoop_rec_verify(recs, "t5", NULL, &vr), HOOP_OK,
	    "without the head it reads as a killed writer's");
	ok(!vr.sealed && vr.chunks == 11 && vr.unsealed_bytes == 13,
	    "unsealed, 13 bytes after chunk 11 (%lu)",
	    (unsigned long)vr.unsealed_bytes);

	/* Cut the recording back to chunk 7, chain and data alike. */
	make_sample("t6", head);
	b = slurp("t6", fname[CHAIN_F], &len);
	spit("t6", fname[CHAIN_F], b, 7 * 72);
	free(b);
	b = slurp("t6", fname[OUT_F], &len);
	spit("t6", fname[OUT_F], b, 3 * 112);
	free(b);
	b = slurp("t6", fname[EV_F], &len);
	spit("t6", fname[EV_F], b, 25 + 3 * 23);
	free(b);
	is_int(hoop_rec_verify(recs, "t6", NULL, &vr), HOOP_OK,
	    "a clean truncation is consistent in itself");
	expect_broken("t6", head, 8, "the chain ends at chunk 7",
	    "a clean truncation, against the head");

	/* Delete chain record 4. */
	make_sample("t7", head);
	b = slurp("t7", fname[CHAIN_F], &len);
	memmove(b + 3 * 72, b + 4 * 72, len - 4 * 72);
	spit("t7", fname[CHAIN_F], b, len - 72);
	free(b);
	expect_broken("t7", head, 4, "sequence number 5",
	    "a deleted chain record");

	/* Swap chain records 5 and 6. */
	make_sample("t8", head);
	b = slurp("t8", fname[CHAIN_F], &len);
	memcpy(tmp, b + 4 * 72, 72);
	memcpy(b + 4 * 72, b + 5 * 72, 72);
	memcpy(b + 5 * 72, tmp, 72);
	spit("t8", fname[CHAIN_F], b, len);
	free(b);
	expect_broken("t8", head, 5, "sequence number 6",
	    "swapped chain records");

	/* Swap two output frames (same size): the data reordered. */
	make_sample("t9", head);
	b = slurp("t9", fname[OUT_F], &len);
	{
		unsigned char f[112];

		memcpy(f, b + 112, 112);
		memcpy(b + 112, b + 3 * 112, 112);
		memcpy(b + 3 * 112, f, 112);
	}
	spit("t9", fname[OUT_F], b, len);
	free(b);
	expect_broken("t9", head, 4, "hash mismatch", "swapped output frames");

	/* Delete an output frame: everything after it moves. */
	make_sample("t10", head);
	b = slurp("t10", fname[OUT_F], &len);
	memmove(b + 2 * 112, b + 3 * 112, len - 3 * 112);
	spit("t10", fname[OUT_F], b, len - 112);
	free(b);
	expect_broken("t10", head, 6, "hash mismatch", "a deleted frame");

	/* Renumber after deleting a chunk: the hashes still chain wrong. */
	make_sample("t11", head);
	b = slurp("t11", fname[CHAIN_F], &len);
	memmove(b + 3 * 72, b + 4 * 72, len - 4 * 72);
	for (size_t k = 3; k < len / 72 - 1; k++) {
		b[k * 72 + 8] = (unsigned char)(k + 1);
	}
	spit("t11", fname[CHAIN_F], b, len - 72);
	free(b);
	expect_broken("t11", head, 4, "hash mismatch",
	    "a deleted record, the rest renumbered");

	make_sample("t12", head);
	b = slurp("t12", fname[OUT_F], &len);
	b = realloc(b, len + 5);
	memcpy(b + len, "extra", 5);
	spit("t12", fname[OUT_F], b, len + 5);
	free(b);
	expect_broken("t12", head, 13, "data after the seal",
	    "data appended after the seal");

	/* The whole recording made anew under the same id. */
	make_sample("t13", head);
	{
		char cmd[1400];
		struct hoop_rec_options o;
		hoop_rec_t *rec = NULL;

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rec_path("t13", ""));
		(void)!system(cmd);
		opts_fake(&o);
		o.chunk_bytes = 0;
		hoop_rec_create_in(recs, "t13", &o, &rec);
		for (int i = 0; i < 10; i++)
			hoop_rec_output(rec, "forged", 6);
		hoop_rec_seal(rec, other);
		hoop_rec_free(rec);
	}
	expect_broken("t13", head, 12, "head's hash",
	    "a recording rewritten whole");
	/* Another session's files moved under this id. */
	/* head is still t13's first one. */
	make_sample("t14", other);
	expect_broken("t14", head, 12, "head's hash",
	    "another session's head");
	snprintf(path, sizeof(path), "%s", rec_path("t14", ""));
	ok(rename(path, rec_path("t14b", "")) == 0,
	    "rename a session directory");
	expect_broken("t14b", other, 1, "hash mismatch",
	    "a recording renamed to another id");

	make_sample("t15", head);
	unlink(rec_path("t15", fname[CHAIN_F]));
	expect_broken("t15", head, 1, "chain.hrec", "a deleted chain file");

	make_sample("t16", head);
	b = slurp("t16", fname[CHAIN_F], &len);
	b[5 * 72 + 16] += 1;	/* chunk 6's output end offset */
	spit("t16", fname[CHAIN_F], b, len);
	free(b);
	expect_broken("t16", head, 6, "hash mismatch",
	    "an edited chain record");

	is_int(hoop_rec_verify(recs, "t0", "12:00", &vr), HOOP_ERR_INVAL,
	    "a malformed head is refused");
	is_int(hoop_rec_verify(recs, "t0", "012:" "0000000000000000000000000000"
	    "000000000000000000000000000000000000", &vr), HOOP_ERR_INVAL,
	    "a head with a leading zero is refused");
	is_int(hoop_rec_verify(recs, "nosuch", NULL, &vr), HOOP_ERR_NOTFOUND,
	    "a missing recording is not found");
}

/* The child writes and checkpoints, then is killed; what it wrote stays
 * readable and verifiable. */
static void
test_killed(void)
{
	struct hoop_rec_verify_result vr;
	struct readback rb;
	int pfd[2], status;
	pid_t pid;
	size_t len;
	char c;

	ok(pipe(pfd) == 0, "pipe");
	if ((pid = fork()) == 0) {
		struct hoop_rec_options o;
		hoop_rec_t *rec = NULL;
		int i;

		close(pfd[0]);
		hoop_rec_options_init(&o);
		if (hoop_rec_create_in(recs, "killed", &o, &rec) != HOOP_OK)
			_exit(1);
		for (i = 0; i < 100; i++)
			hoop_rec_output(rec, "0123456789", 10);
		hoop_rec_checkpoint(rec);
		/* After the checkpoint: written, not yet chained. */
		hoop_rec_output(rec, "tail", 4);
		(void)!write(pfd[1], "x", 1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	ok(read(pfd[0], &c, 1) == 1, "writer ready");
	close(pfd[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "writer killed");
	is_int(hoop_rec_verify(recs, "killed", NULL, &vr), HOOP_OK,
	    "the killed writer's chain is intact");
	ok(!vr.sealed && vr.chunks == 2 && vr.unsealed_bytes == 16,
	    "unsealed, 2 chunks, the last write after them (%lu, %lu)",
	    (unsigned long)vr.chunks, (unsigned long)vr.unsealed_bytes);
	read_id("killed", &rb);
	ok(rb.err == HOOP_OK && rb.output_len == 1004 &&
	    memcmp(rb.output + 1000, "tail", 4) == 0,
	    "every byte written reads back (%zu)", rb.output_len);
	free(rb.output);

	/* Killed at a random moment of bulk output. */
	if ((pid = fork()) == 0) {
		struct hoop_rec_options o;
		hoop_rec_t *rec = NULL;
		static char bulk[4096];
		int i;

		memset(bulk, 'B', sizeof(bulk));
		hoop_rec_options_init(&o);
		if (hoop_rec_create_in(recs, "killed2", &o, &rec) != HOOP_OK)
			_exit(1);
		/* At most 64 MiB, should the kill come late. */
		for (i = 0; i < 16384; i++)
			hoop_rec_output(rec, bulk, sizeof(bulk));
		for (;;)
			pause();
	}
	usleep(50 * 1000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status), "bulk writer killed");
	is_int(hoop_rec_verify(recs, "killed2", NULL, &vr), HOOP_OK,
	    "its chain is intact (%lu chunks, %lu bytes after)",
	    (unsigned long)vr.chunks, (unsigned long)vr.unsealed_bytes);
	read_id("killed2", &rb);
	for (len = 0; len < rb.output_len && rb.output[len] == 'B'; len++)
		;
	ok((rb.err == HOOP_OK || rb.err == HOOP_ERR_REC_TRUNCATED) &&
	    rb.output_len > 0 && rb.output_len % 4096 == 0 &&
	    len == rb.output_len,
	    "its whole frames read back (%zu bytes) %s", rb.output_len,
	    rb.problem);
	free(rb.output);
}

/* What the child of a disk-full test found. */
struct full_result {
	int created, got_err, err, sticky, seal, verify, read_err, clean;
	unsigned long long written, readable;
};

static void
fill(const char *where, const char *id, struct full_result *res)
{
	struct hoop_rec_verify_result vr;
	struct hoop_rec_options o;
	struct readback rb;
	hoop_rec_t *rec = NULL;
	static char chunk[3000];
	hoop_err_t err = HOOP_OK;
	hoop_rec_reader_t *r = NULL;
	char head[HOOP_REC_HEAD_MAX];
	int i;

	memset(res, 0, sizeof(*res));
	memset(chunk, 'F', sizeof(chunk));
	hoop_rec_options_init(&o);
	o.chunk_bytes = 8192;
	if (hoop_rec_create_in(where, id, &o, &rec) != HOOP_OK)
		return;
	res->created = 1;
	for (i = 0; i < 100000 && err == HOOP_OK; i++) {
		if ((err = hoop_rec_output(rec, chunk, sizeof(chunk))) ==
		    HOOP_OK)
			res->written += sizeof(chunk);
	}
	res->got_err = err != HOOP_OK;
	res->err = err;
	res->sticky = hoop_rec_output(rec, "x", 1) == err &&
	    hoop_rec_note(rec, "x") == err;
	/* May fail on a full disk: then the prefix is what counts. */
	res->seal = hoop_rec_seal(rec, head);
	hoop_rec_free(rec);
	res->verify = hoop_rec_verify(where, id, res->seal == HOOP_OK ? head :
	    NULL, &vr);
	if (hoop_rec_reader_open(where, id, &r) == HOOP_OK) {
		read_all(r, &rb);
		res->read_err = rb.err;
		res->readable = rb.output_len;
		res->clean = rb.output_len % sizeof(chunk) == 0;
		free(rb.output);
		hoop_rec_reader_free(r);
	}
}

static void
report_full(const char *what, const struct full_result *res)
{
	ok(res->created, "%s: created", what);
	ok(res->got_err && res->err == HOOP_ERR_NOSPACE,
	    "%s: the write error is returned (%s after %llu bytes)", what,
	    hoop_strerror(res->err), res->written);
	ok(res->sticky, "%s: and every write after it fails", what);
	is_int(res->verify, HOOP_OK, "%s: what was written verifies "
	    "(seal: %s)", what, hoop_strerror(res->seal));
	ok(res->read_err == HOOP_OK && res->readable == res->written &&
	    res->clean, "%s: every acknowledged write reads back, no torn "
	    "frame (%llu)", what, res->readable);
}

static void
test_disk_full(void)
{
	struct full_result res;
	char where[400];
	int pfd[2], status;
	pid_t pid;

	/* RLIMIT_FSIZE: the output file hits the limit. */
	if (pipe(pfd) != 0)
		return;
	if ((pid = fork()) == 0) {
		struct rlimit rl = { 100 * 1024, 100 * 1024 };

		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		fill(recs, "fsize", &res);
		(void)!write(pfd[1], &res, sizeof(res));
		_exit(0);
	}
	close(pfd[1]);
	memset(&res, 0, sizeof(res));
	(void)!read(pfd[0], &res, sizeof(res));
	close(pfd[0]);
	waitpid(pid, &status, 0);
	report_full("RLIMIT_FSIZE", &res);
	is_int(res.seal, HOOP_OK, "RLIMIT_FSIZE: the small files still seal");

	/* A 64 KiB tmpfs in a private mount namespace. */
	snprintf(where, sizeof(where), "%s/tmpfs", dir);
	mkdir(where, 0755);
	if (pipe(pfd) != 0)
		return;
	if ((pid = fork()) == 0) {
		memset(&res, 0, sizeof(res));
		if (unshare(CLONE_NEWNS) != 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
		    mount("tmpfs", where, "tmpfs", 0, "size=64k,mode=0755")
		    != 0)
			_exit(3);
		fill(where, "full", &res);
		(void)!write(pfd[1], &res, sizeof(res));
		_exit(0);
	}
	close(pfd[1]);
	memset(&res, 0, sizeof(res));
	(void)!read(pfd[0], &res, sizeof(res));
	close(pfd[0]);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		ok(1, "# SKIP no private mount namespace (not root?)");
		return;
	}
	report_full("full tmpfs", &res);
}

static int
count_type(const char *types, char t)
{
	int n = 0;

	for (; *types != '\0'; types++)
		n += *types == t;
	return n;
}

static void
test_limit_end(void)
{
	struct hoop_rec_verify_result vr;
	struct hoop_rec_options o;
	struct readback rb;
	hoop_rec_t *rec = NULL;
	char head[HOOP_REC_HEAD_MAX], data[1000];
	hoop_err_t err = HOOP_OK;
	int i;

	memset(data, 'L', sizeof(data));
	opts_fake(&o);
	o.max_bytes = 10000;
	o.limit_policy = HOOP_REC_LIMIT_END;
	is_int(hoop_rec_create_in(recs, "lim1", &o, &rec), HOOP_OK, "create");
	for (i = 0; i < 100 && err == HOOP_OK; i++) {
		fake_now += 1000;
		err = hoop_rec_output(rec, data, sizeof(data));
	}
	is_int(err, HOOP_ERR_REC_LIMIT, "the limit ends the session (write %d)",
	    i);
	ok(hoop_rec_size(rec) <= 10000 + 100, "size %lu stays at the limit",
	    (unsigned long)hoop_rec_size(rec));
	ok(hoop_rec_input(rec, "x", 1) == HOOP_ERR_REC_LIMIT &&
	    hoop_rec_command(rec, &(struct hoop_rec_command){ .line = "ls" },
	    NULL) == HOOP_ERR_REC_LIMIT, "every later write is refused");
	is_int(hoop_rec_seal(rec, head), HOOP_OK, "seal after the limit");
	hoop_rec_free(rec);
	is_int(hoop_rec_verify(recs, "lim1", head, &vr), HOOP_OK, "verifies");
	read_id("lim1", &rb);
	ok(rb.err == HOOP_OK && count_type(rb.types, 'l') == 1 &&
	    rb.types[strlen(rb.types) - 2] == 'l', "a LIMIT frame before END");
	ok(rb.output_len == 1000u * (unsigned)(i - 1),
	    "output up to the limit kept (%zu)", rb.output_len);
	free(rb.output);
}

static void
test_limit_skip(void)
{
	struct hoop_rec_verify_result vr;
	struct hoop_rec_options o;
	struct hoop_rec_frame f;
	hoop_rec_reader_t *r = NULL;
	hoop_rec_t *rec = NULL;
	char head[HOOP_REC_HEAD_MAX], data[1000];
	unsigned char *buf;
	uint64_t size, skipped = 0;
	size_t len;
	hoop_err_t err = HOOP_OK;
	int i, pauses = 0, resumes = 0, inputs = 0, commands = 0;

	memset(data, 'K', sizeof(data));
	opts_fake(&o);
	o.max_bytes = 20000;
	o.limit_policy = HOOP_REC_LIMIT_SKIP;
	o.over_bytes = 30000;
	o.calm_rate = 1000;
	o.calm_burst = 4000;
	fake_now = 1700000300000000LL;
	is_int(hoop_rec_create_in(recs, "skip", &o, &rec), HOOP_OK, "create");
	/* Bulk: 1000 bytes each millisecond, 100 KB in all. */
	for (i = 0; i < 100 && err == HOOP_OK; i++) {
		fake_now += 1000;
		err = hoop_rec_output(rec, data, sizeof(data));
	}
	is_int(err, HOOP_OK, "bulk past the limit goes on");
	size = hoop_rec_size(rec);
	ok(size > 19000 && size < 21000, "the recording stopped at the limit "
	    "(%lu)", (unsigned long)size);
	/* Keystrokes and commands still get recorded while output is off. */
	fake_now += 200000;
	ok(hoop_rec_input(rec, "q", 1) == HOOP_OK &&
	    hoop_rec_command(rec, &(struct hoop_rec_command){ .line = "ls",
	    .decision = "allow" }, NULL) == HOOP_OK, "input and a command");
	/* Still bulk: skipped. */
	fake_now += 1000;
	is_int(hoop_rec_output(rec, data, sizeof(data)), HOOP_OK, "more bulk");
	/* Calm: the meter drains (4000 bytes at 1000/s), then small output
	 * is recorded again. */
	fake_now += 5 * 1000000;
	is_int(hoop_rec_output(rec, "prompt$ ", 8), HOOP_OK,
	    "output after a calm");
	for (i = 0; i < 5; i++) {
		fake_now += 300000;
		hoop_rec_input(rec, "l", 1);
		hoop_rec_output(rec, "l", 1);
	}
	size = hoop_rec_size(rec);
	/* A second bulk pauses again. */
	for (i = 0; i < 20; i++) {
		fake_now += 1000;
		hoop_rec_output(rec, data, sizeof(data));
	}
	ok(hoop_rec_size(rec) - size < 5000 + 300,
	    "a second bulk is cut after one burst (%lu bytes)",
	    (unsigned long)(hoop_rec_size(rec) - size));
	is_int(hoop_rec_seal(rec, head), HOOP_OK, "seal");
	hoop_rec_free(rec);
	is_int(hoop_rec_verify(recs, "skip", head, &vr), HOOP_OK, "verifies");

	is_int(hoop_rec_reader_open(recs, "skip", &r), HOOP_OK, "reader");
	while ((err = hoop_rec_next(r, &f)) == HOOP_OK &&
	    f.type != HOOP_REC_EOF) {
		if (f.type == HOOP_REC_PAUSE && f.u.pause.direction == 0)
			pauses++;
		if (f.type == HOOP_REC_RESUME && f.u.pause.direction == 0) {
			resumes++;
			skipped = f.u.pause.skipped;
		}
		inputs += f.type == HOOP_REC_INPUT;
		commands += f.type == HOOP_REC_COMMAND;
	}
	hoop_rec_reader_free(r);
	is_int(err, HOOP_OK, "reads cleanly");
	is_int(pauses, 2, "two PAUSE frames");
	is_int(resumes, 1, "one RESUME frame");
	ok(skipped >= 81000 && skipped <= 82000, "RESUME counts the bytes "
	    "skipped (%lu)", (unsigned long)skipped);
	is_int(inputs, 6, "every keystroke recorded past the limit");
	is_int(commands, 1, "the command recorded past the limit");
	buf = slurp("skip", HOOP_REC_OUTPUT_FILE, &len);
	ok(contains(buf, len, "[hoop: recording size limit reached") &&
	    contains(buf, len, "bytes of output not recorded (size limit)]"),
	    "notices in output.ttyrec for ttyplay");
	free(buf);

	/* The hard cap ends it even in skip mode. */
	opts_fake(&o);
	o.max_bytes = 2000;
	o.limit_policy = HOOP_REC_LIMIT_SKIP;
	o.over_bytes = 1000;
	is_int(hoop_rec_create_in(recs, "skip2", &o, &rec), HOOP_OK, "create");
	err = HOOP_OK;
	for (i = 0; i < 1000 && err == HOOP_OK; i++) {
		fake_now += 1000;
		if ((err = hoop_rec_output(rec, data, 100)) == HOOP_OK)
			err = hoop_rec_note(rec, "event");
	}
	is_int(err, HOOP_ERR_REC_LIMIT, "events past max + over end the "
	    "session");
	ok(hoop_rec_size(rec) <= 3000 + 100, "size %lu",
	    (unsigned long)hoop_rec_size(rec));
	is_int(hoop_rec_seal(rec, head), HOOP_OK, "seal");
	hoop_rec_free(rec);
	is_int(hoop_rec_verify(recs, "skip2", head, &vr), HOOP_OK, "verifies");
}

/* Builds a frame into buf; returns its size. */
static size_t
frame(unsigned char *buf, uint32_t sec, uint32_t usec, int type,
    const void *payload, size_t len)
{
	size_t h = type >= 0 ? 13 : 12;
	uint32_t flen = (uint32_t)(len + (type >= 0));
	int i;

	for (i = 0; i < 4; i++) {
		buf[i] = (unsigned char)(sec >> (8 * i));
		buf[4 + i] = (unsigned char)(usec >> (8 * i));
		buf[8 + i] = (unsigned char)(flen >> (8 * i));
	}
	if (type >= 0)
		buf[12] = (unsigned char)type;
	memcpy(buf + h, payload, len);
	return h + len;
}

static size_t
start_frame(unsigned char *buf, uint32_t sec)
{
	return frame(buf, sec, 0, 'S', "hoop-rec\x01\x01id", 12);
}

/* Reads from memory; returns the final status and the problem text. */
static hoop_err_t
read_mem(const void *out, size_t olen, const void *ev, size_t elen,
    struct readback *rb)
{
	hoop_rec_reader_t *r = NULL;

	memset(rb, 0, sizeof(*rb));
	if (hoop_rec_reader_open_mem(out, olen, ev, elen, &r) != HOOP_OK)
		return HOOP_ERR_NOMEM;
	read_all(r, rb);
	hoop_rec_reader_free(r);
	free(rb->output);
	rb->output = NULL;
	return rb->err;
}

static void
test_reader_errors(void)
{
	unsigned char out[256], ev[256];
	size_t o = 0, e = 0;
	struct readback rb;

	e = start_frame(ev, 10);
	o = frame(out, 10, 5, -1, "hi", 2);
	o += frame(out + o, 11, 0, -1, "there", 5);
	e += frame(ev + e, 10, 5, 'i', "x", 1);
	is_int(read_mem(out, o, ev, e, &rb), HOOP_OK, "well-formed");
	ok(strcmp(rb.types, "Si") == 0 && rb.frames == 4,
	    "equal times: the event comes first (%s)", rb.types);

	is_int(read_mem(out, o - 2, ev, e, &rb), HOOP_ERR_REC_TRUNCATED,
	    "a cut output frame is reported");
	ok(rb.frames == 3 && strstr(rb.problem, "output.ttyrec: offset 14: "
	    "truncated final frame: 3 of 5 bytes") != NULL,
	    "after every whole frame, with the offset: %s", rb.problem);
	is_int(read_mem(out, 20, ev, e, &rb), HOOP_ERR_REC_TRUNCATED,
	    "a cut header");
	ok(rb.frames == 3 && strstr(rb.problem, "header of 6 of 12") != NULL,
	    "%s", rb.problem);

	/* A length beyond the limit, in the middle of the output. */
	out[14 + 8] = 0xff;
	out[14 + 11] = 0x7f;
	is_int(read_mem(out, o, ev, e, &rb), HOOP_ERR_REC_FORMAT,
	    "a huge length is garbage");
	ok(strstr(rb.problem, "offset 14: frame length 2130706687 over the "
	    "limit") != NULL, "%s", rb.problem);
	out[14 + 8] = 5;
	out[14 + 11] = 0;
	out[14 + 4] = 0x40;
	out[14 + 5] = 0x42;
	out[14 + 6] = 0x0f;
	is_int(read_mem(out, o, ev, e, &rb), HOOP_ERR_REC_FORMAT,
	    "microseconds of a million are garbage");
	out[14 + 4] = out[14 + 5] = out[14 + 6] = 0;

	is_int(read_mem(out, o, ev + 25, e - 25, &rb), HOOP_ERR_REC_FORMAT,
	    "events without START");
	ok(strstr(rb.problem, "events.hrec: offset 0: does not start with "
	    "START") != NULL, "%s", rb.problem);
	is_int(read_mem(out, o, "", 0, &rb), HOOP_ERR_REC_FORMAT,
	    "empty events");
	e = start_frame(ev, 10);
	e += frame(ev + e, 10, 6, 'Q', "", 0);
	is_int(read_mem(NULL, 0, ev, e, &rb), HOOP_ERR_REC_FORMAT,
	    "an unknown type");
	ok(strstr(rb.problem, "offset 25: bad frame of type 0x51") != NULL,
	    "%s", rb.problem);
	e = start_frame(ev, 10);
	e += frame(ev + e, 10, 6, 'w', "\x18\x00\x50", 3);
	is_int(read_mem(NULL, 0, ev, e, &rb), HOOP_ERR_REC_FORMAT,
	    "a short window size");
	e = start_frame(ev, 10);
	e += frame(ev + e, 10, 6, 'c', "\x01\0\0\0" "\x02\0\0\0" "ls"
	    "\0\0\0\0" "\0\0\0\0" "\x09\0\0\0", 22);
	is_int(read_mem(NULL, 0, ev, e, &rb), HOOP_ERR_REC_FORMAT,
	    "a command string running past its frame");
	e = start_frame(ev, 10);
	e += frame(ev + e, 10, 6, 'c', "\x01\0\0\0" "\x02\0\0\0" "ls"
	    "\0\0\0\0" "\0\0\0\0" "\0\0\0\0", 22);
	is_int(read_mem(NULL, 0, ev, e, &rb), HOOP_OK, "a good command");
	e += frame(ev + e, 10, 7, 'z', "", 0);
	e += frame(ev + e, 10, 8, 'n', "late", 4);
	is_int(read_mem(NULL, 0, ev, e, &rb), HOOP_ERR_REC_FORMAT,
	    "a frame after END");
	e = start_frame(ev, 10);
	e += start_frame(ev + e, 11);
	is_int(read_mem(NULL, 0, ev, e, &rb), HOOP_ERR_REC_FORMAT,
	    "a second START");
	e = frame(ev, 10, 0, 'S', "hoop-rec\x02\x01id", 12);
	is_int(read_mem(NULL, 0, ev, e, &rb), HOOP_ERR_REC_FORMAT,
	    "an unknown version");
	e = frame(ev, 10, 0, 'S', "hoop-rec\x01\x01../x", 14);
	is_int(read_mem(NULL, 0, ev, e, &rb), HOOP_ERR_REC_FORMAT,
	    "a START with a bad session id");
	e = start_frame(ev, 10);
	e += frame(ev + e, 10, 1, -1, "", 0);
	is_int(read_mem(NULL, 0, ev, e, &rb), HOOP_ERR_REC_FORMAT,
	    "an events frame without a type byte");
	/* Garbage in one stream: the other is still read to its end. */
	e = start_frame(ev, 10);
	e += frame(ev + e, 30, 0, 'n', "later", 5);
	o = frame(out, 20, 0, -1, "ok", 2);
	memcpy(out + o, "garbage!garbage!", 16);
	is_int(read_mem(out, o + 16, ev, e, &rb), HOOP_ERR_REC_FORMAT,
	    "garbage after an output frame");
	ok(rb.frames == 3, "the events after it are still returned (%zu)",
	    rb.frames);
}

/* ttyplay (Debian package ttyrec) plays output.ttyrec as it is. */
static void
test_ttyplay(void)
{
	struct hoop_rec_options o;
	hoop_rec_t *rec = NULL;
	char cmd[1400], *played = NULL;
	const char *text = "hello\r\n\033[1mworld\033[0m\r\n";
	size_t len = 0;
	int i;

	if (access("/usr/bin/ttyplay", X_OK) != 0) {
		ok(1, "# SKIP ttyplay not installed (Debian package ttyrec)");
		return;
	}
	opts_fake(&o);
	o.max_frame = 4;
	is_int(hoop_rec_create_in(recs, "play", &o, &rec), HOOP_OK, "create");
	for (i = 0; (size_t)i < strlen(text); i += 3) {
		fake_now += 1000;
		hoop_rec_output(rec, text + i, strnlen(text + i, 3));
	}
	hoop_rec_seal(rec, NULL);
	hoop_rec_free(rec);
	snprintf(cmd, sizeof(cmd), "ttyplay -n '%s' </dev/null >'%s/played' "
	    "2>/dev/null", rec_path("play", HOOP_REC_OUTPUT_FILE), dir);
	(void)!system(cmd);
	snprintf(cmd, sizeof(cmd), "%s/played", dir);
	hoop_read_file(cmd, 4096, &played, &len);
	ok(played != NULL && len == strlen(text) && memcmp(played, text,
	    len) == 0, "ttyplay -n plays it back byte for byte (%zu bytes)",
	    len);
	free(played);
}

int
main(void)
{
	char cmd[400];

	hoop_log_init("test_recording", LOG_USER, HOOP_LOG_NO_SYSLOG);
	umask(022);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(recs, sizeof(recs), "%s/recordings", dir);
	if (mkdir(recs, 0750) != 0)
		return 1;
	test_create();
	test_layout();
	test_split();
	test_round_trip();
	test_input_off();
	test_tamper();
	test_killed();
	test_disk_full();
	test_limit_end();
	test_limit_skip();
	test_reader_errors();
	test_ttyplay();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
	return done_testing();
}
