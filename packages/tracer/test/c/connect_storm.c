/* THREADS threads connect to 127.0.0.1:PORT at once, COUNT times each (the
 * kprobe backend's kretprobes on tcp_v4_connect must miss none of these
 * returns; kretprobe.kernel.test.ts).
 *
 *   connect_storm PORT THREADS COUNT
 *
 * Every thread waits at a barrier, then connects, sends one byte and closes,
 * COUNT times. Prints {"pid":..,"connects":..} (connects that succeeded).
 * Errors: a message on stderr, exit 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port, count;
static pthread_barrier_t start;
static int ok[256];

static void *run(void *arg)
{
	int me = (int)(long)arg;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pthread_barrier_wait(&start);
	for (int i = 0; i < count; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			continue;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && send(fd, "x", 1, 0) == 1)
			ok[me]++;
		close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: connect_storm PORT THREADS COUNT\n");
		return 2;
	}
	port = atoi(argv[1]);
	int threads = atoi(argv[2]);
	count = atoi(argv[3]);
	if (threads < 1 || threads > 256) {
		fprintf(stderr, "connect_storm: THREADS must be 1..256\n");
		return 2;
	}
	pthread_t t[256];
	pthread_barrier_init(&start, 0, threads);
	for (int i = 0; i < threads; i++) {
		int e = pthread_create(&t[i], 0, run, (void *)(long)i);
		if (e) {
			fprintf(stderr, "connect_storm: pthread_create: %s\n", strerror(e));
			return 1;
		}
	}
	int total = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], 0);
		total += ok[i];
	}
	printf("{\"pid\":%d,\"connects\":%d}\n", (int)getpid(), total);
	return 0;
}
