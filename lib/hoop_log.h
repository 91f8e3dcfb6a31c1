/* Logging: syslog always, stderr as well for command-line tools. */
#ifndef HOOP_LOG_H
#define HOOP_LOG_H

#include <syslog.h>

/* Where log lines go besides syslog. */
enum hoop_log_flags {
	HOOP_LOG_STDERR = 1 << 0,	/* CLI tools: also print to stderr */
	HOOP_LOG_NO_SYSLOG = 1 << 1,	/* tests and fuzzers */
};

void hoop_log_init(const char *ident, int facility, int flags);
void hoop_log(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Security events for the authentication facility (authpriv). */
void hoop_log_auth(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
