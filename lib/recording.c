/*
 * Session recordings: writer, seal, verification, reader.
 *
 * Files (hoop_recording.h has the overview):
 *
 * output.ttyrec: ttyrec frames, the header being uint32 tv_sec, uint32
 * tv_usec, uint32 length (little-endian), then length bytes of output.
 *
 * events.hrec: the same header, length counting a type byte and the
 * payload after it (enum hoop_rec_type lists payloads). START comes
 * first: "hoop-rec", version 1, flags (1: input recorded), session id.
 *
 * chain.hrec: 72-byte records, one per chunk:
 *   0  "hrc1"
 *   4  u32 flags (1: sealed, the last chunk)
 *   8  u64 sequence number, from 1
 *  16  u64 output.ttyrec offset where the chunk ends
 *  24  u64 events.hrec offset where the chunk ends
 *  32  i64 time of the chunk's last frame (microseconds)
 *  40  32-byte hash = SHA-256("hoop-rec-chunk-v1\0" || previous hash ||
 *      bytes 0..39 of this record || SHA-256(the chunk's output bytes)
 *      || SHA-256(the chunk's events bytes))
 * A chunk starts where the previous one ended (at 0 for chunk 1), whose
 * previous hash is SHA-256("hoop-rec-genesis-v1\0" || session id). The
 * head is "N:HASH" of the last chunk. Chunks end on whole frames.
 *
 * Every frame is written with one writev straight to its file and a
 * chain record as soon as a chunk ends, so a killed writer leaves whole
 * frames and a chain intact up to its last record; the bytes after it
 * are reported as unsealed by verification.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hoop_recording.h"
#include "hoop_util.h"
#include "recording_internal.h"

#define REC_MAGIC	"hoop-rec"
#define REC_MAGIC_LEN	8
#define REC_VERSION	1
#define REC_F_INPUT	1u
#define CHAIN_MAGIC	"hrc1"
#define CHAIN_F_SEALED	1u
#define CHUNK_DOMAIN	"hoop-rec-chunk-v1"
#define GENESIS_DOMAIN	"hoop-rec-genesis-v1"

#define S_OUT	0		/* streams, and the files' index */
#define S_EV	1
#define S_CHAIN	2
#define NFILES	3

#define DIR_OUTPUT	0	/* directions of the limit meter */
#define DIR_INPUT	1

/* Frames per writev: 2 iovecs each, well under IOV_MAX. */
#define BATCH		64
#define READ_BLOCK	(64 * 1024)

static const char *const file_names[NFILES] = {
	HOOP_REC_OUTPUT_FILE, HOOP_REC_EVENTS_FILE, HOOP_REC_CHAIN_FILE,
};

/* The limit meter of one direction (LIMIT_SKIP). */
struct meter {
	uint64_t level;		/* bytes seen, drained at calm_rate */
	int64_t last_us;
	int paused;
	uint64_t skipped;
};

struct hoop_rec {
	int dirfd;
	int fd[NFILES];
	uint64_t size[NFILES];
	struct hoop_rec_options o;
	char session_id[HOOP_REC_MAX_SESSION_ID + 1];
	hoop_err_t failed;	/* sticky: every later write returns it */
	int broken_tail;	/* a cut frame could not be cut off */
	int sealed;
	int64_t last_us;	/* time of the last frame written */
	/* The open chunk. */
	EVP_MD_CTX *md[2];
	uint64_t chunk_data;
	int64_t chunk_t0;
	uint64_t seq;
	unsigned char prev[32];
	int echo_off;
	int withheld_marked;
	uint32_t commands;
	struct meter meter[2];
};

/* ---- small helpers ---- */

static void
put_le16(unsigned char *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static void
put_le64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static uint16_t
get_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static hoop_err_t
errno_err(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return HOOP_ERR_NOSPACE;
	case ENOMEM:
		return HOOP_ERR_NOMEM;
	case EACCES:
	case EPERM:
	case EROFS:
	case ELOOP:		/* a symlink where O_NOFOLLOW refuses one */
		return HOOP_ERR_PERM;
	case ENOENT:
		return HOOP_ERR_NOTFOUND;
	case EEXIST:
		return HOOP_ERR_EXISTS;
	default:
		return HOOP_ERR_IO;
	}
}

static int
valid_session_id(const char *id)
{
	size_t i;

	if (id == NULL || id[0] == '\0' || id[0] == '.')
		return 0;
	for (i = 0; id[i] != '\0'; i++) {
		if (i >= HOOP_REC_MAX_SESSION_ID)
			return 0;
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') ||
		    id[i] == '.' || id[i] == '_' || id[i] == '-'))
			return 0;
	}
	return 1;
}

/*
 * Opens a directory without following a symlink anywhere on the way:
 * each component with O_NOFOLLOW from the one before. With create_last,
 * a missing last component is made (0770).
 */
static hoop_err_t
open_dir_strict(const char *path, int create_last, int *out)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	char copy[PATH_MAX], *comp, *next, *save = NULL;
	int cur = -1, fd;

	if (path == NULL || path[0] == '\0' ||
	    strlen(path) >= sizeof(copy))
		goto out;
	memcpy(copy, path, strlen(path) + 1);
	cur = open(path[0] == '/' ? "/" : ".",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cur == -1) {
		ret = errno_err(errno);
		goto out;
	}
	for (comp = strtok_r(copy, "/", &save); comp != NULL; comp = next) {
		next = strtok_r(NULL, "/", &save);
		fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd == -1 && errno == ENOENT && next == NULL &&
		    create_last) {
			if (mkdirat(cur, comp, 0770) == -1 && errno != EEXIST) {
				ret = errno_err(errno);
				goto out;
			}
			fd = openat(cur, comp, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd == -1) {
			/* A symlink is ELOOP, or ENOTDIR with O_DIRECTORY. */
			ret = errno == ENOTDIR ? HOOP_ERR_PERM :
			    errno_err(errno);
			goto out;
		}
		close(cur);
		cur = fd;
	}
	*out = cur;
	cur = -1;
	ret = HOOP_OK;
out:
	if (cur != -1)
		close(cur);
	return ret;
}

hoop_err_t
hoop_rec_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, out, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return HOOP_ERR_CRYPTO;
	return HOOP_OK;
}

hoop_err_t
hoop_rec_genesis(const char *session_id, unsigned char out[32])
{
	hoop_err_t ret = HOOP_ERR_CRYPTO;
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, GENESIS_DOMAIN, sizeof(GENESIS_DOMAIN)) != 1 ||
	    EVP_DigestUpdate(ctx, session_id, strlen(session_id)) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &mdlen) != 1 || mdlen != 32)
		goto out;
	ret = HOOP_OK;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

hoop_err_t
hoop_rec_chunk_hash(const unsigned char prev[32],
    const unsigned char record[HOOP_REC_CHAIN_HASHED],
    const unsigned char output_md[32], const unsigned char events_md[32],
    unsigned char out[32])
{
	hoop_err_t ret = HOOP_ERR_CRYPTO;
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, CHUNK_DOMAIN, sizeof(CHUNK_DOMAIN)) != 1 ||
	    EVP_DigestUpdate(ctx, prev, 32) != 1 ||
	    EVP_DigestUpdate(ctx, record, HOOP_REC_CHAIN_HASHED) != 1 ||
	    EVP_DigestUpdate(ctx, output_md, 32) != 1 ||
	    EVP_DigestUpdate(ctx, events_md, 32) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &mdlen) != 1 || mdlen != 32)
		goto out;
	ret = HOOP_OK;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

static void
format_head(uint64_t seq, const unsigned char hash[32],
    char head[HOOP_REC_HEAD_MAX])
{
	char hex[65];

	hoop_hex_encode(hash, 32, hex);
	snprintf(head, HOOP_REC_HEAD_MAX, "%" PRIu64 ":%s", seq, hex);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "N:HEX" exactly: decimal without sign or leading zeros, 64 hex digits
 * (either case). */
static int
parse_head(const char *head, uint64_t *seq, unsigned char hash[32])
{
	const char *p = head;
	uint64_t n = 0;
	int i, hi, lo;

	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != ':'))
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (*p++ != ':')
		return -1;
	for (i = 0; i < 32; i++) {
		hi = hexval(p[0]);
		lo = hi < 0 ? -1 : hexval(p[1]);
		if (hi < 0 || lo < 0)
			return -1;
		hash[i] = (unsigned char)(hi << 4 | lo);
		p += 2;
	}
	if (*p != '\0')
		return -1;
	*seq = n;
	return 0;
}

/* ---- writer ---- */

void
hoop_rec_options_init(struct hoop_rec_options *o)
{
	memset(o, 0, sizeof(*o));
	o->record_input = 1;
	o->limit_policy = HOOP_REC_LIMIT_END;
	o->calm_rate = 4096;
	o->calm_burst = 64 * 1024;
	o->max_frame = 64 * 1024;
	o->chunk_bytes = 64 * 1024;
	o->chunk_ms = 1000;
}

static int64_t
rec_clock(const hoop_rec_t *rec)
{
	struct timespec ts;

	if (rec->o.clock != NULL)
		return rec->o.clock(rec->o.clock_arg);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The time of the next frame: after the last one, so that merging the
 * streams by time gives the order of writing (a clock stepped back holds
 * the timeline still until it catches up). */
static hoop_err_t
next_time(hoop_rec_t *rec, int64_t *t)
{
	int64_t now = rec_clock(rec);

	if (now <= rec->last_us)
		now = rec->last_us + 1;
	/* tv_sec is 32 bits in ttyrec. */
	if (now < 0 || now / 1000000 > (int64_t)UINT32_MAX)
		return HOOP_ERR_INVAL;
	*t = now;
	return HOOP_OK;
}

/* Writes every byte of iov or fails; iov is consumed. */
static hoop_err_t
writev_all(int fd, struct iovec *iov, int iovcnt)
{
	ssize_t n;

	while (iovcnt > 0) {
		n = writev(fd, iov, iovcnt);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errno_err(errno);
		if (n == 0)
			return HOOP_ERR_IO;
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return HOOP_OK;
}

/* After a failed write: cut the torn frame off so the file stays a clean
 * run of frames, and refuse everything from now on. */
static hoop_err_t
fail_write(hoop_rec_t *rec, int file, uint64_t good_size, hoop_err_t err)
{
	if (ftruncate(rec->fd[file], (off_t)good_size) == -1 ||
	    lseek(rec->fd[file], (off_t)good_size, SEEK_SET) == -1)
		rec->broken_tail = 1;
	rec->size[file] = good_size;
	if (rec->failed == HOOP_OK)
		rec->failed = err;
	return err;
}

/*
 * Appends frames to output (type 0) or events (type given): len bytes
 * cut into pieces of at most `piece` bytes, the first at time *t and each
 * next one a microsecond later. Hashes what was written into the open
 * chunk.
 */
static hoop_err_t
put_frames(hoop_rec_t *rec, int stream, int type, const unsigned char *data,
    size_t len, size_t piece, int64_t t)
{
	hoop_err_t ret = HOOP_ERR_IO;
	unsigned char hdr[BATCH][HOOP_REC_HEADER_SIZE + 1];
	struct iovec iov[2 * BATCH];
	size_t hlen = stream == S_EV ? HOOP_REC_HEADER_SIZE + 1 :
	    HOOP_REC_HEADER_SIZE;
	size_t done = 0, n, batch_bytes, off;
	uint64_t start = rec->size[stream];
	int i, k, iovcnt, first = 1;

	if (rec->chunk_data == 0)
		rec->chunk_t0 = t;
	while (first || done < len) {
		iovcnt = 0;
		batch_bytes = 0;
		for (k = 0; k < BATCH && (first || done < len); k++) {
			first = 0;
			n = len - done < piece ? len - done : piece;
			put_le32(hdr[k], (uint32_t)(t / 1000000));
			put_le32(hdr[k] + 4, (uint32_t)(t % 1000000));
			put_le32(hdr[k] + 8, (uint32_t)(n + hlen -
			    HOOP_REC_HEADER_SIZE));
			hdr[k][HOOP_REC_HEADER_SIZE] = (unsigned char)type;
			iov[iovcnt].iov_base = hdr[k];
			iov[iovcnt++].iov_len = hlen;
			if (n > 0) {
				iov[iovcnt].iov_base = (void *)(data + done);
				iov[iovcnt++].iov_len = n;
			}
			done += n;
			batch_bytes += hlen + n;
			rec->last_us = t;
			if (done < len)
				t++;
		}
		/* writev_all consumes iov: hash from a fresh walk. */
		off = done - (batch_bytes - (size_t)k * hlen);
		if ((ret = writev_all(rec->fd[stream], iov, iovcnt)) != HOOP_OK)
			return fail_write(rec, stream, start, ret);
		for (i = 0; i < k; i++) {
			n = len - off < piece ? len - off : piece;
			if (EVP_DigestUpdate(rec->md[stream], hdr[i], hlen) != 1 ||
			    (n > 0 && EVP_DigestUpdate(rec->md[stream],
			    data + off, n) != 1)) {
				/* The chunk's hash no longer matches its
				 * bytes: never seal it. */
				rec->broken_tail = 1;
				return fail_write(rec, stream, start,
				    HOOP_ERR_CRYPTO);
			}
			off += n;
		}
		rec->size[stream] += batch_bytes;
		rec->chunk_data += batch_bytes;
		start = rec->size[stream];
	}
	return HOOP_OK;
}

/* Disk bytes of len bytes written as frames of at most piece bytes. */
static uint64_t
frames_size(size_t len, size_t piece, size_t hlen)
{
	uint64_t frames = len == 0 ? 1 : (len + piece - 1) / piece;

	return frames * hlen + len;
}

static uint64_t
total_size(const hoop_rec_t *rec)
{
	return rec->size[S_OUT] + rec->size[S_EV] + rec->size[S_CHAIN];
}

/* Ends the open chunk: one chain record. */
static hoop_err_t
end_chunk(hoop_rec_t *rec, uint32_t flags)
{
	hoop_err_t ret = HOOP_ERR_CRYPTO;
	unsigned char record[HOOP_REC_CHAIN_RECORD], md[2][32], hash[32];
	EVP_MD_CTX *copy = NULL;
	unsigned int mdlen;
	struct iovec iov;
	int s;

	/* Finish copies: if the record cannot be written, the chunk goes
	 * on and a later seal still covers all of it. */
	if ((copy = EVP_MD_CTX_new()) == NULL)
		goto out;
	for (s = S_OUT; s <= S_EV; s++) {
		mdlen = 0;
		if (EVP_MD_CTX_copy_ex(copy, rec->md[s]) != 1 ||
		    EVP_DigestFinal_ex(copy, md[s], &mdlen) != 1 ||
		    mdlen != 32)
			goto out;
	}
	memcpy(record, CHAIN_MAGIC, 4);
	put_le32(record + 4, flags);
	put_le64(record + 8, rec->seq + 1);
	put_le64(record + 16, rec->size[S_OUT]);
	put_le64(record + 24, rec->size[S_EV]);
	put_le64(record + 32, (uint64_t)rec->last_us);
	if ((ret = hoop_rec_chunk_hash(rec->prev, record, md[S_OUT], md[S_EV],
	    hash)) != HOOP_OK)
		goto out;
	memcpy(record + HOOP_REC_CHAIN_HASHED, hash, 32);
	iov.iov_base = record;
	iov.iov_len = sizeof(record);
	if ((ret = writev_all(rec->fd[S_CHAIN], &iov, 1)) != HOOP_OK) {
		fail_write(rec, S_CHAIN, rec->size[S_CHAIN], ret);
		goto out;
	}
	for (s = S_OUT; s <= S_EV; s++) {
		if (EVP_DigestInit_ex(rec->md[s], EVP_sha256(), NULL) != 1) {
			rec->broken_tail = 1;
			goto out;
		}
	}
	rec->size[S_CHAIN] += sizeof(record);
	rec->seq++;
	memcpy(rec->prev, hash, 32);
	rec->chunk_data = 0;
	rec->chunk_t0 = 0;
	ret = HOOP_OK;
out:
	if (ret != HOOP_OK && rec->failed == HOOP_OK)
		rec->failed = ret;
	EVP_MD_CTX_free(copy);
	return ret;
}

/* After a write: end the chunk if it is full, old, or force says so. */
static hoop_err_t
maybe_end_chunk(hoop_rec_t *rec, int force)
{
	if (rec->chunk_data == 0)
		return HOOP_OK;
	if (force || rec->chunk_data >= rec->o.chunk_bytes ||
	    rec->last_us - rec->chunk_t0 >= (int64_t)rec->o.chunk_ms * 1000)
		return end_chunk(rec, 0);
	return HOOP_OK;
}

/* One event frame, written whatever the limits say (markers, START, END:
 * all small). */
static hoop_err_t
put_event_raw(hoop_rec_t *rec, int type, const void *payload, size_t len)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	int64_t t;

	if ((ret = next_time(rec, &t)) != HOOP_OK)
		return ret;
	return put_frames(rec, S_EV, type, payload, len, len, t);
}

/* The limit is reached: say so in the recording, then refuse. */
static hoop_err_t
limit_end(hoop_rec_t *rec)
{
	unsigned char p[8];

	put_le64(p, rec->o.max_bytes);
	if (put_event_raw(rec, HOOP_REC_LIMIT, p, sizeof(p)) == HOOP_OK)
		(void)end_chunk(rec, 0);
	if (rec->failed == HOOP_OK)
		rec->failed = HOOP_ERR_REC_LIMIT;
	return rec->failed;
}

static uint64_t
hard_limit(const hoop_rec_t *rec)
{
	uint64_t over;

	if (rec->o.limit_policy == HOOP_REC_LIMIT_END)
		return rec->o.max_bytes;
	over = rec->o.over_bytes;
	if (over == 0) {
		over = rec->o.max_bytes / 4;
		if (over < 1024 * 1024)
			over = 1024 * 1024;
	}
	return rec->o.max_bytes > UINT64_MAX - over ? UINT64_MAX :
	    rec->o.max_bytes + over;
}

static hoop_err_t
usable(const hoop_rec_t *rec)
{
	if (rec->sealed)
		return HOOP_ERR_INVAL;
	return rec->failed;
}

/* An event subject to the limits; force ends the chunk after it. */
static hoop_err_t
put_event(hoop_rec_t *rec, int type, const void *payload, size_t len,
    int force)
{
	hoop_err_t ret = HOOP_ERR_INVAL;

	if ((ret = usable(rec)) != HOOP_OK)
		return ret;
	if (len > HOOP_REC_MAX_FRAME - 1)
		return HOOP_ERR_TOOBIG;
	if (rec->o.max_bytes > 0 && total_size(rec) + HOOP_REC_CHAIN_RECORD +
	    HOOP_REC_HEADER_SIZE + 1 + len > hard_limit(rec))
		return limit_end(rec);
	if ((ret = put_event_raw(rec, type, payload, len)) != HOOP_OK)
		return ret;
	return maybe_end_chunk(rec, force);
}

/* A PAUSE or RESUME marker, and for output a notice ttyplay shows. */
static hoop_err_t
put_marker(hoop_rec_t *rec, int dir, int resume)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	unsigned char p[9];
	char notice[128];
	int64_t t;
	int n;

	p[0] = (unsigned char)dir;
	put_le64(p + 1, rec->meter[dir].skipped);
	if (dir == DIR_OUTPUT && resume)
		n = snprintf(notice, sizeof(notice), "\r\n[hoop: %" PRIu64
		    " bytes of output not recorded (size limit)]\r\n",
		    rec->meter[dir].skipped);
	else
		n = snprintf(notice, sizeof(notice), "\r\n[hoop: recording "
		    "size limit reached: bulk output not recorded]\r\n");
	if (total_size(rec) + HOOP_REC_CHAIN_RECORD + 2 * HOOP_REC_HEADER_SIZE +
	    1 + sizeof(p) + (size_t)n > hard_limit(rec))
		return limit_end(rec);
	if ((ret = put_event_raw(rec, resume ? HOOP_REC_RESUME :
	    HOOP_REC_PAUSE, p, resume ? 9 : 1)) != HOOP_OK)
		return ret;
	if (dir == DIR_OUTPUT) {
		if ((ret = next_time(rec, &t)) != HOOP_OK ||
		    (ret = put_frames(rec, S_OUT, 0, (unsigned char *)notice,
		    (size_t)n, (size_t)n, t)) != HOOP_OK)
			return ret;
	}
	return maybe_end_chunk(rec, 1);
}

/* Output or input data, under the size limit and its policy. */
static hoop_err_t
put_data(hoop_rec_t *rec, int dir, const unsigned char *buf, size_t len)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	struct meter *m = &rec->meter[dir];
	int stream = dir == DIR_OUTPUT ? S_OUT : S_EV;
	size_t hlen = HOOP_REC_HEADER_SIZE + (stream == S_EV);
	uint64_t size, drain, burst = rec->o.calm_burst;
	uint64_t old;
	int64_t now, t;
	int fits;

	if ((ret = usable(rec)) != HOOP_OK)
		return ret;
	if (len == 0)
		return HOOP_OK;
	/* With room for the chain record that may follow. */
	size = frames_size(len, rec->o.max_frame, hlen) +
	    HOOP_REC_CHAIN_RECORD;
	if (rec->o.max_bytes > 0 && rec->o.limit_policy == HOOP_REC_LIMIT_END &&
	    total_size(rec) + size > rec->o.max_bytes)
		return limit_end(rec);
	if (rec->o.max_bytes > 0 && rec->o.limit_policy == HOOP_REC_LIMIT_SKIP) {
		/* The meter runs all along, so that it knows at the limit
		 * whether the data coming is bulk. */
		now = rec_clock(rec);
		if (now - m->last_us > 3600LL * 1000000)
			m->level = 0;	/* an hour's calm; no overflow below */
		else if (now > m->last_us) {
			drain = (uint64_t)(now - m->last_us) *
			    rec->o.calm_rate / 1000000;
			m->level = drain >= m->level ? 0 : m->level - drain;
		}
		if (now > m->last_us)
			m->last_us = now;
		old = m->level;
		fits = old + len <= burst;
		m->level = old + len > burst ? burst : old + len;
		if (m->paused && old > burst / 2) {
			m->skipped += len;
			return HOOP_OK;
		}
		if (m->paused) {
			if ((ret = put_marker(rec, dir, 1)) != HOOP_OK)
				return ret;
			m->paused = 0;
			m->skipped = 0;
		}
		if (total_size(rec) + size > rec->o.max_bytes &&
		    (!fits || total_size(rec) + size > hard_limit(rec))) {
			m->paused = 1;
			m->skipped = len;
			return put_marker(rec, dir, 0);
		}
	}
	if ((ret = next_time(rec, &t)) != HOOP_OK)
		return ret;
	if ((ret = put_frames(rec, stream, stream == S_EV ? HOOP_REC_INPUT : 0,
	    buf, len, rec->o.max_frame, t)) != HOOP_OK)
		return ret;
	return maybe_end_chunk(rec, 0);
}

static hoop_err_t
check_options(const struct hoop_rec_options *o)
{
	if (o->max_frame == 0 || o->max_frame > HOOP_REC_MAX_FRAME - 1 ||
	    (o->limit_policy != HOOP_REC_LIMIT_END &&
	    o->limit_policy != HOOP_REC_LIMIT_SKIP) ||
	    (o->limit_policy == HOOP_REC_LIMIT_SKIP && o->max_bytes > 0 &&
	    (o->calm_rate == 0 || o->calm_burst == 0)))
		return HOOP_ERR_INVAL;
	return HOOP_OK;
}

static void
remove_partial(int rfd, const char *id, int dirfd)
{
	int i;

	for (i = 0; i < NFILES; i++)
		(void)unlinkat(dirfd, file_names[i], 0);
	(void)unlinkat(rfd, id, AT_REMOVEDIR);
}

hoop_err_t
hoop_rec_create_in(const char *recordings_dir, const char *session_id,
    const struct hoop_rec_options *opts, hoop_rec_t **out)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	unsigned char start[REC_MAGIC_LEN + 2 + HOOP_REC_MAX_SESSION_ID];
	hoop_rec_t *rec = NULL;
	struct stat st;
	size_t idlen;
	int rfd = -1, made = 0, i;

	*out = NULL;
	if (!valid_session_id(session_id))
		goto out;
	if ((rec = calloc(1, sizeof(*rec))) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	rec->dirfd = -1;
	for (i = 0; i < NFILES; i++)
		rec->fd[i] = -1;
	if (opts != NULL)
		rec->o = *opts;
	else
		hoop_rec_options_init(&rec->o);
	if ((ret = check_options(&rec->o)) != HOOP_OK)
		goto out;
	idlen = strlen(session_id);
	memcpy(rec->session_id, session_id, idlen + 1);

	if ((ret = open_dir_strict(recordings_dir, 1, &rfd)) != HOOP_OK)
		goto out;
	/* Whoever could write there could swap recordings around. */
	if (fstat(rfd, &st) == -1 || (st.st_mode & S_IWOTH)) {
		ret = HOOP_ERR_PERM;
		goto out;
	}
	/* mkdir never follows a symlink: an existing one is EEXIST. */
	if (mkdirat(rfd, session_id, 0750) == -1) {
		ret = errno_err(errno);
		goto out;
	}
	made = 1;
	rec->dirfd = openat(rfd, session_id, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (rec->dirfd == -1) {
		ret = errno_err(errno);
		goto out;
	}
	if (fstat(rec->dirfd, &st) == -1 || st.st_uid != geteuid() ||
	    fchmod(rec->dirfd, (st.st_mode & S_ISGID) | 0750) == -1) {
		ret = HOOP_ERR_PERM;
		goto out;
	}
	for (i = 0; i < NFILES; i++) {
		rec->fd[i] = openat(rec->dirfd, file_names[i], O_WRONLY |
		    O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0640);
		/* Exactly 0640 whatever the umask. */
		if (rec->fd[i] == -1 || fchmod(rec->fd[i], 0640) == -1) {
			ret = errno_err(errno);
			goto out;
		}
	}
	for (i = 0; i < 2; i++) {
		if ((rec->md[i] = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(rec->md[i], EVP_sha256(), NULL) != 1) {
			ret = HOOP_ERR_CRYPTO;
			goto out;
		}
	}
	if ((ret = hoop_rec_genesis(session_id, rec->prev)) != HOOP_OK)
		goto out;
	memcpy(start, REC_MAGIC, REC_MAGIC_LEN);
	start[REC_MAGIC_LEN] = REC_VERSION;
	start[REC_MAGIC_LEN + 1] = rec->o.record_input ? REC_F_INPUT : 0;
	memcpy(start + REC_MAGIC_LEN + 2, session_id, idlen);
	if ((ret = put_event_raw(rec, HOOP_REC_START, start,
	    REC_MAGIC_LEN + 2 + idlen)) != HOOP_OK ||
	    (ret = end_chunk(rec, 0)) != HOOP_OK)
		goto out;
	/* The new directory entries must outlive a crash. */
	if (fsync(rec->dirfd) == -1 || fsync(rfd) == -1) {
		ret = errno_err(errno);
		goto out;
	}
	*out = rec;
	rec = NULL;
	ret = HOOP_OK;
out:
	if (rec != NULL && made && rec->dirfd != -1)
		remove_partial(rfd, session_id, rec->dirfd);
	else if (rec != NULL && made)
		(void)unlinkat(rfd, session_id, AT_REMOVEDIR);
	if (rec != NULL)
		rec->sealed = 1;	/* nothing to end in hoop_rec_free */
	hoop_rec_free(rec);
	if (rfd != -1)
		close(rfd);
	return ret;
}

hoop_err_t
hoop_rec_create(const hoop_config_t *cfg, const char *session_id,
    const struct hoop_rec_options *opts, hoop_rec_t **out)
{
	const char *dir = cfg != NULL ? hoop_config_recordings_dir(cfg) : NULL;

	*out = NULL;
	if (dir == NULL)
		return HOOP_ERR_CONFIG;
	return hoop_rec_create_in(dir, session_id, opts, out);
}

hoop_err_t
hoop_rec_output(hoop_rec_t *rec, const void *buf, size_t len)
{
	return put_data(rec, DIR_OUTPUT, buf, len);
}

hoop_err_t
hoop_rec_input(hoop_rec_t *rec, const void *buf, size_t len)
{
	hoop_err_t ret = HOOP_ERR_INVAL;

	if ((ret = usable(rec)) != HOOP_OK || len == 0)
		return ret;
	if (!rec->o.record_input)
		return HOOP_OK;
	if (rec->echo_off) {
		/* Once per echo-off period, and no count: the number and
		 * times of keystrokes would tell a password's length. */
		if (rec->withheld_marked)
			return HOOP_OK;
		rec->withheld_marked = 1;
		return put_event(rec, HOOP_REC_INPUT_WITHHELD, NULL, 0, 0);
	}
	return put_data(rec, DIR_INPUT, buf, len);
}

hoop_err_t
hoop_rec_echo(hoop_rec_t *rec, int echo_on)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	unsigned char v = echo_on ? 1 : 0;

	if ((ret = usable(rec)) != HOOP_OK)
		return ret;
	if (rec->echo_off == !echo_on)
		return HOOP_OK;
	/* The state changes first: even if the marker cannot be written,
	 * no hidden input may be recorded. */
	rec->echo_off = !echo_on;
	rec->withheld_marked = 0;
	return put_event(rec, HOOP_REC_ECHO, &v, 1, 0);
}

hoop_err_t
hoop_rec_winsize(hoop_rec_t *rec, uint16_t rows, uint16_t cols)
{
	unsigned char p[4];

	put_le16(p, rows);
	put_le16(p + 2, cols);
	return put_event(rec, HOOP_REC_WINSIZE, p, sizeof(p), 0);
}

hoop_err_t
hoop_rec_command(hoop_rec_t *rec, const struct hoop_rec_command *cmd,
    uint32_t *id_out)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	const char *f[4];
	unsigned char *p = NULL;
	size_t len = 4, flen[4], off;
	int i;

	if ((ret = usable(rec)) != HOOP_OK)
		goto out;
	ret = HOOP_ERR_INVAL;
	if (cmd == NULL || rec->commands == UINT32_MAX)
		goto out;
	f[0] = cmd->line;
	f[1] = cmd->decision;
	f[2] = cmd->rule;
	f[3] = cmd->reason;
	for (i = 0; i < 4; i++) {
		flen[i] = f[i] != NULL ? strnlen(f[i], HOOP_REC_MAX_FRAME) : 0;
		len += 4 + flen[i];
	}
	if (len > HOOP_REC_MAX_FRAME - 1) {
		ret = HOOP_ERR_TOOBIG;
		goto out;
	}
	if ((p = malloc(len)) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	put_le32(p, rec->commands + 1);
	off = 4;
	for (i = 0; i < 4; i++) {
		put_le32(p + off, (uint32_t)flen[i]);
		if (flen[i] > 0)
			memcpy(p + off + 4, f[i], flen[i]);
		off += 4 + flen[i];
	}
	if ((ret = put_event(rec, HOOP_REC_COMMAND, p, len, 1)) != HOOP_OK)
		goto out;
	rec->commands++;
	if (id_out != NULL)
		*id_out = rec->commands;
out:
	free(p);
	return ret;
}

hoop_err_t
hoop_rec_exit(hoop_rec_t *rec, uint32_t id, int wait_status)
{
	unsigned char p[9];

	put_le32(p, id);
	if (WIFEXITED(wait_status)) {
		p[4] = 0;
		put_le32(p + 5, (uint32_t)WEXITSTATUS(wait_status));
	} else if (WIFSIGNALED(wait_status)) {
		p[4] = 1;
		put_le32(p + 5, (uint32_t)WTERMSIG(wait_status));
	} else
		return HOOP_ERR_INVAL;
	return put_event(rec, HOOP_REC_EXIT, p, sizeof(p), 1);
}

hoop_err_t
hoop_rec_note(hoop_rec_t *rec, const char *text)
{
	if (text == NULL)
		return HOOP_ERR_INVAL;
	return put_event(rec, HOOP_REC_NOTE, text,
	    strnlen(text, HOOP_REC_MAX_FRAME), 1);
}

hoop_err_t
hoop_rec_checkpoint(hoop_rec_t *rec)
{
	hoop_err_t ret = HOOP_ERR_INVAL;

	if ((ret = usable(rec)) != HOOP_OK)
		return ret;
	return maybe_end_chunk(rec, 1);
}

void
hoop_rec_head(const hoop_rec_t *rec, char head[HOOP_REC_HEAD_MAX])
{
	format_head(rec->seq, rec->prev, head);
}

uint64_t
hoop_rec_size(const hoop_rec_t *rec)
{
	return total_size(rec);
}

hoop_err_t
hoop_rec_seal(hoop_rec_t *rec, char head[HOOP_REC_HEAD_MAX])
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	int i;

	if (rec->sealed)
		goto out;
	/* A torn frame still in a file would be sealed as garbage. */
	if (rec->broken_tail) {
		ret = rec->failed != HOOP_OK ? rec->failed : HOOP_ERR_IO;
		goto out;
	}
	if ((ret = put_event_raw(rec, HOOP_REC_END, NULL, 0)) != HOOP_OK ||
	    (ret = end_chunk(rec, CHAIN_F_SEALED)) != HOOP_OK)
		goto out;
	rec->sealed = 1;
	for (i = 0; i < NFILES; i++) {
		if (fsync(rec->fd[i]) == -1) {
			ret = errno_err(errno);
			goto out;
		}
	}
	if (head != NULL)
		format_head(rec->seq, rec->prev, head);
	ret = HOOP_OK;
out:
	return ret;
}

void
hoop_rec_free(hoop_rec_t *rec)
{
	int i;

	if (rec == NULL)
		return;
	if (!rec->sealed && rec->failed == HOOP_OK)
		(void)maybe_end_chunk(rec, 1);
	for (i = 0; i < NFILES; i++) {
		if (rec->fd[i] != -1)
			close(rec->fd[i]);
	}
	if (rec->dirfd != -1)
		close(rec->dirfd);
	EVP_MD_CTX_free(rec->md[0]);
	EVP_MD_CTX_free(rec->md[1]);
	free(rec);
}

/* ---- sources: a file or a buffer, read sequentially ---- */

struct source {
	int fd;
	const unsigned char *mem;
	size_t mem_len;
	size_t mem_pos;
	unsigned char *buf;	/* fd: read-ahead */
	size_t buf_pos, buf_len;
	int eof;
};

static void
source_mem(struct source *s, const void *data, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->mem = data != NULL ? data : (const unsigned char *)"";
	s->mem_len = data != NULL ? len : 0;
}

static hoop_err_t
source_open(struct source *s, int dirfd, const char *name)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY);
	if (s->fd == -1)
		return errno_err(errno);
	if (fstat(s->fd, &st) == -1 || !S_ISREG(st.st_mode))
		return HOOP_ERR_INVAL;
	if ((s->buf = malloc(READ_BLOCK)) == NULL)
		return HOOP_ERR_NOMEM;
	return HOOP_OK;
}

static void
source_close(struct source *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->buf);
	s->buf = NULL;
}

/* Reads up to n bytes; fewer only at the end. -1 on a read error. */
static ssize_t
source_read(struct source *s, void *dst, size_t n)
{
	unsigned char *d = dst;
	size_t got = 0, k;
	ssize_t r;

	if (s->fd == -1) {
		k = s->mem_len - s->mem_pos < n ? s->mem_len - s->mem_pos : n;
		if (k > 0)
			memcpy(d, s->mem + s->mem_pos, k);
		s->mem_pos += k;
		return (ssize_t)k;
	}
	while (got < n) {
		if (s->buf_pos == s->buf_len) {
			if (s->eof)
				break;
			r = read(s->fd, s->buf, READ_BLOCK);
			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1)
				return -1;
			if (r == 0) {
				s->eof = 1;
				break;
			}
			s->buf_pos = 0;
			s->buf_len = (size_t)r;
		}
		k = s->buf_len - s->buf_pos < n - got ?
		    s->buf_len - s->buf_pos : n - got;
		memcpy(d + got, s->buf + s->buf_pos, k);
		s->buf_pos += k;
		got += k;
	}
	return (ssize_t)got;
}

/* ---- verification ---- */

struct verify_ctx {
	struct source src[NFILES];
	uint64_t pos[2];
	unsigned char block[READ_BLOCK];
};

/* SHA-256 of the next `len` bytes of a stream; *got tells how many were
 * there. */
static hoop_err_t
hash_range(struct verify_ctx *v, int s, uint64_t len, unsigned char md[32],
    uint64_t *got)
{
	hoop_err_t ret = HOOP_ERR_CRYPTO;
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	uint64_t left = len;
	ssize_t n;
	size_t want;

	*got = 0;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while (left > 0) {
		want = left < sizeof(v->block) ? (size_t)left : sizeof(v->block);
		if ((n = source_read(&v->src[s], v->block, want)) < 0) {
			ret = HOOP_ERR_IO;
			goto out;
		}
		if (EVP_DigestUpdate(ctx, v->block, (size_t)n) != 1)
			goto out;
		*got += (uint64_t)n;
		left -= (uint64_t)n;
		if ((size_t)n < want)
			break;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	ret = HOOP_OK;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

/* Bytes left in a stream (read to its end). */
static hoop_err_t
count_rest(struct verify_ctx *v, int s, uint64_t *rest)
{
	ssize_t n;

	*rest = 0;
	while ((n = source_read(&v->src[s], v->block, sizeof(v->block))) > 0)
		*rest += (uint64_t)n;
	return n < 0 ? HOOP_ERR_IO : HOOP_OK;
}

#define BROKEN(k, ...) do { \
	res->broken_chunk = (k); \
	snprintf(res->problem, sizeof(res->problem), __VA_ARGS__); \
	ret = HOOP_ERR_REC_BROKEN; \
	goto out; \
} while (0)

static hoop_err_t
verify_sources(struct verify_ctx *v, const char *session_id, const char *head,
    struct hoop_rec_verify_result *res)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	unsigned char rec[HOOP_REC_CHAIN_RECORD], prev[32], hash[32], md[2][32];
	unsigned char head_hash[32], head_seen[32];
	uint64_t k, seq, end[2], got, rest[2], head_seq = 0;
	uint32_t flags;
	ssize_t n;
	int s, have_head = 0;
	static const char *const sname[2] = {
		HOOP_REC_OUTPUT_FILE, HOOP_REC_EVENTS_FILE,
	};

	memset(res, 0, sizeof(*res));
	if (!valid_session_id(session_id))
		goto out;
	if (head != NULL) {
		if (parse_head(head, &head_seq, head_hash) != 0 ||
		    head_seq == 0) {
			snprintf(res->problem, sizeof(res->problem),
			    "malformed head (want N:HASH)");
			goto out;
		}
	}
	if ((ret = hoop_rec_genesis(session_id, prev)) != HOOP_OK)
		goto out;
	format_head(0, prev, res->head);
	for (k = 1;; k++) {
		if ((n = source_read(&v->src[S_CHAIN], rec, sizeof(rec))) < 0) {
			ret = HOOP_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		if (res->sealed)
			BROKEN(k, "chunk %" PRIu64 " follows the sealed chunk",
			    k);
		if ((size_t)n < sizeof(rec))
			BROKEN(k, "%s: record %" PRIu64 " cut short (%zd of %d "
			    "bytes)", HOOP_REC_CHAIN_FILE, k, n,
			    HOOP_REC_CHAIN_RECORD);
		flags = get_le32(rec + 4);
		seq = get_le64(rec + 8);
		end[S_OUT] = get_le64(rec + 16);
		end[S_EV] = get_le64(rec + 24);
		if (memcmp(rec, CHAIN_MAGIC, 4) != 0 ||
		    (flags & ~CHAIN_F_SEALED) != 0)
			BROKEN(k, "%s: record %" PRIu64 " is not a chain record",
			    HOOP_REC_CHAIN_FILE, k);
		if (seq != k)
			BROKEN(k, "chunk %" PRIu64 " holds sequence number %"
			    PRIu64 ": chain records deleted, inserted or "
			    "moved", k, seq);
		for (s = S_OUT; s <= S_EV; s++) {
			if (end[s] < v->pos[s])
				BROKEN(k, "chunk %" PRIu64 ": %s end offset %"
				    PRIu64 " before its start %" PRIu64, k,
				    sname[s], end[s], v->pos[s]);
			if ((ret = hash_range(v, s, end[s] - v->pos[s], md[s],
			    &got)) != HOOP_OK)
				goto out;
			if (got < end[s] - v->pos[s])
				BROKEN(k, "chunk %" PRIu64 ": %s truncated at "
				    "byte %" PRIu64 " (the chunk ends at %"
				    PRIu64 ")", k, sname[s], v->pos[s] + got,
				    end[s]);
		}
		if ((ret = hoop_rec_chunk_hash(prev, rec, md[S_OUT], md[S_EV],
		    hash)) != HOOP_OK)
			goto out;
		if (memcmp(hash, rec + HOOP_REC_CHAIN_HASHED, 32) != 0)
			BROKEN(k, "chunk %" PRIu64 ": hash mismatch (data or "
			    "chain edited, reordered or deleted; %s bytes %"
			    PRIu64 "-%" PRIu64 ", %s bytes %" PRIu64 "-%"
			    PRIu64 ")", k, sname[S_OUT], v->pos[S_OUT],
			    end[S_OUT], sname[S_EV], v->pos[S_EV], end[S_EV]);
		memcpy(prev, hash, 32);
		if (k == head_seq) {
			memcpy(head_seen, hash, 32);
			have_head = 1;
		}
		v->pos[S_OUT] = end[S_OUT];
		v->pos[S_EV] = end[S_EV];
		res->chunks = k;
		res->sealed = (flags & CHAIN_F_SEALED) != 0;
		res->output_bytes = end[S_OUT];
		res->events_bytes = end[S_EV];
		format_head(k, hash, res->head);
	}
	for (s = S_OUT; s <= S_EV; s++) {
		if ((ret = count_rest(v, s, &rest[s])) != HOOP_OK)
			goto out;
	}
	if (res->sealed && (rest[S_OUT] > 0 || rest[S_EV] > 0))
		BROKEN(res->chunks + 1, "data after the seal: %" PRIu64
		    " bytes in %s, %" PRIu64 " in %s", rest[S_OUT],
		    sname[S_OUT], rest[S_EV], sname[S_EV]);
	res->unsealed_bytes = rest[S_OUT] + rest[S_EV];
	if (head != NULL && !have_head)
		BROKEN(res->chunks + 1, "the chain ends at chunk %" PRIu64
		    " but the head names chunk %" PRIu64 " (truncated or "
		    "deleted)", res->chunks, head_seq);
	if (head != NULL && memcmp(head_seen, head_hash, 32) != 0)
		BROKEN(head_seq, "chunk %" PRIu64 " does not carry the head's "
		    "hash (recording rewritten or replaced)", head_seq);
	ret = HOOP_OK;
out:
	return ret;
}

#undef BROKEN

hoop_err_t
hoop_rec_verify(const char *recordings_dir, const char *session_id,
    const char *head, struct hoop_rec_verify_result *result)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	struct verify_ctx *v = NULL;
	int rfd = -1, dfd = -1, i;

	memset(result, 0, sizeof(*result));
	if (!valid_session_id(session_id))
		goto out;
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < NFILES; i++)
		v->src[i].fd = -1;
	if ((ret = open_dir_strict(recordings_dir, 0, &rfd)) != HOOP_OK)
		goto out;
	if ((dfd = openat(rfd, session_id, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		ret = errno == ENOTDIR ? HOOP_ERR_PERM : errno_err(errno);
		goto out;
	}
	for (i = 0; i < NFILES; i++) {
		if ((ret = source_open(&v->src[i], dfd, file_names[i])) !=
		    HOOP_OK) {
			snprintf(result->problem, sizeof(result->problem),
			    "%s: %s", file_names[i], hoop_strerror(ret));
			/* A missing file is a deleted part of the seal. */
			if (ret == HOOP_ERR_NOTFOUND) {
				result->broken_chunk = 1;
				ret = HOOP_ERR_REC_BROKEN;
			}
			goto out;
		}
	}
	ret = verify_sources(v, session_id, head, result);
out:
	if (v != NULL) {
		for (i = 0; i < NFILES; i++)
			source_close(&v->src[i]);
	}
	free(v);
	if (dfd != -1)
		close(dfd);
	if (rfd != -1)
		close(rfd);
	return ret;
}

hoop_err_t
hoop_rec_verify_mem(const char *session_id, const void *output,
    size_t output_len, const void *events, size_t events_len,
    const void *chain, size_t chain_len, const char *head,
    struct hoop_rec_verify_result *result)
{
	hoop_err_t ret = HOOP_ERR_NOMEM;
	struct verify_ctx *v;

	memset(result, 0, sizeof(*result));
	if ((v = calloc(1, sizeof(*v))) == NULL)
		goto out;
	source_mem(&v->src[S_OUT], output, output_len);
	source_mem(&v->src[S_EV], events, events_len);
	source_mem(&v->src[S_CHAIN], chain, chain_len);
	ret = verify_sources(v, session_id, head, result);
out:
	free(v);
	return ret;
}

/* ---- reader ---- */

struct stream {
	struct source src;
	uint64_t off;		/* of the next header */
	unsigned char *buf;	/* payload of the frame held */
	size_t cap;
	int have;		/* frame holds the next frame */
	int done;		/* clean end */
	hoop_err_t err;		/* final error of this stream */
	uint64_t frames;
	int ended;		/* END seen */
	struct hoop_rec_frame frame;
};

struct hoop_rec_reader {
	struct stream st[2];
	int dirfd;
	hoop_err_t err;		/* reported, final */
	int problem_stream;	/* the stream of the first problem */
	char problem[224];
};

static hoop_err_t
stream_fail(hoop_rec_reader_t *r, int s, hoop_err_t err, uint64_t off,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static hoop_err_t
stream_fail(hoop_rec_reader_t *r, int s, hoop_err_t err, uint64_t off,
    const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	r->st[s].err = err;
	/* The first problem found is the one reported. */
	if (r->problem_stream == -1) {
		r->problem_stream = s;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(r->problem, sizeof(r->problem), "%s: offset %" PRIu64
		    ": %s", s == S_OUT ? HOOP_REC_OUTPUT_FILE :
		    HOOP_REC_EVENTS_FILE, off, msg);
	}
	return err;
}

/* A length-prefixed string at *p, within end. */
static int
take_str(const unsigned char **p, const unsigned char *end,
    struct hoop_rec_str *out)
{
	uint32_t len;

	if (end - *p < 4)
		return -1;
	len = get_le32(*p);
	*p += 4;
	if ((size_t)(end - *p) < len)
		return -1;
	out->ptr = (const char *)*p;
	out->len = len;
	*p += len;
	return 0;
}

/* Checks an events payload against its type and decodes it. */
static int
decode_event(struct hoop_rec_frame *f)
{
	const unsigned char *p = f->data, *end = f->data + f->len;
	size_t i;

	switch (f->type) {
	case HOOP_REC_START:
		if (f->len < REC_MAGIC_LEN + 3 || f->len > REC_MAGIC_LEN + 2 +
		    HOOP_REC_MAX_SESSION_ID ||
		    memcmp(p, REC_MAGIC, REC_MAGIC_LEN) != 0 ||
		    p[REC_MAGIC_LEN] != REC_VERSION ||
		    (p[REC_MAGIC_LEN + 1] & ~REC_F_INPUT) != 0 ||
		    p[REC_MAGIC_LEN + 2] == '.')
			return -1;
		for (i = REC_MAGIC_LEN + 2; i < f->len; i++) {
			if (!((p[i] >= 'a' && p[i] <= 'z') ||
			    (p[i] >= 'A' && p[i] <= 'Z') ||
			    (p[i] >= '0' && p[i] <= '9') ||
			    p[i] == '.' || p[i] == '_' || p[i] == '-'))
				return -1;
		}
		f->u.start.version = p[REC_MAGIC_LEN];
		f->u.start.flags = p[REC_MAGIC_LEN + 1];
		f->u.start.session_id.ptr = (const char *)p + REC_MAGIC_LEN + 2;
		f->u.start.session_id.len = f->len - REC_MAGIC_LEN - 2;
		return 0;
	case HOOP_REC_INPUT:
	case HOOP_REC_NOTE:
		return 0;
	case HOOP_REC_WINSIZE:
		if (f->len != 4)
			return -1;
		f->u.winsize.rows = get_le16(p);
		f->u.winsize.cols = get_le16(p + 2);
		return 0;
	case HOOP_REC_ECHO:
		if (f->len != 1 || p[0] > 1)
			return -1;
		f->u.echo.on = p[0];
		return 0;
	case HOOP_REC_INPUT_WITHHELD:
	case HOOP_REC_END:
		return f->len == 0 ? 0 : -1;
	case HOOP_REC_COMMAND:
		if (f->len < 4)
			return -1;
		f->u.command.id = get_le32(p);
		p += 4;
		if (take_str(&p, end, &f->u.command.line) != 0 ||
		    take_str(&p, end, &f->u.command.decision) != 0 ||
		    take_str(&p, end, &f->u.command.rule) != 0 ||
		    take_str(&p, end, &f->u.command.reason) != 0 || p != end)
			return -1;
		return 0;
	case HOOP_REC_EXIT:
		if (f->len != 9 || p[4] > 1)
			return -1;
		f->u.exit.id = get_le32(p);
		f->u.exit.signaled = p[4];
		f->u.exit.value = get_le32(p + 5);
		return 0;
	case HOOP_REC_PAUSE:
		if (f->len != 1 || p[0] > 1)
			return -1;
		f->u.pause.direction = p[0];
		return 0;
	case HOOP_REC_RESUME:
		if (f->len != 9 || p[0] > 1)
			return -1;
		f->u.pause.direction = p[0];
		f->u.pause.skipped = get_le64(p + 1);
		return 0;
	case HOOP_REC_LIMIT:
		if (f->len != 8)
			return -1;
		f->u.limit.limit = get_le64(p);
		return 0;
	default:
		return -1;
	}
}

/* Reads the next frame of stream s into its lookahead. */
static void
read_frame(hoop_rec_reader_t *r, int s)
{
	struct stream *st = &r->st[s];
	struct hoop_rec_frame *f = &st->frame;
	unsigned char hdr[HOOP_REC_HEADER_SIZE];
	uint32_t sec, usec, len;
	ssize_t n;
	void *nb;
	size_t newcap;

	n = source_read(&st->src, hdr, sizeof(hdr));
	if (n < 0) {
		stream_fail(r, s, HOOP_ERR_IO, st->off, "read error");
		return;
	}
	if (n == 0) {
		if (s == S_EV && st->frames == 0)
			stream_fail(r, s, HOOP_ERR_REC_FORMAT, st->off,
			    "no START frame");
		else
			st->done = 1;
		return;
	}
	if ((size_t)n < sizeof(hdr)) {
		stream_fail(r, s, HOOP_ERR_REC_TRUNCATED, st->off,
		    "truncated final frame: header of %zd of %d bytes", n,
		    HOOP_REC_HEADER_SIZE);
		return;
	}
	sec = get_le32(hdr);
	usec = get_le32(hdr + 4);
	len = get_le32(hdr + 8);
	if (len > HOOP_REC_MAX_FRAME) {
		stream_fail(r, s, HOOP_ERR_REC_FORMAT, st->off,
		    "frame length %" PRIu32 " over the limit of %d", len,
		    HOOP_REC_MAX_FRAME);
		return;
	}
	if (usec >= 1000000) {
		stream_fail(r, s, HOOP_ERR_REC_FORMAT, st->off,
		    "microseconds field %" PRIu32 " out of range", usec);
		return;
	}
	if (s == S_EV && len == 0) {
		stream_fail(r, s, HOOP_ERR_REC_FORMAT, st->off,
		    "frame without a type byte");
		return;
	}
	if (len > st->cap) {
		/* At most HOOP_REC_MAX_FRAME, checked above. */
		newcap = st->cap < 4096 ? 4096 : st->cap;
		while (newcap < len)
			newcap *= 2;
		if (newcap > HOOP_REC_MAX_FRAME)
			newcap = HOOP_REC_MAX_FRAME;
		if ((nb = realloc(st->buf, newcap)) == NULL) {
			stream_fail(r, s, HOOP_ERR_NOMEM, st->off,
			    "out of memory");
			return;
		}
		st->buf = nb;
		st->cap = newcap;
	}
	n = source_read(&st->src, st->buf, len);
	if (n < 0) {
		stream_fail(r, s, HOOP_ERR_IO, st->off, "read error");
		return;
	}
	if ((size_t)n < len) {
		stream_fail(r, s, HOOP_ERR_REC_TRUNCATED, st->off,
		    "truncated final frame: %zd of %" PRIu32 " bytes", n, len);
		return;
	}
	memset(f, 0, sizeof(*f));
	f->stream = s == S_OUT ? HOOP_REC_STREAM_OUTPUT :
	    HOOP_REC_STREAM_EVENTS;
	f->offset = st->off;
	f->time_us = (int64_t)sec * 1000000 + usec;
	if (s == S_OUT) {
		f->type = HOOP_REC_OUTPUT;
		f->data = st->buf;
		f->len = len;
	} else {
		f->type = (enum hoop_rec_type)st->buf[0];
		f->data = st->buf + 1;
		f->len = len - 1;
		if (f->type == HOOP_REC_OUTPUT || decode_event(f) != 0) {
			stream_fail(r, s, HOOP_ERR_REC_FORMAT, st->off,
			    "bad frame of type 0x%02x, %" PRIu32 " bytes",
			    st->buf[0], len);
			return;
		}
		if ((st->frames == 0) != (f->type == HOOP_REC_START)) {
			stream_fail(r, s, HOOP_ERR_REC_FORMAT, st->off,
			    st->frames == 0 ? "does not start with START" :
			    "a second START frame");
			return;
		}
		if (st->ended) {
			stream_fail(r, s, HOOP_ERR_REC_FORMAT, st->off,
			    "frame after END");
			return;
		}
		st->ended = f->type == HOOP_REC_END;
	}
	st->off += HOOP_REC_HEADER_SIZE + (uint64_t)len;
	st->frames++;
	st->have = 1;
}

static hoop_err_t
reader_new(hoop_rec_reader_t **out)
{
	hoop_rec_reader_t *r;
	int s;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return HOOP_ERR_NOMEM;
	r->dirfd = -1;
	r->problem_stream = -1;
	for (s = 0; s < 2; s++)
		r->st[s].src.fd = -1;
	*out = r;
	return HOOP_OK;
}

hoop_err_t
hoop_rec_reader_open(const char *recordings_dir, const char *session_id,
    hoop_rec_reader_t **out)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	hoop_rec_reader_t *r = NULL;
	int rfd = -1, s;

	*out = NULL;
	if (!valid_session_id(session_id))
		goto out;
	if ((ret = reader_new(&r)) != HOOP_OK ||
	    (ret = open_dir_strict(recordings_dir, 0, &rfd)) != HOOP_OK)
		goto out;
	if ((r->dirfd = openat(rfd, session_id, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		ret = errno == ENOTDIR ? HOOP_ERR_PERM : errno_err(errno);
		goto out;
	}
	for (s = 0; s < 2; s++) {
		if ((ret = source_open(&r->st[s].src, r->dirfd,
		    file_names[s])) != HOOP_OK)
			goto out;
	}
	*out = r;
	r = NULL;
	ret = HOOP_OK;
out:
	hoop_rec_reader_free(r);
	if (rfd != -1)
		close(rfd);
	return ret;
}

hoop_err_t
hoop_rec_reader_open_mem(const void *output, size_t output_len,
    const void *events, size_t events_len, hoop_rec_reader_t **out)
{
	hoop_err_t ret = HOOP_ERR_NOMEM;
	hoop_rec_reader_t *r = NULL;

	if ((ret = reader_new(&r)) != HOOP_OK)
		return ret;
	source_mem(&r->st[S_OUT].src, output, output_len);
	source_mem(&r->st[S_EV].src, events, events_len);
	*out = r;
	return HOOP_OK;
}

hoop_err_t
hoop_rec_next(hoop_rec_reader_t *r, struct hoop_rec_frame *frame)
{
	int s, pick = -1;

	memset(frame, 0, sizeof(*frame));
	if (r->err != HOOP_OK)
		return r->err;
	for (s = 0; s < 2; s++) {
		if (!r->st[s].have && !r->st[s].done &&
		    r->st[s].err == HOOP_OK)
			read_frame(r, s);
	}
	/* Events win ties: a command comes before its output. */
	if (r->st[S_EV].have)
		pick = S_EV;
	if (r->st[S_OUT].have && (pick == -1 ||
	    r->st[S_OUT].frame.time_us < r->st[S_EV].frame.time_us))
		pick = S_OUT;
	if (pick == -1) {
		/* Both streams are over: the first problem, if any. */
		if (r->problem_stream != -1) {
			r->err = r->st[r->problem_stream].err;
			return r->err;
		}
		frame->type = HOOP_REC_EOF;
		return HOOP_OK;
	}
	*frame = r->st[pick].frame;
	r->st[pick].have = 0;
	return HOOP_OK;
}

const char *
hoop_rec_reader_problem(const hoop_rec_reader_t *r)
{
	return r->problem;
}

void
hoop_rec_reader_free(hoop_rec_reader_t *r)
{
	int s;

	if (r == NULL)
		return;
	for (s = 0; s < 2; s++) {
		source_close(&r->st[s].src);
		free(r->st[s].buf);
	}
	if (r->dirfd != -1)
		close(r->dirfd);
	free(r);
}
