/*
 * Recording throughput next to a plain write() of the same bytes to a
 * file on the same filesystem, in one run: prints figures, passes or
 * fails nothing (run it with `make bench`).
 *
 * Bulk output is fed in writes of 4 KiB (what a pty read gives) and of
 * 64 KiB (a pipe), MB megabytes each time. "plain" is write() of each
 * buffer to a file; "hoop" is hoop_rec_output() with the default
 * options (ttyrec frames, SHA-256 of every byte, a chain record per
 * 64 KiB); "sha256" is EVP SHA-256 over the same bytes in memory, the
 * floor under hoop's cost. The median of ROUNDS runs, wall clock; size
 * is the recording's bytes on disk over the bytes of output.
 *
 * Usage: bench_recording [-m MB] [-d DIR]   (DIR: default $TMPDIR or /tmp)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hoop_recording.h"

#define ROUNDS 3

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v)
{
	qsort(v, ROUNDS, sizeof(v[0]), cmp_double);
	return v[ROUNDS / 2];
}

/* Seconds to write total bytes in pieces of each with write(); -1 on
 * error. */
static double
plain(const char *dir, const unsigned char *buf, size_t each, size_t total)
{
	char path[4096];
	size_t done;
	double t;
	int fd;

	snprintf(path, sizeof(path), "%s/plain", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	t = now_s();
	for (done = 0; done < total; done += each) {
		if (write(fd, buf, each) != (ssize_t)each) {
			close(fd);
			return -1;
		}
	}
	t = now_s() - t;
	close(fd);
	unlink(path);
	return t;
}

static void
rm_recording(const char *dir, const char *id)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s/%s", dir, id, HOOP_REC_OUTPUT_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, id, HOOP_REC_EVENTS_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, id, HOOP_REC_CHAIN_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	rmdir(path);
}

static double
recorded(const char *dir, const unsigned char *buf, size_t each,
    size_t total, double *ratio)
{
	hoop_rec_t *rec = NULL;
	size_t done;
	double t;

	rm_recording(dir, "bench");
	if (hoop_rec_create_in(dir, "bench", NULL, &rec) != HOOP_OK)
		return -1;
	t = now_s();
	for (done = 0; done < total; done += each) {
		if (hoop_rec_output(rec, buf, each) != HOOP_OK) {
			hoop_rec_free(rec);
			return -1;
		}
	}
	if (hoop_rec_checkpoint(rec) != HOOP_OK) {
		hoop_rec_free(rec);
		return -1;
	}
	t = now_s() - t;
	*ratio = (double)hoop_rec_size(rec) / (double)total;
	hoop_rec_free(rec);
	rm_recording(dir, "bench");
	return t;
}

static double
sha(const unsigned char *buf, size_t each, size_t total)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t done;
	double t;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		return -1;
	t = now_s();
	for (done = 0; done < total; done += each)
		EVP_DigestUpdate(ctx, buf, each);
	EVP_DigestFinal_ex(ctx, md, NULL);
	t = now_s() - t;
	EVP_MD_CTX_free(ctx);
	return t;
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = { 4096, 65536 };
	double tp[ROUNDS], th[ROUNDS], ts[ROUNDS], ratio = 0, mb;
	const char *base = getenv("TMPDIR");
	char dir[2048];
	unsigned char *buf;
	size_t total, i;
	long megabytes = 128;
	int c, k;

	while ((c = getopt(argc, argv, "m:d:")) != -1) {
		switch (c) {
		case 'm':
			megabytes = atol(optarg);
			break;
		case 'd':
			base = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_recording [-m MB] "
			    "[-d DIR]\n");
			return 2;
		}
	}
	if (megabytes <= 0)
		megabytes = 128;
	snprintf(dir, sizeof(dir), "%s/hoop-bench-rec.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("bench_recording: mkdtemp");
		return 1;
	}
	total = (size_t)megabytes * 1024 * 1024;
	if ((buf = malloc(65536)) == NULL)
		return 1;
	/* Text-like bytes: what a long log would print. */
	for (i = 0; i < 65536; i++)
		buf[i] = (unsigned char)(i % 80 == 79 ? '\n' : ' ' + i % 95);
	mb = (double)total / (1024 * 1024);
	printf("# recording %ld MB of bulk output, median of %d runs, in %s\n",
	    megabytes, ROUNDS, dir);
	printf("%-8s %12s %12s %12s %10s %8s\n", "write", "plain MB/s",
	    "hoop MB/s", "sha256 MB/s", "hoop/plain", "size");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (k = 0; k < ROUNDS; k++) {
			tp[k] = plain(dir, buf, sizes[i], total);
			th[k] = recorded(dir, buf, sizes[i], total, &ratio);
			ts[k] = sha(buf, sizes[i], total);
			if (tp[k] <= 0 || th[k] <= 0 || ts[k] <= 0) {
				fprintf(stderr, "bench_recording: a run "
				    "failed\n");
				rmdir(dir);
				return 1;
			}
		}
		printf("%-8zu %12.0f %12.0f %12.0f %9.0f%% %8.4f\n", sizes[i],
		    mb / median(tp), mb / median(th), mb / median(ts),
		    100 * median(tp) / median(th), ratio);
	}
	rmdir(dir);
	free(buf);
	return 0;
}
