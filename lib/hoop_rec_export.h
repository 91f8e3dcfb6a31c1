/*
 * Recordings for auditors: plain text (escape sequences removed,
 * carriage returns and backspaces applied), asciicast v2 (what the
 * asciinema players play) and plain ttyrec; and the pieces they are made
 * of, which hoopctl's show and grep use as well.
 *
 * Everything here takes bytes a principal chose: any byte sequence is
 * accepted, and what comes out is always valid UTF-8.
 */
#ifndef HOOP_REC_EXPORT_H
#define HOOP_REC_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hoop_err.h"

/*
 * UTF-8 repair over a stream cut into pieces (frames): a sequence split
 * between two calls is held back and completed by the next one; bytes
 * that cannot be UTF-8 (and surrogates, overlongs, values past U+10FFFF)
 * become U+FFFD, one for each maximal invalid subpart. Zero the struct to
 * start.
 */
struct hoop_rec_export_utf8 {
	unsigned char held[4];
	size_t n_held;
};
/* Room the output of one call needs for len input bytes. */
#define HOOP_REC_EXPORT_UTF8_ROOM(len)	(3 * ((size_t)(len) + 4))
/* Writes the repaired text of in (after what was held) to out and returns
 * its length; with final, nothing is held back (an unfinished sequence
 * becomes U+FFFD). len must be below SIZE_MAX / 4. */
size_t hoop_rec_export_utf8(struct hoop_rec_export_utf8 *st, const void *in,
    size_t len, int final, char *out);

/*
 * Terminal output to lines of text: UTF-8 repaired; escape sequences
 * (CSI, OSC and other strings, two- and three-byte escapes, their C1
 * forms) removed; carriage return, backspace, tab, cursor left/right,
 * erase in line, insert and delete characters applied to the current
 * line; cursor moves to other rows and vertical tabs break the line;
 * other control characters dropped. Lines longer than
 * HOOP_REC_EXPORT_LINE_MAX characters are broken.
 */
#define HOOP_REC_EXPORT_LINE_MAX	16384
typedef struct hoop_rec_export_text hoop_rec_export_text_t;
/* A finished line (UTF-8, no control characters, no newline, trailing
 * spaces removed) and the time its last character was written: when all
 * of it could be seen. Non-zero stops the conversion (the feed returns
 * HOOP_ERR_IO). */
typedef int (*hoop_rec_export_line_fn)(void *arg, int64_t time_us,
    const char *line, size_t len);
hoop_err_t hoop_rec_export_text_new(hoop_rec_export_line_fn fn, void *arg,
    hoop_rec_export_text_t **out);
hoop_err_t hoop_rec_export_text_feed(hoop_rec_export_text_t *t,
    int64_t time_us, const void *buf, size_t len);
/* Ends the stream: the last line, if anything is on it. */
hoop_err_t hoop_rec_export_text_finish(hoop_rec_export_text_t *t);
void hoop_rec_export_text_free(hoop_rec_export_text_t *t);

/*
 * A JSON string literal (with its quotes) of len bytes of valid UTF-8,
 * control characters, DEL, C1 controls and U+2028/9 as \u escapes.
 * Returns 0, or -1 when out fails.
 */
int hoop_rec_export_json_string(FILE *out, const char *s, size_t len);

enum hoop_rec_export_format {
	HOOP_REC_EXPORT_TEXT,
	HOOP_REC_EXPORT_ASCIICAST,
	HOOP_REC_EXPORT_TTYREC,
};

/* "text", "asciicast", "ttyrec"; -1 for anything else. */
int hoop_rec_export_format_parse(const char *name,
    enum hoop_rec_export_format *format);

/*
 * Writes a recording to out:
 *  TEXT       the output as lines of text (input and events left out).
 *  ASCIICAST  v2: a header (width and height from the first window size,
 *             else 80x24; timestamp of START; title), then one line per
 *             event: [seconds, "o", text] for output, "i" for input (only
 *             there if it was recorded), "r" "COLSxROWS" for later window
 *             sizes and "m" markers for commands. Every line is JSON;
 *             sequences split between frames are kept whole.
 *  TTYREC     the output frames, byte for byte as in output.ttyrec.
 * A damaged recording is exported up to its problem: then the reader's
 * error (HOOP_ERR_REC_TRUNCATED, HOOP_ERR_REC_FORMAT) is returned, with
 * the problem in why. HOOP_ERR_IO: out failed.
 */
hoop_err_t hoop_rec_export(const char *recordings_dir, const char *session_id,
    enum hoop_rec_export_format format, FILE *out, char *why, size_t whylen);
/* The same over buffers (fuzzing, tests). */
hoop_err_t hoop_rec_export_mem(const void *output, size_t output_len,
    const void *events, size_t events_len,
    enum hoop_rec_export_format format, FILE *out, char *why, size_t whylen);

#endif
