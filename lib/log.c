#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "hoop_log.h"

static const char *log_ident = "hoop";
static int log_facility = LOG_AUTHPRIV;
static int log_flags;

void
hoop_log_init(const char *ident, int facility, int flags)
{
	log_ident = ident != NULL ? ident : "hoop";
	log_facility = facility;
	log_flags = flags;
}

static void
log_v(int facility, int priority, const char *fmt, va_list ap)
{
	va_list copy;

	if (!(log_flags & HOOP_LOG_NO_SYSLOG)) {
		va_copy(copy, ap);
		/* vsyslog with explicit facility: no openlog(), which would
		 * change the host process's syslog identity (PAM, NSS). */
		vsyslog(facility | priority, fmt, copy);
		va_end(copy);
	}
	if (log_flags & HOOP_LOG_STDERR) {
		fprintf(stderr, "%s: ", log_ident);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
}

void
hoop_log(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(log_facility, priority, fmt, ap);
	va_end(ap);
}

void
hoop_log_auth(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(LOG_AUTHPRIV, priority, fmt, ap);
	va_end(ap);
}
