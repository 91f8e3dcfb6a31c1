/*
 * Recordings for auditors: UTF-8 repair, terminal output to text,
 * asciicast v2 and ttyrec export (see hoop_rec_export.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_rec_export.h"
#include "hoop_recording.h"
#include "hoop_util.h"

/* ---- UTF-8 ---- */

enum { U8_OK, U8_BAD, U8_SHORT };

#define REPLACEMENT	0xfffdu

/*
 * The sequence at p (avail > 0): U8_OK with the code point and its
 * length; U8_BAD with the length of the maximal invalid subpart (one
 * U+FFFD); U8_SHORT when a valid beginning is cut off by the end.
 */
static int
u8_decode(const unsigned char *p, size_t avail, uint32_t *cp, size_t *n)
{
	unsigned char b = p[0], lo = 0x80, hi = 0xbf;
	uint32_t c;
	size_t need, i;

	if (b < 0x80) {
		*cp = b;
		*n = 1;
		return U8_OK;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		need = 1;
		c = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		need = 2;
		c = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (b == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 3;
		c = b & 0x07;
		if (b == 0xf0)
			lo = 0x90;	/* overlong */
		else if (b == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
	} else {
		*n = 1;
		return U8_BAD;
	}
	for (i = 1; i <= need; i++) {
		if (i >= avail) {
			*n = i;
			return U8_SHORT;
		}
		if (p[i] < lo || p[i] > hi) {
			*n = i;
			return U8_BAD;
		}
		c = c << 6 | (p[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = c;
	*n = need + 1;
	return U8_OK;
}

/*
 * The next code point of the stream (held bytes, then in from *pos):
 * 1 with *cp (U+FFFD for invalid bytes), 0 once in is used up (an
 * unfinished sequence at its end is held, unless final).
 */
static int
u8_next(struct hoop_rec_export_utf8 *st, const unsigned char *in,
    size_t len, size_t *pos, int final, uint32_t *cp)
{
	unsigned char tmp[4];
	size_t take, n;
	int r;

	if (st->n_held == 0) {
		if (*pos >= len)
			return 0;
		r = u8_decode(in + *pos, len - *pos, cp, &n);
		if (r == U8_SHORT && !final) {
			/* n == len - *pos, at most 3 */
			memcpy(st->held, in + *pos, n);
			st->n_held = n;
			*pos = len;
			return 0;
		}
		if (r != U8_OK)
			*cp = REPLACEMENT;
		*pos += n;
		return 1;
	}
	take = len - *pos < sizeof(tmp) - st->n_held ? len - *pos :
	    sizeof(tmp) - st->n_held;
	memcpy(tmp, st->held, st->n_held);
	if (take > 0)
		memcpy(tmp + st->n_held, in + *pos, take);
	r = u8_decode(tmp, st->n_held + take, cp, &n);
	if (r == U8_SHORT && !final) {
		/* Still short: all of in fits in what is held. */
		memcpy(st->held + st->n_held, tmp + st->n_held, take);
		st->n_held += take;
		*pos += take;
		return 0;
	}
	if (r != U8_OK)
		*cp = REPLACEMENT;
	if (n >= st->n_held) {
		*pos += n - st->n_held;
		st->n_held = 0;
	} else {
		memmove(st->held, st->held + n, st->n_held - n);
		st->n_held -= n;
	}
	return 1;
}

static size_t
u8_encode(uint32_t c, char *o)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | c >> 12);
		o[1] = (char)(0x80 | (c >> 6 & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | c >> 18);
	o[1] = (char)(0x80 | (c >> 12 & 0x3f));
	o[2] = (char)(0x80 | (c >> 6 & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

size_t
hoop_rec_export_utf8(struct hoop_rec_export_utf8 *st, const void *in,
    size_t len, int final, char *out)
{
	size_t pos = 0, o = 0;
	uint32_t cp;

	while (u8_next(st, in, len, &pos, final, &cp))
		o += u8_encode(cp, out + o);
	return o;
}

/* ---- safe output ---- */

int
hoop_rec_export_json_string(FILE *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	if (putc('"', out) == EOF)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\') {
			putc('\\', out);
			putc(c, out);
		} else if (c == '\n') {
			fputs("\\n", out);
		} else if (c == '\r') {
			fputs("\\r", out);
		} else if (c == '\t') {
			fputs("\\t", out);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
		} else if (c == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f) {
			/* C1 controls */
			fprintf(out, "\\u%04x", p[++i]);
		} else if (c == 0xe2 && i + 2 < len && p[i + 1] == 0x80 &&
		    (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
			/* Line and paragraph separators break JavaScript. */
			fprintf(out, "\\u%04x", 0x2000 + p[i + 2] - 0x80);
			i += 2;
		} else {
			putc(c, out);
		}
	}
	return putc('"', out) == EOF || ferror(out) ? -1 : 0;
}

/* ---- terminal output to text ---- */

enum vt_state {
	VT_GROUND,
	VT_ESC,
	VT_ESC_INTER,	/* ESC, intermediates: waits for the final */
	VT_CSI,
	VT_STRING,	/* OSC, DCS, SOS, PM, APC: up to BEL or ST */
	VT_STRING_ESC,
};

#define CSI_MAX_PARAMS	16
#define CSI_MAX_VALUE	65535
#define TAB_WIDTH	8

struct hoop_rec_export_text {
	hoop_rec_export_line_fn fn;
	void *arg;
	struct hoop_rec_export_utf8 u8;
	enum vt_state state;
	unsigned params[CSI_MAX_PARAMS];
	size_t nparams;
	int csi_private;	/* ?, >, <, = or intermediates: not ours */
	uint32_t cells[HOOP_REC_EXPORT_LINE_MAX];
	size_t len, col;
	int64_t line_time;
	char buf[HOOP_REC_EXPORT_LINE_MAX * 4];
	int stopped;
};

hoop_err_t
hoop_rec_export_text_new(hoop_rec_export_line_fn fn, void *arg,
    hoop_rec_export_text_t **out)
{
	hoop_rec_export_text_t *t;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return HOOP_ERR_NOMEM;
	t->fn = fn;
	t->arg = arg;
	*out = t;
	return HOOP_OK;
}

void
hoop_rec_export_text_free(hoop_rec_export_text_t *t)
{
	free(t);
}

static void
emit_line(hoop_rec_export_text_t *t)
{
	size_t n = t->len, o = 0, i;

	while (n > 0 && t->cells[n - 1] == ' ')
		n--;
	for (i = 0; i < n; i++)
		o += u8_encode(t->cells[i], t->buf + o);
	if (!t->stopped && t->fn(t->arg, t->line_time, t->buf, o) != 0)
		t->stopped = 1;
	t->len = 0;
	t->col = 0;
}

/* Cells between the end of the line and the cursor become spaces. */
static void
pad_to(hoop_rec_export_text_t *t, size_t col)
{
	while (t->len < col)
		t->cells[t->len++] = ' ';
}

static void
put_char(hoop_rec_export_text_t *t, uint32_t cp, int64_t now)
{
	if (t->col >= HOOP_REC_EXPORT_LINE_MAX)
		emit_line(t);
	t->line_time = now;
	pad_to(t, t->col);
	t->cells[t->col++] = cp;
	if (t->col > t->len)
		t->len = t->col;
}

static void
set_col(hoop_rec_export_text_t *t, size_t col)
{
	t->col = col < HOOP_REC_EXPORT_LINE_MAX ? col :
	    HOOP_REC_EXPORT_LINE_MAX - 1;
}

/* C0 and C1 controls; returns whether cp was one. */
static int
control(hoop_rec_export_text_t *t, uint32_t cp)
{
	switch (cp) {
	case '\n':
	case 0x0b:	/* VT */
	case 0x0c:	/* FF */
	case 0x85:	/* NEL */
		emit_line(t);
		return 1;
	case '\r':
		t->col = 0;
		return 1;
	case '\b':
		if (t->col > 0)
			t->col--;
		return 1;
	case '\t':
		set_col(t, (t->col / TAB_WIDTH + 1) * TAB_WIDTH);
		return 1;
	case 0x1b:
		t->state = VT_ESC;
		return 1;
	case 0x9b:	/* CSI */
		t->state = VT_CSI;
		t->nparams = 0;
		t->params[0] = 0;
		t->csi_private = 0;
		return 1;
	case 0x90:	/* DCS */
	case 0x98:	/* SOS */
	case 0x9d:	/* OSC */
	case 0x9e:	/* PM */
	case 0x9f:	/* APC */
		t->state = VT_STRING;
		return 1;
	default:
		return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
	}
}

static unsigned
param(const hoop_rec_export_text_t *t, size_t i, unsigned dflt)
{
	if (i >= t->nparams || t->params[i] == 0)
		return dflt;
	return t->params[i];
}

static void
csi_final(hoop_rec_export_text_t *t, uint32_t final)
{
	size_t n, i;

	if (t->csi_private)
		return;
	n = param(t, 0, 1);
	switch (final) {
	case 'C':	/* cursor forward */
		set_col(t, t->col + n);
		break;
	case 'D':	/* cursor back */
		t->col = n > t->col ? 0 : t->col - n;
		break;
	case 'G':	/* column */
	case '`':
		set_col(t, n - 1);
		break;
	case 'K':	/* erase in line */
		switch (param(t, 0, 0)) {
		case 0:
			if (t->len > t->col)
				t->len = t->col;
			break;
		case 1:
			for (i = 0; i <= t->col && i < t->len; i++)
				t->cells[i] = ' ';
			break;
		default:
			t->len = 0;
		}
		break;
	case 'X':	/* erase characters */
		for (i = t->col; i < t->len && i - t->col < n; i++)
			t->cells[i] = ' ';
		break;
	case 'P':	/* delete characters */
		if (t->col < t->len) {
			if (n > t->len - t->col)
				n = t->len - t->col;
			memmove(t->cells + t->col, t->cells + t->col + n,
			    (t->len - t->col - n) * sizeof(t->cells[0]));
			t->len -= n;
		}
		break;
	case '@':	/* insert blanks */
		if (t->col < t->len) {
			if (n > HOOP_REC_EXPORT_LINE_MAX - t->len)
				n = HOOP_REC_EXPORT_LINE_MAX - t->len;
			memmove(t->cells + t->col + n, t->cells + t->col,
			    (t->len - t->col) * sizeof(t->cells[0]));
			for (i = 0; i < n; i++)
				t->cells[t->col + i] = ' ';
			t->len += n;
		}
		break;
	case 'A':	/* up, down, next and previous line, row: */
	case 'B':	/* another row, so the line ends here */
	case 'E':
	case 'F':
	case 'd':
		if (t->len > 0)
			emit_line(t);
		break;
	case 'H':	/* cursor position: row;column */
	case 'f':
		if (t->len > 0)
			emit_line(t);
		set_col(t, param(t, 1, 1) - 1);
		break;
	default:	/* colours, modes, scrolling: nothing to text */
		break;
	}
}

static void
vt_step(hoop_rec_export_text_t *t, uint32_t cp, int64_t now)
{
	switch (t->state) {
	case VT_GROUND:
		if (!control(t, cp))
			put_char(t, cp, now);
		return;
	case VT_ESC:
		t->state = VT_GROUND;
		if (cp == '[') {
			t->state = VT_CSI;
			t->nparams = 0;
			t->params[0] = 0;
			t->csi_private = 0;
		} else if (cp == ']' || cp == 'P' || cp == 'X' || cp == '^' ||
		    cp == '_') {
			t->state = VT_STRING;
		} else if (cp >= 0x20 && cp <= 0x2f) {
			t->state = VT_ESC_INTER;
		} else if (cp == 'E' || cp == 'D') {
			/* next line, index */
			emit_line(t);
		} else if (cp < 0x20) {
			control(t, cp);
		}
		return;
	case VT_ESC_INTER:
		if (cp >= 0x20 && cp <= 0x2f)
			return;
		t->state = VT_GROUND;
		if (cp < 0x20)
			control(t, cp);
		return;
	case VT_CSI:
		if (cp >= '0' && cp <= '9') {
			if (t->nparams == 0)
				t->nparams = 1;
			if (t->nparams <= CSI_MAX_PARAMS) {
				unsigned *p = &t->params[t->nparams - 1];

				*p = *p * 10 + (cp - '0');
				if (*p > CSI_MAX_VALUE)
					*p = CSI_MAX_VALUE;
			}
		} else if (cp == ';' || cp == ':') {
			if (t->nparams == 0)
				t->nparams = 1;
			if (t->nparams < CSI_MAX_PARAMS)
				t->params[t->nparams] = 0;
			t->nparams++;
		} else if (cp == '?' || cp == '>' || cp == '<' || cp == '=' ||
		    (cp >= 0x20 && cp <= 0x2f)) {
			t->csi_private = 1;
		} else if (cp >= 0x40 && cp <= 0x7e) {
			t->state = VT_GROUND;
			if (t->nparams > CSI_MAX_PARAMS)
				t->nparams = CSI_MAX_PARAMS;
			csi_final(t, cp);
		} else if (cp == 0x18 || cp == 0x1a) {
			t->state = VT_GROUND;	/* CAN, SUB: cancelled */
		} else if (cp < 0x20 || cp == 0x9b) {
			control(t, cp);		/* executed inside too */
		} else {
			t->state = VT_GROUND;	/* malformed: dropped */
		}
		return;
	case VT_STRING:
		if (cp == 0x07 || cp == 0x9c || cp == 0x18 || cp == 0x1a)
			t->state = VT_GROUND;
		else if (cp == 0x1b)
			t->state = VT_STRING_ESC;
		return;
	case VT_STRING_ESC:
		if (cp == '\\') {
			t->state = VT_GROUND;
		} else {
			/* ESC began something else: the string is over. */
			t->state = VT_ESC;
			vt_step(t, cp, now);
		}
		return;
	}
}

hoop_err_t
hoop_rec_export_text_feed(hoop_rec_export_text_t *t, int64_t time_us,
    const void *buf, size_t len)
{
	size_t pos = 0;
	uint32_t cp;

	while (!t->stopped && u8_next(&t->u8, buf, len, &pos, 0, &cp))
		vt_step(t, cp, time_us);
	return t->stopped ? HOOP_ERR_IO : HOOP_OK;
}

hoop_err_t
hoop_rec_export_text_finish(hoop_rec_export_text_t *t)
{
	size_t pos = 0;
	uint32_t cp;

	while (!t->stopped && u8_next(&t->u8, NULL, 0, &pos, 1, &cp))
		vt_step(t, cp, t->line_time);
	if (t->len > 0)
		emit_line(t);
	return t->stopped ? HOOP_ERR_IO : HOOP_OK;
}

/* ---- export ---- */

int
hoop_rec_export_format_parse(const char *name,
    enum hoop_rec_export_format *format)
{
	if (strcmp(name, "text") == 0)
		*format = HOOP_REC_EXPORT_TEXT;
	else if (strcmp(name, "asciicast") == 0)
		*format = HOOP_REC_EXPORT_ASCIICAST;
	else if (strcmp(name, "ttyrec") == 0)
		*format = HOOP_REC_EXPORT_TTYREC;
	else
		return -1;
	return 0;
}

/* Where a recording is read from: its directory or buffers. */
struct rec_source {
	const char *dir, *id;
	const void *output, *events;
	size_t output_len, events_len;
};

static hoop_err_t
source_reader(const struct rec_source *src, hoop_rec_reader_t **out)
{
	if (src->dir != NULL)
		return hoop_rec_reader_open(src->dir, src->id, out);
	return hoop_rec_reader_open_mem(src->output, src->output_len,
	    src->events, src->events_len, out);
}

struct asciicast {
	FILE *out;
	int64_t t0, last;
	unsigned rows, cols;
	int header_done, size_seen;
	struct hoop_rec_export_utf8 u8[2];	/* output, input */
	char *buf;
	size_t cap;
};

/* What the header needs: the first window size and the start. */
static hoop_err_t
asciicast_scan(const struct rec_source *src, struct asciicast *a)
{
	struct hoop_rec_frame f;
	hoop_rec_reader_t *r = NULL;
	hoop_err_t err;
	int first = 1;

	a->rows = 24;
	a->cols = 80;
	if ((err = source_reader(src, &r)) != HOOP_OK)
		return err;
	while (hoop_rec_next(r, &f) == HOOP_OK && f.type != HOOP_REC_EOF) {
		if (first)
			a->t0 = f.time_us;
		first = 0;
		if (f.type == HOOP_REC_WINSIZE) {
			if (f.u.winsize.rows > 0 && f.u.winsize.cols > 0) {
				a->rows = f.u.winsize.rows;
				a->cols = f.u.winsize.cols;
			}
			break;
		}
	}
	hoop_rec_reader_free(r);
	return HOOP_OK;
}

static int
asciicast_header(struct asciicast *a, const struct hoop_rec_frame *f)
{
	a->header_done = 1;
	if (f->type == HOOP_REC_START)
		a->t0 = f->time_us;
	a->last = 0;
	fprintf(a->out, "{\"version\": 2, \"width\": %u, \"height\": %u, "
	    "\"timestamp\": %" PRId64 ", \"title\": ", a->cols, a->rows,
	    a->t0 / 1000000);
	if (f->type == HOOP_REC_START) {
		/* The reader checked the id's characters. */
		fputs("\"hoop session ", a->out);
		fwrite(f->u.start.session_id.ptr, 1,
		    f->u.start.session_id.len, a->out);
		fputs("\"", a->out);
	} else {
		fputs("\"hoop session\"", a->out);
	}
	return fputs("}\n", a->out) == EOF ? -1 : 0;
}

/* One event line; times never go back, even in a damaged file. */
static int
asciicast_event(struct asciicast *a, int64_t time_us, const char *type,
    const char *data, size_t len)
{
	int64_t t = time_us - a->t0;

	if (t < a->last)
		t = a->last;
	a->last = t;
	fprintf(a->out, "[%" PRId64 ".%06" PRId64 ", \"%s\", ", t / 1000000,
	    t % 1000000, type);
	if (hoop_rec_export_json_string(a->out, data, len) != 0)
		return -1;
	return fputs("]\n", a->out) == EOF ? -1 : 0;
}

static int
asciicast_data(struct asciicast *a, int dir, int64_t time_us,
    const void *data, size_t len, int final)
{
	size_t need = HOOP_REC_EXPORT_UTF8_ROOM(len), n;
	char *nb;

	if (need > a->cap) {
		if ((nb = realloc(a->buf, need)) == NULL)
			return -1;
		a->buf = nb;
		a->cap = need;
	}
	n = hoop_rec_export_utf8(&a->u8[dir], data, len, final, a->buf);
	if (n == 0)
		return 0;
	return asciicast_event(a, time_us, dir == 0 ? "o" : "i", a->buf, n);
}

static int
asciicast_frame(struct asciicast *a, const struct hoop_rec_frame *f)
{
	char size[32];
	const struct hoop_rec_str *line;

	if (!a->header_done && asciicast_header(a, f) != 0)
		return -1;
	switch (f->type) {
	case HOOP_REC_OUTPUT:
		return asciicast_data(a, 0, f->time_us, f->data, f->len, 0);
	case HOOP_REC_INPUT:
		return asciicast_data(a, 1, f->time_us, f->data, f->len, 0);
	case HOOP_REC_WINSIZE:
		/* The first one is the header's. */
		if (!a->size_seen) {
			a->size_seen = 1;
			return 0;
		}
		if (f->u.winsize.rows == 0 || f->u.winsize.cols == 0 ||
		    (f->u.winsize.rows == a->rows &&
		    f->u.winsize.cols == a->cols))
			return 0;
		a->rows = f->u.winsize.rows;
		a->cols = f->u.winsize.cols;
		snprintf(size, sizeof(size), "%ux%u", a->cols, a->rows);
		return asciicast_event(a, f->time_us, "r", size, strlen(size));
	case HOOP_REC_COMMAND: {
		struct hoop_rec_export_utf8 u8 = { .n_held = 0 };
		char *text;
		size_t n;
		int ret;

		line = &f->u.command.line;
		if ((text = malloc(HOOP_REC_EXPORT_UTF8_ROOM(line->len))) ==
		    NULL)
			return -1;
		n = hoop_rec_export_utf8(&u8, line->ptr, line->len, 1, text);
		ret = asciicast_event(a, f->time_us, "m", text, n);
		free(text);
		return ret;
	}
	default:
		return 0;
	}
}

static int
ttyrec_frame(FILE *out, const struct hoop_rec_frame *f)
{
	unsigned char hdr[HOOP_REC_HEADER_SIZE];
	uint32_t v[3];
	int i, k;

	if (f->type != HOOP_REC_OUTPUT)
		return 0;
	v[0] = (uint32_t)(f->time_us / 1000000);
	v[1] = (uint32_t)(f->time_us % 1000000);
	v[2] = (uint32_t)f->len;
	for (i = 0; i < 3; i++) {
		for (k = 0; k < 4; k++)
			hdr[4 * i + k] = (unsigned char)(v[i] >> (8 * k));
	}
	if (fwrite(hdr, 1, sizeof(hdr), out) != sizeof(hdr) ||
	    fwrite(f->data, 1, f->len, out) != f->len)
		return -1;
	return 0;
}

static int
text_line(void *arg, int64_t time_us, const char *line, size_t len)
{
	FILE *out = arg;

	(void)time_us;
	if (len > 0 && fwrite(line, 1, len, out) != len)
		return -1;
	return putc('\n', out) == EOF ? -1 : 0;
}

static hoop_err_t
export_source(const struct rec_source *src, enum hoop_rec_export_format fmt,
    FILE *out, char *why, size_t whylen)
{
	struct asciicast a;
	struct hoop_rec_frame f;
	hoop_rec_reader_t *r = NULL;
	hoop_rec_export_text_t *text = NULL;
	hoop_err_t ret, rerr;
	int64_t last_time = 0;
	int failed = 0;

	memset(&a, 0, sizeof(a));
	a.out = out;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (fmt == HOOP_REC_EXPORT_ASCIICAST &&
	    (ret = asciicast_scan(src, &a)) != HOOP_OK)
		goto out;
	if (fmt == HOOP_REC_EXPORT_TEXT &&
	    (ret = hoop_rec_export_text_new(text_line, out, &text)) != HOOP_OK)
		goto out;
	if ((ret = source_reader(src, &r)) != HOOP_OK)
		goto out;
	while ((rerr = hoop_rec_next(r, &f)) == HOOP_OK &&
	    f.type != HOOP_REC_EOF) {
		last_time = f.time_us;
		switch (fmt) {
		case HOOP_REC_EXPORT_TEXT:
			if (f.type == HOOP_REC_OUTPUT)
				failed = hoop_rec_export_text_feed(text,
				    f.time_us, f.data, f.len) != HOOP_OK;
			break;
		case HOOP_REC_EXPORT_ASCIICAST:
			failed = asciicast_frame(&a, &f) != 0;
			break;
		case HOOP_REC_EXPORT_TTYREC:
			failed = ttyrec_frame(out, &f) != 0;
			break;
		}
		if (failed)
			break;
	}
	/* What is held back at the end goes out (repaired). */
	if (!failed && fmt == HOOP_REC_EXPORT_TEXT)
		failed = hoop_rec_export_text_finish(text) != HOOP_OK;
	if (!failed && fmt == HOOP_REC_EXPORT_ASCIICAST && a.header_done)
		failed = asciicast_data(&a, 0, last_time, NULL, 0, 1) != 0 ||
		    asciicast_data(&a, 1, last_time, NULL, 0, 1) != 0;
	if (failed || fflush(out) != 0 || ferror(out)) {
		ret = HOOP_ERR_IO;
		goto out;
	}
	ret = rerr;
	if (ret != HOOP_OK)
		hoop_why(why, whylen, "%s", hoop_rec_reader_problem(r));
out:
	hoop_rec_reader_free(r);
	hoop_rec_export_text_free(text);
	free(a.buf);
	return ret;
}

hoop_err_t
hoop_rec_export(const char *recordings_dir, const char *session_id,
    enum hoop_rec_export_format format, FILE *out, char *why, size_t whylen)
{
	struct rec_source src = { .dir = recordings_dir, .id = session_id };

	return export_source(&src, format, out, why, whylen);
}

hoop_err_t
hoop_rec_export_mem(const void *output, size_t output_len,
    const void *events, size_t events_len,
    enum hoop_rec_export_format format, FILE *out, char *why, size_t whylen)
{
	struct rec_source src = { .output = output, .output_len = output_len,
	    .events = events, .events_len = events_len };

	return export_source(&src, format, out, why, whylen);
}
