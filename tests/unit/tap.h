/* Minimal TAP producer for the C unit tests. */
#ifndef HOOP_TAP_H
#define HOOP_TAP_H

#include <stdio.h>
#include <stdarg.h>

static int tap_count, tap_failed;

static inline int
tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) do { long _g = (long)(got), _w = (long)(want); \
	if (!ok(_g == _w, __VA_ARGS__)) printf("#   got %ld, want %ld\n", _g, _w); } while (0)

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed != 0;
}

#endif
