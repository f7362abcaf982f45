/*
 * ckpt-timens: holds a new time namespace with exact clock offsets for a CRIU restore.
 *
 *   ckpt-timens MONOTONIC_OFFSET_NS BOOTTIME_OFFSET_NS
 *
 * unshare(CLONE_NEWTIME) gives this process a new namespace for its children without
 * entering it, so its offsets can still be written (util-linux's unshare takes whole
 * seconds only). It prints "ready" and waits until stdin closes; meanwhile CRIU joins
 * the namespace through /proc/PID/ns/time_for_children (`join-ns time:PATH`).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Splits nanoseconds into seconds (floored) and 0..999999999 nanoseconds, as the kernel
 * expects in /proc/PID/timens_offsets. */
static void split(long long ns, long long *sec, long long *nsec)
{
	*sec = ns / 1000000000LL;
	*nsec = ns % 1000000000LL;
	if (*nsec < 0) {
		*nsec += 1000000000LL;
		*sec -= 1;
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: ckpt-timens MONOTONIC_OFFSET_NS BOOTTIME_OFFSET_NS\n");
		return 2;
	}
	long long mono_sec, mono_nsec, boot_sec, boot_nsec;
	split(strtoll(argv[1], NULL, 10), &mono_sec, &mono_nsec);
	split(strtoll(argv[2], NULL, 10), &boot_sec, &boot_nsec);

	if (unshare(CLONE_NEWTIME) != 0) {
		fprintf(stderr, "ckpt-timens: unshare(CLONE_NEWTIME): %s\n", strerror(errno));
		return 1;
	}
	char buf[160];
	int len = snprintf(buf, sizeof(buf), "monotonic %lld %lld\nboottime %lld %lld\n", mono_sec, mono_nsec, boot_sec, boot_nsec);
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, (size_t)len) != len) {
		fprintf(stderr, "ckpt-timens: writing timens_offsets: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	printf("ready\n");
	fflush(stdout);
	char c;
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	return 0;
}
