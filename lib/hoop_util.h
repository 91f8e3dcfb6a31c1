/* Small utilities shared by every component. */
#ifndef HOOP_UTIL_H
#define HOOP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "hoop_err.h"

/* Reads a whole regular file, refusing symlinks and anything over max_size.
 * The buffer is NUL-terminated (not counted in *len); free with free(). */
hoop_err_t hoop_read_file(const char *path, size_t max_size, char **out,
    size_t *len);

/* Writes data to path atomically (temporary file in the same directory,
 * fsync, rename), so a reader sees the old or the new file, never half. */
hoop_err_t hoop_write_file_atomic(const char *path, const void *data,
    size_t len, unsigned mode);

/* Lower-case hex of len bytes; out must hold 2*len+1 bytes. */
void hoop_hex_encode(const unsigned char *in, size_t len, char *out);

/* Formats into why (if not NULL and whylen > 0): the reason a call
 * failed, for its caller's log line. */
void hoop_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Wipes (it may hold a token or a secret) and frees a string. */
void hoop_wipe_free(char *s);

/* 1 if the comma-separated list holds the n bytes of name as one item. */
int hoop_list_has(const char *list, const char *name, size_t n);

/* Length of the valid UTF-8 sequence at s (len > 0 bytes) with its code
 * point, or 0 (overlong, surrogate, past U+10FFFF, cut short). */
size_t hoop_utf8_next(const unsigned char *s, size_t len, uint32_t *cp);
/* Code points that must not reach a reader's terminal as they are: C1
 * controls (some terminals act on them), and invisible or reordering
 * ones (bidi overrides and isolates, zero-width) that make text read
 * other than it is. */
int hoop_deceptive_cp(uint32_t cp);
/* Writes len bytes of text someone else chose to a terminal or a text
 * report, unambiguous and inert: control bytes, DEL, backslash and bytes
 * that are not UTF-8 as \xHH, deceptive code points as \u{HHHH},
 * everything else as it is; NULL as "-". */
void hoop_put_safe(FILE *out, const char *s, size_t len);
/* The same, with backslashes kept as they are when keep_backslash (text
 * such as SQL that a reader reads more easily with them). */
void hoop_put_safe_ex(FILE *out, const char *s, size_t len,
    int keep_backslash);

/* An environment for a program the wrappers run, built from an allowlist:
 * "NAME=value" strings, NULL-terminated for execve. */
#define HOOP_ENV_MAX 64
struct hoop_env {
	char *v[HOOP_ENV_MAX + 1];
	size_t n;
};
/* Adds NAME=value; -1 (nothing added) for NULL, a newline, over 4096
 * bytes or a full set. */
int hoop_env_add(struct hoop_env *e, const char *name, const char *value);
/* Adds each of names that is set in our own environment. */
void hoop_env_keep(struct hoop_env *e, const char *const *names, size_t n);
void hoop_env_free(struct hoop_env *e);
/* In a setgid wrapper's child: default signals, the real gid for good
 * (checked), the child dies with parent (unless 0, and it must still be
 * our parent), no stray descriptors, umask 022, then path. Never
 * returns: 126 if a step fails, 127 if path cannot run; prog names the
 * program in messages. */
void hoop_exec_dropped(const char *prog, const char *path, char **argv,
    char **envp, pid_t parent) __attribute__((noreturn));

/* Closes every fd >= lowfd (stray descriptors inherited from the caller). */
void hoop_closefrom(int lowfd);
/* For setgid programs at start: 0, 1 and 2 open (on /dev/null if not;
 * _exit(1) if that fails), nothing else inherited. */
void hoop_sanitize_fds(void);
/* A secret file's bytes (at most max), one trailing newline (and CR)
 * removed; empty is refused. why names the file; free with
 * hoop_wipe_free. */
hoop_err_t hoop_read_secret(const char *path, size_t max, char **out,
    size_t *len, char *why, size_t whylen);
/* Milliseconds on the monotonic clock, for timeouts. */
int64_t hoop_mono_ms(void);
/* A shell's exit status for a waitpid() status: the code, or 128 plus
 * the signal. */
int hoop_exit_status(int wstatus);

/* Parses a duration such as "90s", "15m", "1h30m", "2d" or a plain number of
 * seconds. Returns 0 and sets *seconds, or -1 on malformed or overflowing
 * input. */
int hoop_parse_duration(const char *text, long *seconds);
/* Parses a size: a number of bytes with an optional K, M, G or T suffix
 * (powers of 1024). Returns 0 and sets *bytes, or -1. */
int hoop_parse_size(const char *text, unsigned long long *bytes);

#endif
