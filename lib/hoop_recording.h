/*
 * Session recordings: the writer hoop-shell records a session with, the
 * seal (a hash chain over chunks) and its verification, and the reader
 * that replay, grep and export walk.
 *
 * A recording is a directory RECORDINGS_DIR/SESSION_ID holding three
 * files (all integers little-endian):
 *
 *   output.ttyrec  what the terminal (or stdout and stderr) showed, in
 *                  plain ttyrec: per frame a 12-byte header (uint32
 *                  tv_sec, uint32 tv_usec, uint32 length) and length
 *                  bytes. ttyplay plays it as it is.
 *   events.hrec    everything else on the same clock: frames with the
 *                  same 12-byte header, whose length counts a 1-byte
 *                  type and the payload after it. The first frame is
 *                  START, the last (once sealed) END. Types and payloads
 *                  are listed at enum hoop_rec_type.
 *   chain.hrec     the seal: one 72-byte record per chunk (see
 *                  recording.c), each hash covering the previous one.
 *
 * Frame times are strictly increasing over both streams together, so
 * merging the two by time gives the order in which things were recorded.
 */
#ifndef HOOP_RECORDING_H
#define HOOP_RECORDING_H

#include <stddef.h>
#include <stdint.h>

#include "hoop_config.h"
#include "hoop_err.h"

typedef struct hoop_rec hoop_rec_t;
typedef struct hoop_rec_reader hoop_rec_reader_t;

#define HOOP_REC_OUTPUT_FILE	"output.ttyrec"
#define HOOP_REC_EVENTS_FILE	"events.hrec"
#define HOOP_REC_CHAIN_FILE	"chain.hrec"

#define HOOP_REC_HEADER_SIZE	12
/* No frame in either stream is longer; readers refuse longer ones. */
#define HOOP_REC_MAX_FRAME	(1024 * 1024)
#define HOOP_REC_MAX_SESSION_ID	128
/* "N:HEX": chunk count, ':', SHA-256 of the last chunk in hex. */
#define HOOP_REC_HEAD_MAX	(20 + 1 + 64 + 1)

/* What a size limit does once reached (see hoop_rec_options). */
enum hoop_rec_limit_policy {
	HOOP_REC_LIMIT_END,	/* HOOP_ERR_REC_LIMIT: end the session */
	HOOP_REC_LIMIT_SKIP,	/* stop recording bulk data, with markers */
};

struct hoop_rec_options {
	/* 0: input is never recorded (the identity's choice); START says
	 * so. Default 1. */
	int record_input;
	/*
	 * Size limit in bytes on disk (all three files), 0: none.
	 * LIMIT_END: the write that would pass it is not recorded, a LIMIT
	 * frame is, and it and every later write return HOOP_ERR_REC_LIMIT.
	 * LIMIT_SKIP: past max_bytes, output and input are each recorded
	 * only while they are calm: a meter per direction adds the bytes
	 * seen (recorded or not) and drains at calm_rate bytes per second;
	 * data that would take it over calm_burst is not recorded, and a
	 * PAUSE frame (plus a visible notice in output.ttyrec for output)
	 * says so; recording resumes with a RESUME frame (bytes skipped)
	 * at the first data after the meter has drained to calm_burst / 2.
	 * Below max_bytes everything is recorded at full speed; interactive
	 * use stays under the meter and goes on being recorded. Events
	 * (commands, exits, window sizes, markers) are always recorded.
	 * Nothing passes max_bytes + over_bytes: data that would is skipped
	 * likewise, and an event or marker that would ends the session as
	 * LIMIT_END does. Limits count a chain record's room with every
	 * write; the LIMIT and END frames and their chain records (under
	 * 200 bytes) go past them.
	 */
	uint64_t max_bytes;
	enum hoop_rec_limit_policy limit_policy;
	uint64_t over_bytes;	/* default max_bytes / 4, at least 1 MiB */
	uint32_t calm_rate;	/* bytes per second; default 4096 */
	uint32_t calm_burst;	/* bytes; default 64 KiB */
	/* Larger writes are split into frames of at most this many bytes
	 * (payload); default 64 KiB, at most HOOP_REC_MAX_FRAME. */
	uint32_t max_frame;
	/*
	 * Chunks: a chunk ends (one chain record written) after an event,
	 * once it holds chunk_bytes of data, or once it is chunk_ms old
	 * (checked at each write; hoop_rec_checkpoint ends one when idle).
	 * A killed writer leaves every frame written (data is never held
	 * in memory) and a chain intact up to the last chunk ended.
	 * chunk_bytes 0: every write ends a chunk. Defaults 64 KiB, 1000.
	 */
	uint32_t chunk_bytes;
	uint32_t chunk_ms;
	/* Wall clock in microseconds since the epoch; NULL: the real one.
	 * For tests. */
	int64_t (*clock)(void *arg);
	void *clock_arg;
};

/* Fills in the defaults. */
void hoop_rec_options_init(struct hoop_rec_options *opts);

/*
 * Creates the recording of session_id (letters, digits, '.', '_', '-',
 * not starting with '.', at most HOOP_REC_MAX_SESSION_ID) in the
 * configuration's recordings directory: the only place a recording is
 * written, never a path from the environment. The directory is reached
 * without following any symlink (every component is opened O_NOFOLLOW;
 * use bind mounts, not symlinks, to move it) and must not be
 * world-writable; its last component is created (0770) if missing. The
 * session directory (0750) and files (0640, the process's effective
 * group) are created exclusively: an existing name, symlink or not, is
 * HOOP_ERR_EXISTS. opts NULL: defaults.
 */
hoop_err_t hoop_rec_create(const hoop_config_t *cfg, const char *session_id,
    const struct hoop_rec_options *opts, hoop_rec_t **out);
/* The same in a directory the caller names (tests and tools). */
hoop_err_t hoop_rec_create_in(const char *recordings_dir,
    const char *session_id, const struct hoop_rec_options *opts,
    hoop_rec_t **out);

/*
 * Writing. Every call writes through to the files at once. Fail closed:
 * any error (HOOP_ERR_NOSPACE, HOOP_ERR_IO, HOOP_ERR_REC_LIMIT) is
 * returned by that call and by every later one, and the caller must end
 * the session without passing on what it could not record; a frame cut
 * short by the error is cut off the file, so the recording stays a clean
 * prefix. Record output before showing it to the user. Ignore SIGXFSZ,
 * so that a file size limit is an error here and not a killed process.
 */
hoop_err_t hoop_rec_output(hoop_rec_t *rec, const void *buf, size_t len);
/* Keystrokes or piped stdin. Dropped while echo is off: the first drop
 * of each echo-off period writes an INPUT_WITHHELD frame instead. */
hoop_err_t hoop_rec_input(hoop_rec_t *rec, const void *buf, size_t len);
/* The caller tells the writer when the terminal stops or starts echoing
 * (a password prompt: ECHO off with ICANON on; readline turns off both
 * and echoes itself, which is not "echo off"). Writes an ECHO frame
 * when the state changes. Recordings start with echo on. */
hoop_err_t hoop_rec_echo(hoop_rec_t *rec, int echo_on);
hoop_err_t hoop_rec_winsize(hoop_rec_t *rec, uint16_t rows, uint16_t cols);

/* A command and the policy decision on it. Strings may be NULL (empty). */
struct hoop_rec_command {
	const char *line;	/* as the user gave it */
	const char *decision;	/* allow, deny, approve, error */
	const char *rule;
	const char *reason;
};
/* *id_out (may be NULL) numbers the command from 1, for hoop_rec_exit. */
hoop_err_t hoop_rec_command(hoop_rec_t *rec,
    const struct hoop_rec_command *cmd, uint32_t *id_out);
/* A command's end, from a waitpid() status. */
hoop_err_t hoop_rec_exit(hoop_rec_t *rec, uint32_t id, int wait_status);
/* A line for the auditor ("session ended: idle timeout"). */
hoop_err_t hoop_rec_note(hoop_rec_t *rec, const char *text);
/* Ends the current chunk now (call when idle). */
hoop_err_t hoop_rec_checkpoint(hoop_rec_t *rec);
/* The head of the chain so far (chunk 1, START, ends in create). */
void hoop_rec_head(const hoop_rec_t *rec, char head[HOOP_REC_HEAD_MAX]);
/* Bytes on disk in all three files. */
uint64_t hoop_rec_size(const hoop_rec_t *rec);

/*
 * Writes END and the final chunk, flagged sealed, syncs the files and
 * gives the head to keep in the store's sessions row. Allowed after a
 * limit or write error (it may fail again on a full disk: the recording
 * then stays unsealed, intact up to its last chunk). Nothing can be
 * written after it.
 */
hoop_err_t hoop_rec_seal(hoop_rec_t *rec, char head[HOOP_REC_HEAD_MAX]);
/* Closes the files. An unsealed recording stays unsealed (its current
 * chunk is ended first, when that still works). NULL is fine. */
void hoop_rec_free(hoop_rec_t *rec);

/*
 * Verification. Reads the chain and both streams and reports the first
 * broken chunk: edited or reordered data (hash mismatch), a deleted or
 * moved chain record (sequence), truncated data, trailing data after the
 * seal. head (NULL: none) is what hoop_rec_seal gave: chunk N must carry
 * that hash, and if it is the sealed one nothing may follow, so that
 * truncating or replacing the whole recording is caught as well. Without
 * a head only the chain's own consistency can be checked.
 * HOOP_OK when intact, HOOP_ERR_REC_BROKEN with result filled otherwise.
 */
struct hoop_rec_verify_result {
	uint64_t chunks;		/* chunks found intact */
	uint64_t broken_chunk;		/* first broken chunk (from 1), 0 none */
	int sealed;
	uint64_t output_bytes;		/* covered by the intact chunks */
	uint64_t events_bytes;
	uint64_t unsealed_bytes;	/* data after the last chunk */
	char head[HOOP_REC_HEAD_MAX];	/* of the last intact chunk */
	char problem[192];
};
hoop_err_t hoop_rec_verify(const char *recordings_dir, const char *session_id,
    const char *head, struct hoop_rec_verify_result *result);
/* The same over buffers (fuzzing). */
hoop_err_t hoop_rec_verify_mem(const char *session_id,
    const void *output, size_t output_len, const void *events,
    size_t events_len, const void *chain, size_t chain_len,
    const char *head, struct hoop_rec_verify_result *result);

/*
 * Reading: frames of both streams merged by time (equal times: events
 * first). Every length is checked against HOOP_REC_MAX_FRAME and the
 * data actually there; payloads are checked against their type.
 */
enum hoop_rec_type {
	HOOP_REC_EOF = 0,		/* no more frames */
	HOOP_REC_OUTPUT = 'O',		/* output.ttyrec: bytes shown */
	/* events.hrec; payload after the type byte: */
	HOOP_REC_START = 'S',		/* "hoop-rec" u8 version(1) u8 flags
					 * (1: input recorded) session id */
	HOOP_REC_INPUT = 'i',		/* bytes typed or piped */
	HOOP_REC_WINSIZE = 'w',		/* u16 rows, u16 cols */
	HOOP_REC_ECHO = 'e',		/* u8 1 on, 0 off */
	HOOP_REC_INPUT_WITHHELD = 'h',	/* empty: input dropped, echo off */
	HOOP_REC_COMMAND = 'c',		/* u32 id, then 4 strings, each u32
					 * length + bytes: line, decision,
					 * rule, reason */
	HOOP_REC_EXIT = 'x',		/* u32 id, u8 0 exited / 1 signal,
					 * u32 exit code or signal number */
	HOOP_REC_PAUSE = 'p',		/* u8 direction (0 output, 1 input):
					 * recording of it stops (limit) */
	HOOP_REC_RESUME = 'r',		/* u8 direction, u64 bytes skipped */
	HOOP_REC_LIMIT = 'l',		/* u64 limit: the session is ended */
	HOOP_REC_NOTE = 'n',		/* text */
	HOOP_REC_END = 'z',		/* empty: sealed here */
};

enum hoop_rec_stream {
	HOOP_REC_STREAM_OUTPUT,
	HOOP_REC_STREAM_EVENTS,
};

/* Bytes from the file, not NUL-terminated, possibly not UTF-8. */
struct hoop_rec_str {
	const char *ptr;
	size_t len;
};

struct hoop_rec_frame {
	enum hoop_rec_type type;
	enum hoop_rec_stream stream;
	uint64_t offset;		/* of the header in its file */
	int64_t time_us;
	const unsigned char *data;	/* payload after the type byte */
	size_t len;
	union {				/* decoded payload, by type */
		struct {
			unsigned version, flags;
			struct hoop_rec_str session_id;
		} start;
		struct { uint16_t rows, cols; } winsize;
		struct { int on; } echo;
		struct {
			uint32_t id;
			struct hoop_rec_str line, decision, rule, reason;
		} command;
		struct {
			uint32_t id;
			int signaled;
			uint32_t value;
		} exit;
		struct {
			unsigned direction;
			uint64_t skipped;	/* RESUME */
		} pause;
		struct { uint64_t limit; } limit;
	} u;
};

/* Opens RECORDINGS_DIR/SESSION_ID (no symlinks followed) for reading. */
hoop_err_t hoop_rec_reader_open(const char *recordings_dir,
    const char *session_id, hoop_rec_reader_t **out);
/* Over buffers, which must outlive the reader (fuzzing, tests). */
hoop_err_t hoop_rec_reader_open_mem(const void *output, size_t output_len,
    const void *events, size_t events_len, hoop_rec_reader_t **out);
/*
 * The next frame; its data stays valid until the next call. At the end:
 * HOOP_OK with type HOOP_REC_EOF. HOOP_ERR_REC_TRUNCATED: a stream ends
 * inside a frame (a writer killed mid-write, a truncated file);
 * HOOP_ERR_REC_FORMAT: garbage. Either comes once every whole frame
 * before it, and the rest of the other stream, has been returned, and
 * is final; hoop_rec_reader_problem says which file and offset.
 */
hoop_err_t hoop_rec_next(hoop_rec_reader_t *reader,
    struct hoop_rec_frame *frame);
/* "events.hrec: offset 1234: ..." after an error, else "". */
const char *hoop_rec_reader_problem(const hoop_rec_reader_t *reader);
void hoop_rec_reader_free(hoop_rec_reader_t *reader);

#endif
