/*
 * ckpt-inet-probe: a process for `ckpt doctor` to dump with CRIU, holding the sockets
 * containers hold: a TCP listener and a bound UDP socket on 127.0.0.1.
 *
 *   ckpt-inet-probe
 *
 * It starts its own session (CRIU then dumps it as a whole tree without --shell-job),
 * prints "ready TCP_PORT UDP_PORT" on stdout, and then holds nothing of its caller's:
 * stdin, stdout and stderr become /dev/null (Node.js gives children unix socketpairs for
 * stdio, which CRIU refuses to dump as external sockets). It dies with its parent
 * (PR_SET_PDEATHSIG) and after LIFETIME_SECONDS at the latest, so no kill is ever
 * missed for long. Linux >= 6.16 allows SO_PASSCRED/SO_PASSSEC only on unix and netlink
 * sockets; CRIU < 4.2 asks for them on every socket and fails to dump these
 * ("Can't get 1:16 opt").
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LIFETIME_SECONDS 60

/* A socket of TYPE bound to 127.0.0.1 on a port the kernel picks; returns the port. */
static int bound_socket(int type, const char *what)
{
	int fd = socket(AF_INET, type, 0);
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 1) != 0) ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
		fprintf(stderr, "ckpt-inet-probe: %s socket: %s\n", what, strerror(errno));
		return -1;
	}
	return ntohs(addr.sin_port);
}

int main(int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: ckpt-inet-probe (holds sockets for ckpt doctor's CRIU dump)\n");
		return 2;
	}
	pid_t parent = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
		fprintf(stderr, "ckpt-inet-probe: the parent is gone or PR_SET_PDEATHSIG failed: %s\n", strerror(errno));
		return 1;
	}
	if (setsid() < 0) {
		fprintf(stderr, "ckpt-inet-probe: setsid: %s\n", strerror(errno));
		return 1;
	}
	int tcp = bound_socket(SOCK_STREAM, "TCP");
	int udp = bound_socket(SOCK_DGRAM, "UDP");
	if (tcp < 0 || udp < 0)
		return 1;
	printf("ready %d %d\n", tcp, udp);
	fflush(stdout);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 || dup2(null, STDERR_FILENO) < 0)
		return 1;
	close(null);
	/* sleep() returns early when CRIU seizes the process; the deadline does not move. */
	time_t deadline = time(NULL) + LIFETIME_SECONDS;
	while (time(NULL) < deadline)
		sleep(1);
	return 0;
}
