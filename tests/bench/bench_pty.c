/*
 * Drives a program on a terminal, as a user's ssh session would, and
 * measures it. Not a pass/fail test: tests/bench/shell-throughput runs
 * it on hoop-shell and its peers side by side.
 *
 *   bench_pty throughput BYTES -- CMD...   reads BYTES of output, prints
 *                                          MB/s (wall clock)
 *   bench_pty echo COUNT -- CMD...         types COUNT keys one at a
 *                                          time into CMD (which must
 *                                          echo), prints p50/p99 echo
 *                                          latency in microseconds
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static pid_t
start(char **argv, int *master)
{
	struct winsize ws = { .ws_row = 40, .ws_col = 120 };
	pid_t pid;

	if ((pid = forkpty(master, NULL, NULL, &ws)) == -1) {
		perror("forkpty");
		exit(2);
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	return pid;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Reads until n bytes (or EOF/EIO); returns bytes read. */
static uint64_t
drain(int fd, uint64_t want)
{
	static char buf[1 << 16];
	uint64_t got = 0;
	ssize_t n;

	while (got < want) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (uint64_t)n;
	}
	return got;
}

static int
throughput(uint64_t bytes, char **argv)
{
	int master, status;
	int64_t t0, t1;
	uint64_t got;
	pid_t pid;

	t0 = mono_ns();
	pid = start(argv, &master);
	got = drain(master, bytes);
	t1 = mono_ns();
	/* Whatever follows (a closing message) is not counted. */
	(void)drain(master, UINT64_MAX);
	waitpid(pid, &status, 0);
	close(master);
	if (got < bytes) {
		fprintf(stderr, "bench_pty: only %llu of %llu bytes\n",
		    (unsigned long long)got, (unsigned long long)bytes);
		return 1;
	}
	printf("%.1f MB/s (%llu bytes in %.3f s)\n",
	    (double)bytes / 1e6 / ((double)(t1 - t0) / 1e9),
	    (unsigned long long)bytes, (double)(t1 - t0) / 1e9);
	return 0;
}

/* Waits until the output holds c (after whatever came before it). */
static int
wait_for(int fd, char c, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];
	ssize_t n, i;

	for (;;) {
		if (poll(&p, 1, timeout_ms) <= 0)
			return -1;
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			return -1;
		for (i = 0; i < n; i++)
			if (buf[i] == c)
				return 0;
	}
}

static int
echo_latency(unsigned count, char **argv)
{
	int64_t *lat, t0;
	unsigned i, done = 0;
	int master, status;
	pid_t pid;
	char c;

	if ((lat = calloc(count, sizeof(*lat))) == NULL)
		return 2;
	pid = start(argv, &master);
	/* Let it start (a prompt, a banner): then type a marker until it
	 * comes back, so timing starts once echo works. */
	usleep(300000);
	for (i = 0; i < 50; i++) {
		if (write(master, "#", 1) == 1 && wait_for(master, '#', 200) == 0)
			break;
	}
	for (i = 0; i < count; i++) {
		c = (char)('a' + i % 26);
		t0 = mono_ns();
		if (write(master, &c, 1) != 1 || wait_for(master, c, 2000) == -1)
			break;
		lat[done++] = mono_ns() - t0;
		if (i % 64 == 63) {	/* keep the line short */
			if (write(master, "\025", 1) != 1)
				break;
			usleep(1000);
			tcflush(master, TCIFLUSH);
		}
	}
	/* Hanging up the terminal ends it; a recorder the user cannot
	 * signal (hoop-shell) ignores the kills. */
	close(master);
	kill(pid, SIGHUP);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (done < count / 2) {
		fprintf(stderr, "bench_pty: only %u echoes\n", done);
		return 1;
	}
	qsort(lat, done, sizeof(*lat), cmp64);
	printf("p50 %.1f us, p99 %.1f us (%u keys)\n",
	    (double)lat[done / 2] / 1e3, (double)lat[done * 99 / 100] / 1e3,
	    done);
	free(lat);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 5 || strcmp(argv[3], "--") != 0) {
		fprintf(stderr, "usage: bench_pty throughput BYTES -- CMD... | "
		    "echo COUNT -- CMD...\n");
		return 2;
	}
	if (strcmp(argv[1], "throughput") == 0)
		return throughput(strtoull(argv[2], NULL, 10), argv + 4);
	if (strcmp(argv[1], "echo") == 0)
		return echo_latency((unsigned)strtoul(argv[2], NULL, 10),
		    argv + 4);
	return 2;
}
