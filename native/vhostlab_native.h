/*
 * vhostlab_native.h - the few syscalls Node cannot make itself, for vhostlab's koffi binding
 * (native/index.ts is the only caller).
 *
 * Conventions shared by every function:
 *  - The return value is >= 0 on success and -errno on failure; errno itself is never relied on,
 *    because koffi's async calls run on libuv worker threads and errno is per thread.
 *  - Every file descriptor created here is close-on-exec (SOCK_CLOEXEC, MFD_CLOEXEC, EFD_CLOEXEC,
 *    O_CLOEXEC, MSG_CMSG_CLOEXEC): vhostlab spawns peers (DPDK, QEMU) as child processes and must
 *    not leak its sockets, memfds or eventfds into them.
 *  - Time-outs are in milliseconds; a negative time-out waits forever (callers should not).
 *    EINTR is retried with the remaining time, never surfaced.
 *  - No function keeps state, so all of them are safe to call from several threads at once.
 */
#ifndef VHOSTLAB_NATIVE_H
#define VHOSTLAB_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most fds one SCM_RIGHTS message may carry on Linux (SCM_MAX_FD). */
#define VHL_MAX_FDS 253

/* Unix stream sockets. */
int vhl_unix_listen(const char *path, int backlog);
int vhl_unix_connect(const char *path, int timeout_ms);
int vhl_accept(int listen_fd, int timeout_ms);
int vhl_socketpair(int *out_fds /* [2] */);
int vhl_shutdown(int fd);

/* Message I/O with SCM_RIGHTS. */
int vhl_sendmsg(int fd, const uint8_t *data, size_t len, const int *fds, int nfds, int timeout_ms);
int vhl_recvmsg(int fd, uint8_t *buf, size_t len, int *out_fds, int max_fds,
                int *out_info /* [2]: fd count, truncated flag */, int timeout_ms);
int vhl_poll(const int *fds, const int *events, int *out_revents, int n, int timeout_ms);

/* Shared memory. */
int vhl_memfd_create(const char *name, uint64_t size);
int vhl_ftruncate(int fd, uint64_t size);
int vhl_mmap(int fd, uint64_t size, uint64_t offset, int read_only, uint64_t *out_addr);
/* Releases the shared mapping but keeps the range reserved (see the .c file); vhl_munmap frees it. */
int vhl_mmap_retire(uint64_t addr, uint64_t size);
int vhl_munmap(uint64_t addr, uint64_t size);

/* eventfd, pipes and generic fd control. */
int vhl_eventfd(uint32_t initial);
int vhl_eventfd_write(int fd, uint64_t value);
int vhl_eventfd_signal(int fd, uint64_t value);
int vhl_eventfd_read(int fd, uint64_t *out_value);
int vhl_pipe(int *out_fds /* [2]: read end, write end */);
int vhl_set_nonblocking(int fd, int on);
int vhl_close(int fd);

/*
 * A racing writer for the double-fetch checks (CHECKLIST VU-DP-015/021): a thread that stores `a`
 * and then `b` into the u32 at `base + i * stride` for every i < count, over and over, until
 * stopped. The one stateful exception to the rule above: the handle owns the thread and must be
 * passed to vhl_flipper_stop exactly once. The memory must stay mapped until then.
 */
int vhl_flipper_start(uint64_t base, uint32_t stride, uint32_t count, uint32_t a, uint32_t b, uint64_t *out_handle);
int vhl_flipper_stop(uint64_t handle, uint64_t *out_rounds);

#ifdef __cplusplus
}
#endif

#endif /* VHOSTLAB_NATIVE_H */
