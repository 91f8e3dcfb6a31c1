/* Export of recordings: UTF-8 repair across frames and of invalid bytes,
 * terminal output to text (escape sequences, carriage returns,
 * backspaces, line editing, hostile sequences), JSON strings, and whole
 * recordings as text, asciicast and ttyrec. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hoop_rec_export.h"
#include "hoop_recording.h"
#include "hoop_util.h"
#include "tap.h"

static char dir[] = "/tmp/hoop-test-recx.XXXXXX";

/* ---- UTF-8 ---- */

/* Repairs the pieces in turn, the last one final. */
static char *
fix(const char *const *pieces, const size_t *lens, size_t n, size_t *outlen)
{
	struct hoop_rec_export_utf8 st = { .n_held = 0 };
	static char out[4096];
	size_t o = 0, i;

	for (i = 0; i < n; i++)
		o += hoop_rec_export_utf8(&st, pieces[i], lens[i],
		    i == n - 1, out + o);
	out[o] = '\0';
	*outlen = o;
	return out;
}

static int
fix_is(const char *in, const char *want)
{
	const char *p[1] = { in };
	size_t l[1] = { strlen(in) }, n;
	char *got = fix(p, l, 1, &n);

	return n == strlen(want) && memcmp(got, want, n) == 0;
}

#define FFFD "\xef\xbf\xbd"

static void
test_utf8(void)
{
	/* a, e acute, euro, G clef, CJK: 1 to 4 bytes */
	static const char text[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e"
	    "\xe6\x97\xa5z";
	size_t len = strlen(text), i, j, n;
	int all = 1;

	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j++) {
			const char *p[3] = { text, text + i, text + j };
			size_t l[3] = { i, j - i, len - j };
			char *got = fix(p, l, 3, &n);

			if (n != len || memcmp(got, text, len) != 0)
				all = 0;
		}
	}
	ok(all, "valid UTF-8 cut anywhere into three pieces comes out whole");

	ok(fix_is("\xff", FFFD), "0xff becomes U+FFFD");
	ok(fix_is("a\x80z", "a" FFFD "z"), "a lone continuation byte");
	ok(fix_is("\xc3(", FFFD "("), "a lead byte followed by ASCII keeps the "
	    "ASCII");
	ok(fix_is("\xc0\xaf", FFFD FFFD), "overlong: each byte replaced");
	ok(fix_is("\xe0\x80\xaf", FFFD FFFD FFFD), "overlong 3-byte form");
	ok(fix_is("\xed\xa0\x80", FFFD FFFD FFFD), "surrogate refused");
	ok(fix_is("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD),
	    "past U+10FFFF refused");
	ok(fix_is("\xe2\x82", FFFD), "a cut sequence at the very end is one "
	    "U+FFFD");
	ok(fix_is("\xe2\x82x", FFFD "x"), "a cut sequence inside is one "
	    "U+FFFD");
	{
		const char *p[2] = { "\xe2\x82", "A" };
		size_t l[2] = { 2, 1 };
		char *got = fix(p, l, 2, &n);

		ok(n == 4 && memcmp(got, FFFD "A", 4) == 0, "held bytes "
		    "completed wrongly by the next piece become U+FFFD");
	}
	{
		const char *p[4] = { "\xf0", "\x9d\x84", "", "\x9e!" };
		size_t l[4] = { 1, 2, 0, 2 };
		char *got = fix(p, l, 4, &n);

		ok(n == 5 && memcmp(got, "\xf0\x9d\x84\x9e!", 5) == 0,
		    "a 4-byte sequence over three pieces and an empty one");
	}
	{
		struct hoop_rec_export_utf8 st = { .n_held = 0 };
		char out[64];

		n = hoop_rec_export_utf8(&st, "ab\xe2", 3, 0, out);
		ok(n == 2 && st.n_held == 1, "an unfinished sequence is held");
		n = hoop_rec_export_utf8(&st, NULL, 0, 1, out);
		ok(n == 3 && memcmp(out, FFFD, 3) == 0, "and replaced at "
		    "the end");
	}
	{
		/* Worst case room: every byte invalid. */
		unsigned char bad[300];
		char *out = malloc(HOOP_REC_EXPORT_UTF8_ROOM(sizeof(bad)));
		struct hoop_rec_export_utf8 st = { .n_held = 0 };

		memset(bad, 0xfe, sizeof(bad));
		n = hoop_rec_export_utf8(&st, bad, sizeof(bad), 1, out);
		ok(n == 3 * sizeof(bad), "300 invalid bytes: 300 U+FFFD");
		free(out);
	}
}

/* ---- text ---- */

struct lines {
	char text[65536];
	size_t len;
	int count;
	int64_t times[64];
	int stop_after;		/* > 0: the callback stops after so many */
	size_t longest;
};

static int
collect(void *arg, int64_t time_us, const char *line, size_t len)
{
	struct lines *l = arg;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		/* No control character ever reaches a line. */
		if (c < 0x20 || c == 0x7f)
			return -1;
	}
	if (l->count < 64)
		l->times[l->count] = time_us;
	l->count++;
	if (len > l->longest)
		l->longest = len;
	if (l->len + len + 1 < sizeof(l->text)) {
		memcpy(l->text + l->len, line, len);
		l->len += len;
		l->text[l->len++] = '\n';
		l->text[l->len] = '\0';
	}
	if (l->stop_after > 0 && l->count >= l->stop_after)
		return 1;
	return 0;
}

/* Converts the pieces (one feed each, times 1, 2, ...) into l. */
static hoop_err_t
text_of(struct lines *l, const char *const *pieces, size_t n)
{
	hoop_rec_export_text_t *t = NULL;
	hoop_err_t err;
	size_t i;

	memset(l, 0, sizeof(*l));
	if ((err = hoop_rec_export_text_new(collect, l, &t)) != HOOP_OK)
		return err;
	for (i = 0; i < n && err == HOOP_OK; i++)
		err = hoop_rec_export_text_feed(t, (int64_t)i + 1, pieces[i],
		    strlen(pieces[i]));
	if (err == HOOP_OK)
		err = hoop_rec_export_text_finish(t);
	hoop_rec_export_text_free(t);
	return err;
}

static int
text_is(const char *in, const char *want)
{
	struct lines l;
	const char *p[1] = { in };

	if (text_of(&l, p, 1) != HOOP_OK)
		return 0;
	if (strcmp(l.text, want) != 0) {
		printf("#   got \"%s\"\n#   want \"%s\"\n", l.text, want);
		return 0;
	}
	return 1;
}

static void
test_text(void)
{
	struct lines l;

	ok(text_is("plain\r\nlines\n", "plain\nlines\n"), "CRLF and LF end "
	    "lines");
	ok(text_is("\x1b[1;32mgreen\x1b[0m and \x1b[38;5;208mplain\r\n",
	    "green and plain\n"), "SGR colours removed");
	ok(text_is("progress 10%\rprogress 100%\r\n", "progress 100%\n"),
	    "carriage return overwrites");
	ok(text_is("long line\rshort\r\n", "shortline\n"), "a shorter "
	    "overwrite leaves the rest, as a terminal shows it");
	ok(text_is("long line\rshort\x1b[K\r\n", "short\n"), "erase to end "
	    "of line");
	ok(text_is("typo\b\bpo fixed\r\n", "typo fixed\n"), "backspaces move "
	    "back");
	ok(text_is("abc\b \b\b \b\r\n", "a\n"), "readline's rubout "
	    "(backspace, space, backspace)");
	ok(text_is("\b\b\bx\n", "x\n"), "backspace at column 0 stays");
	ok(text_is("erase me\x1b[2K\rgone\r\n", "gone\n"), "erase the whole "
	    "line");
	ok(text_is("0123456789\x1b[5G\x1b[1KX\n", "    X56789\n"),
	    "erase to the cursor, column");
	ok(text_is("abcdef\x1b[3D\x1b[2P\n", "abcf\n"), "delete characters");
	ok(text_is("abcdef\x1b[3D\x1b[2@XY\n", "abcXYdef\n"), "insert blanks");
	ok(text_is("abcdef\r\x1b[2C\x1b[2X\n", "ab  ef\n"), "cursor forward, "
	    "erase characters");
	ok(text_is("col\tumn\tx\n", "col     umn     x\n"), "tabs to every 8 "
	    "columns");
	ok(text_is("\x1b]0;window title\x07title set\r\n", "title set\n"),
	    "OSC ended by BEL");
	ok(text_is("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ text\n",
	    "link text\n"), "OSC ended by ST");
	ok(text_is("\x1bP+q544e\x1b\\after\n", "after\n"), "DCS removed");
	ok(text_is("a\x1b(Bb\x1b" "7c\x1b" "8d\n", "abcd\n"), "charset and "
	    "save/restore escapes removed");
	ok(text_is("\x1b[?2004hprompt\x1b[?25l$ \n", "prompt$\n"),
	    "private modes removed, trailing spaces trimmed");
	ok(text_is("bell\x07 nul\x01\x7f end\n", "bell nul end\n"), "other "
	    "control characters dropped");
	ok(text_is("\xc2\x9b" "31mc1 csi\xc2\x9d" "0;t\xc2\x9c ok\n",
	    "c1 csi ok\n"), "C1 forms of CSI, OSC and ST");
	ok(text_is("bad \xff byte\n", "bad " FFFD " byte\n"), "invalid UTF-8 "
	    "replaced");
	ok(text_is("top\x1b[2;1Hsecond\x1b[3;5Hthird\n",
	    "top\nsecond\n    third\n"), "cursor position starts a new line "
	    "at its column");
	ok(text_is("x\x1b[A\x1b[Ay\n", "x\ny\n"), "cursor up breaks the line "
	    "once");
	ok(text_is("a\x1b[31\n;1mb\n", "a\nb\n"), "a control inside CSI is "
	    "executed");
	ok(text_is("a\x1b[3\x18" "b\n", "ab\n"), "CAN cancels a sequence");
	ok(text_is("no newline at the end", "no newline at the end\n"),
	    "finish emits the last line");
	ok(text_is("\r\n\r\nx\r\n", "\n\nx\n"), "empty lines kept");
	ok(text_is("\x1b]unterminated title\nstill title", ""),
	    "an unterminated OSC swallows the rest (as terminals do)");
	ok(text_is("\x1b[99999999999999999999;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1"
	    ";1;1;1;1;1;1;1;1mx\n", "x\n"), "huge and many parameters");
	{
		struct lines l2;
		const char *p[1] = { "\x1b[99999999999Cx\n" };

		ok(text_of(&l2, p, 1) == HOOP_OK && l2.longest ==
		    HOOP_REC_EXPORT_LINE_MAX, "cursor forward is capped at the "
		    "line limit (%zu)", l2.longest);
	}

	{
		const char *p[4] = { "caf\xc3", "\xa9 au", " lait\r\neuro \xe2",
		    "\x82\xac\n" };

		ok(text_of(&l, p, 4) == HOOP_OK && strcmp(l.text,
		    "caf\xc3\xa9 au lait\neuro \xe2\x82\xac\n") == 0,
		    "UTF-8 split between feeds kept whole");
		ok(l.count == 2 && l.times[0] == 3 && l.times[1] == 4,
		    "a line's time is its last character's");
	}
	{
		const char *p[3] = { "\x1b", "[3", "1mred\x1b[0m\n" };

		ok(text_of(&l, p, 3) == HOOP_OK && strcmp(l.text, "red\n") ==
		    0, "an escape sequence split between feeds");
	}
	{
		/* A line longer than the limit is broken, nothing lost. */
		size_t n = HOOP_REC_EXPORT_LINE_MAX + 100;
		char *big = malloc(n + 2);
		const char *p[1] = { big };

		memset(big, 'x', n);
		big[n] = '\n';
		big[n + 1] = '\0';
		ok(text_of(&l, p, 1) == HOOP_OK && l.count == 2 &&
		    l.longest == HOOP_REC_EXPORT_LINE_MAX &&
		    l.len == n + 2, "over-long line broken at %d",
		    HOOP_REC_EXPORT_LINE_MAX);
		free(big);
	}
	{
		const char *p[1] = { "1\n2\n3\n4\n" };

		memset(&l, 0, sizeof(l));
		{
			hoop_rec_export_text_t *t = NULL;
			hoop_err_t e1, e2;

			l.stop_after = 2;
			hoop_rec_export_text_new(collect, &l, &t);
			e1 = hoop_rec_export_text_feed(t, 1, p[0],
			    strlen(p[0]));
			e2 = hoop_rec_export_text_feed(t, 2, "5\n", 2);
			ok(e1 == HOOP_ERR_IO && e2 == HOOP_ERR_IO &&
			    l.count == 2, "a callback that stops ends the "
			    "conversion");
			hoop_rec_export_text_free(t);
		}
	}
}

/* ---- JSON and terminal-safe strings ---- */

static char *
captured(void (*fn)(FILE *, const char *, size_t), const char *s, size_t n)
{
	static char buf[1024];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	fn(f, s, n);
	fclose(f);
	return buf;
}

static void
json_wrap(FILE *f, const char *s, size_t n)
{
	hoop_rec_export_json_string(f, s, n);
}

static void
test_strings(void)
{
	static const char in[] = "q\"b\\n\n\x01\x7f\xc2\x85\xe2\x80\xa8"
	    "\xc3\xa9";
	char *got;
	json_t *j;

	got = captured(json_wrap, in, sizeof(in) - 1);
	ok(strcmp(got, "\"q\\\"b\\\\n\\n\\u0001\\u007f\\u0085\\u2028"
	    "\xc3\xa9\"") == 0, "JSON string escapes: %s", got);
	j = json_loads(got, JSON_DECODE_ANY, NULL);
	ok(j != NULL && json_is_string(j) && json_string_length(j) ==
	    sizeof(in) - 1 && memcmp(json_string_value(j), in,
	    sizeof(in) - 1) == 0, "and decodes to the same bytes");
	json_decref(j);

	got = captured(hoop_put_safe, "a\x1b[2Jb\\\xff\xc3\xa9\xc2"
	    "\x9b", 12);
	ok(strcmp(got, "a\\x1b[2Jb\\x5c\\xff\xc3\xa9\\u{009b}") == 0,
	    "terminal-safe text: %s", got);
	got = captured(hoop_put_safe, "x\xe2\x80\xaey\xe2\x81\xa6z\xe2\x80\x8b",
	    12);
	ok(strcmp(got, "x\\u{202e}y\\u{2066}z\\u{200b}") == 0,
	    "bidi overrides, isolates and zero-width shown as code points: %s",
	    got);
	got = captured(hoop_put_safe, "\xed\xa0\x80\xc0\xaf\xf4\x90\x80\x80", 9);
	ok(strcmp(got, "\\xed\\xa0\\x80\\xc0\\xaf\\xf4\\x90\\x80\\x80") == 0,
	    "surrogates, overlong forms and past U+10FFFF escaped byte by byte: %s",
	    got);
	got = captured(hoop_put_safe, NULL, 0);
	ok(strcmp(got, "-") == 0, "NULL shown as -");
}

/* ---- whole recordings ---- */

static int64_t fake_now = 1763800000000000LL;

static int64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static char *
export_to_string(const char *id, enum hoop_rec_export_format fmt,
    hoop_err_t *err, size_t *len, char *why, size_t whylen)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	*err = hoop_rec_export(dir, id, fmt, f, why, whylen);
	fclose(f);
	*len = n;
	return buf;
}

static void
make_recording(const char *id, int seal)
{
	struct hoop_rec_options o;
	struct hoop_rec_command cmd = { .line = "ls \xff",
	    .decision = "allow" };
	hoop_rec_t *rec = NULL;

	hoop_rec_options_init(&o);
	o.clock = fake_clock;
	if (hoop_rec_create_in(dir, id, &o, &rec) != HOOP_OK)
		return;
	hoop_rec_output(rec, "before size\r\n", strlen("before size\r\n"));
	fake_now += 250000;
	hoop_rec_winsize(rec, 33, 101);
	hoop_rec_input(rec, "ls\r", 3);
	hoop_rec_command(rec, &cmd, NULL);
	fake_now += 1500000;
	hoop_rec_output(rec, "\x1b[1mcaf\xc3", strlen("\x1b[1mcaf\xc3"));
	fake_now += 1000;
	hoop_rec_output(rec, "\xa9\x1b[0m \xfe\r\n",
	    strlen("\xa9\x1b[0m \xfe\r\n"));
	hoop_rec_winsize(rec, 40, 120);
	fake_now += 1000;
	hoop_rec_output(rec, "tail \xe2\x82", strlen("tail \xe2\x82"));
	if (seal)
		hoop_rec_seal(rec, NULL);
	hoop_rec_free(rec);
}

static void
test_export(void)
{
	char why[256], path[512], *buf, *line, *save = NULL, *ttyrec = NULL;
	size_t len, tlen = 0;
	hoop_err_t err;
	json_t *j;
	int lines = 0, valid = 1, o_events = 0, i_events = 0, r_events = 0,
	    m_events = 0;
	double last = -1;
	FILE *f;

	make_recording("x1", 1);

	buf = export_to_string("x1", HOOP_REC_EXPORT_TEXT, &err, &len, why,
	    sizeof(why));
	ok(err == HOOP_OK && buf != NULL && strcmp(buf, "before size\n"
	    "caf\xc3\xa9 " FFFD "\n" "tail " FFFD "\n") == 0,
	    "text export");
	free(buf);

	buf = export_to_string("x1", HOOP_REC_EXPORT_ASCIICAST, &err, &len,
	    why, sizeof(why));
	ok(err == HOOP_OK, "asciicast export");
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		j = json_loads(line, 0, NULL);
		if (j == NULL) {
			valid = 0;
			continue;
		}
		if (lines++ == 0) {
			ok(json_integer_value(json_object_get(j, "version")) ==
			    2 && json_integer_value(json_object_get(j,
			    "width")) == 101 && json_integer_value(
			    json_object_get(j, "height")) == 33 &&
			    json_integer_value(json_object_get(j,
			    "timestamp")) == 1763800000, "header: version 2, "
			    "size from the first window size frame, "
			    "timestamp");
		} else {
			const char *type = json_string_value(json_array_get(j,
			    1));
			double t = json_real_value(json_array_get(j, 0));

			if (t < last || json_array_size(j) != 3 || type == NULL)
				valid = 0;
			last = t;
			if (strcmp(type, "o") == 0) {
				const char *d = json_string_value(
				    json_array_get(j, 2));

				if (o_events == 0 && (t > 0.001 ||
				    strcmp(d, "before size\r\n") != 0))
					valid = 0;
				if (o_events == 1 && (strcmp(d, "\x1b[1mcaf") !=
				    0 || t != 1.75))
					valid = 0;
				if (o_events == 2 && strcmp(d,
				    "\xc3\xa9\x1b[0m " FFFD "\r\n") != 0)
					valid = 0;
				o_events++;
			} else if (strcmp(type, "i") == 0) {
				i_events++;
			} else if (strcmp(type, "r") == 0) {
				if (strcmp(json_string_value(json_array_get(j,
				    2)), "120x40") != 0)
					valid = 0;
				r_events++;
			} else if (strcmp(type, "m") == 0) {
				if (strcmp(json_string_value(json_array_get(j,
				    2)), "ls " FFFD) != 0)
					valid = 0;
				m_events++;
			}
		}
		json_decref(j);
	}
	ok(valid && lines == 9, "every line is JSON, times never go back "
	    "(%d lines)", lines);
	ok(o_events == 5 && i_events == 1 && r_events == 1 && m_events == 1,
	    "events: o %d (the held tail flushed last), i %d, r %d, m %d",
	    o_events, i_events, r_events, m_events);
	free(buf);

	buf = export_to_string("x1", HOOP_REC_EXPORT_TTYREC, &err, &len, why,
	    sizeof(why));
	snprintf(path, sizeof(path), "%s/x1/%s", dir, HOOP_REC_OUTPUT_FILE);
	ok(err == HOOP_OK && hoop_read_file(path, 1 << 20, &ttyrec, &tlen) ==
	    HOOP_OK && tlen == len && memcmp(buf, ttyrec, len) == 0,
	    "ttyrec export is output.ttyrec byte for byte (%zu bytes)", len);
	free(buf);

	/* A torn final frame: everything before it, then the error. */
	if ((f = fopen(path, "w")) != NULL) {
		fwrite(ttyrec, 1, tlen - 3, f);
		fclose(f);
	}
	buf = export_to_string("x1", HOOP_REC_EXPORT_TEXT, &err, &len, why,
	    sizeof(why));
	ok(err == HOOP_ERR_REC_TRUNCATED && strstr(why, "output.ttyrec") !=
	    NULL && buf != NULL && strcmp(buf, "before size\ncaf\xc3\xa9 "
	    FFFD "\n") == 0, "torn output: text up to it, then %s (%s)",
	    hoop_strerror(err), why);
	free(buf);
	buf = export_to_string("x1", HOOP_REC_EXPORT_TTYREC, &err, &len, why,
	    sizeof(why));
	ok(err == HOOP_ERR_REC_TRUNCATED && len == tlen - 12 - 7,
	    "torn output: ttyrec up to the last whole frame");
	free(buf);
	free(ttyrec);

	buf = export_to_string("nope", HOOP_REC_EXPORT_TEXT, &err, &len, why,
	    sizeof(why));
	ok(err == HOOP_ERR_NOTFOUND && len == 0, "a missing recording: %s",
	    hoop_strerror(err));
	free(buf);

	/* Garbage in memory: an error, and output is still valid. */
	{
		static const unsigned char junk[] = { 1, 0, 0, 0, 0, 0, 0, 0,
		    200, 0, 0, 0, 'x' };
		char *mbuf = NULL;
		size_t mlen = 0;
		FILE *mf = open_memstream(&mbuf, &mlen);

		err = hoop_rec_export_mem(junk, sizeof(junk), junk,
		    sizeof(junk), HOOP_REC_EXPORT_ASCIICAST, mf, why,
		    sizeof(why));
		fclose(mf);
		ok(err == HOOP_ERR_REC_TRUNCATED || err == HOOP_ERR_REC_FORMAT,
		    "garbage: %s (%s)", hoop_strerror(err), why);
		free(mbuf);
	}
	{
		enum hoop_rec_export_format fmt;

		ok(hoop_rec_export_format_parse("asciicast", &fmt) == 0 &&
		    fmt == HOOP_REC_EXPORT_ASCIICAST &&
		    hoop_rec_export_format_parse("ttyrec", &fmt) == 0 &&
		    fmt == HOOP_REC_EXPORT_TTYREC &&
		    hoop_rec_export_format_parse("text", &fmt) == 0 &&
		    fmt == HOOP_REC_EXPORT_TEXT &&
		    hoop_rec_export_format_parse("html", &fmt) == -1,
		    "format names");
	}
}

int
main(void)
{
	char cmd[128];

	if (mkdtemp(dir) == NULL)
		return 1;
	test_utf8();
	test_text();
	test_strings();
	test_export();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return done_testing();
}
