/*
 * A deliberately broken live peer for the fuzzers' sanitizer support: it listens on the unix
 * socket named by argv[1], takes one connection and copies each vhost-user message's payload into
 * an 8-byte heap buffer, so the first message with a payload longer than a u64 (SET_MEM_TABLE,
 * SET_VRING_ADDR, ...) is a heap-buffer-overflow that AddressSanitizer reports before exiting
 * with status 1. It answers nothing; it exists to be crashed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct header {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* The planted bug: the payload lands in a buffer sized for the smallest body. */
static void keep_payload(const uint8_t *payload, uint32_t size)
{
	uint8_t *body = malloc(8);
	if (body == NULL)
		return;
	memcpy(body, payload, size);
	fprintf(stderr, "asan-peer: kept %u bytes, first 0x%02x\n", size, body[0]);
	free(body);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
		return 2;
	}
	int srv = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (srv < 0 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		perror("asan-peer: socket");
		return 2;
	}
	strcpy(addr.sun_path, argv[1]);
	unlink(argv[1]);
	if (bind(srv, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(srv, 1) != 0) {
		perror("asan-peer: bind");
		return 2;
	}
	int c = accept(srv, NULL, NULL);
	if (c < 0)
		return 2;
	static uint8_t payload[4096];
	struct header h;
	while (read_full(c, &h, sizeof(h)) == 0) {
		if (h.size > sizeof(payload) || read_full(c, payload, h.size) != 0)
			break;
		keep_payload(payload, h.size);
	}
	close(c);
	close(srv);
	return 0;
}
