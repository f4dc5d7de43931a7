/*
 * vhostlab_native.c - the C that Node cannot do: unix sockets with SCM_RIGHTS fd passing
 * (vhost-user.rst "Communication": every request travels over a unix stream socket, with the
 * memory-table, log, kick/call/err and inflight fds as ancillary data), memfd + mmap for guest
 * memory, eventfd for kicks and calls, and poll with time-outs.
 *
 * See vhostlab_native.h for the conventions (-errno returns, CLOEXEC everywhere, time-outs).
 * Design notes:
 *  - Blocking calls (accept, recvmsg, poll) always poll first with a deadline, so a caller on a
 *    libuv worker thread (koffi's .async) is never parked forever on a silent peer.
 *  - Deadlines use CLOCK_MONOTONIC and survive EINTR: the remaining time is recomputed.
 *  - recvmsg reserves control space for the kernel maximum (SCM_MAX_FD) whatever the caller
 *    asked for, so surplus fds are received and closed here instead of being silently dropped
 *    by the kernel; the caller learns about them through the "truncated" flag.
 */
#define _GNU_SOURCE
#include "vhostlab_native.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Pollfd arrays up to this size live on the stack; larger ones are heap-allocated. */
#define VHL_POLL_STACK 64

/* Control buffer big enough for the most fds Linux puts in one message, correctly aligned. */
union vhl_cmsg_space {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * VHL_MAX_FDS)];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Absolute deadline for a relative time-out; -1 means "no deadline". */
static int64_t deadline_from(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Milliseconds left until the deadline for poll(): -1 forever, 0 when already passed. */
static int remaining_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - now_ms();
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

/*
 * Waits until fd reports one of `events` (or an error/hang-up, which the following syscall then
 * reports precisely). Returns 0 when ready, -ETIMEDOUT at the deadline, -EBADF for a closed fd.
 */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = events, .revents = 0 };
        int rc = poll(&p, 1, remaining_ms(deadline));
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (rc == 0)
            return -ETIMEDOUT;
        if (p.revents & POLLNVAL)
            return -EBADF;
        return 0;
    }
}

static int fill_sockaddr(struct sockaddr_un *addr, const char *path)
{
    size_t n = strlen(path);
    if (n == 0)
        return -EINVAL;
    if (n >= sizeof(addr->sun_path))
        return -ENAMETOOLONG;
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    memcpy(addr->sun_path, path, n + 1);
    return 0;
}

int vhl_unix_listen(const char *path, int backlog)
{
    struct sockaddr_un addr;
    int rc = fill_sockaddr(&addr, path);
    if (rc < 0)
        return rc;
    /* Non-blocking so that vhl_accept never blocks after poll when another thread won the race. */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, backlog) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

int vhl_unix_connect(const char *path, int timeout_ms)
{
    struct sockaddr_un addr;
    int rc = fill_sockaddr(&addr, path);
    if (rc < 0)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /*
     * A unix connect only blocks while the listener's backlog is full; SO_SNDTIMEO bounds that
     * wait (the kernel then fails with EAGAIN, reported as ETIMEDOUT) and is cleared afterwards
     * so it does not leak into later sends.
     */
    if (timeout_ms >= 0) {
        struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
        if (timeout_ms == 0)
            tv.tv_usec = 1; /* zero would mean "forever" */
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    for (;;) {
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno == EISCONN) /* an interrupted attempt completed meanwhile */
            break;
        rc = errno == EAGAIN && timeout_ms >= 0 ? -ETIMEDOUT : -errno;
        close(fd);
        return rc;
    }
    if (timeout_ms >= 0) {
        struct timeval zero = { 0, 0 };
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof(zero));
    }
    return fd;
}

int vhl_accept(int listen_fd, int timeout_ms)
{
    int64_t deadline = deadline_from(timeout_ms);
    for (;;) {
        int rc = wait_fd(listen_fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        /* Lost a race with another acceptor, or the client gave up: wait again. */
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
            continue;
        return -errno;
    }
}

int vhl_socketpair(int *out_fds)
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out_fds) < 0)
        return -errno;
    return 0;
}

int vhl_shutdown(int fd)
{
    return shutdown(fd, SHUT_RDWR) < 0 ? -errno : 0;
}

int vhl_sendmsg(int fd, const uint8_t *data, size_t len, const int *fds, int nfds, int timeout_ms)
{
    if (nfds < 0 || nfds > VHL_MAX_FDS || len > INT_MAX)
        return -EINVAL;
    /* On a stream socket ancillary data rides on the first byte; with no byte it is lost. */
    if (len == 0)
        return nfds > 0 ? -EINVAL : 0;

    union vhl_cmsg_space ctrl;
    int64_t deadline = deadline_from(timeout_ms);
    size_t sent = 0;
    int attach = nfds > 0;
    while (sent < len) {
        struct iovec iov = { .iov_base = (void *)(data + sent), .iov_len = len - sent };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (attach) {
            memset(&ctrl, 0, sizeof(ctrl));
            msg.msg_control = ctrl.buf;
            msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
            struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
            memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
        }
        ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                int rc = wait_fd(fd, POLLOUT, deadline);
                if (rc < 0)
                    return rc;
                continue;
            }
            return -errno;
        }
        /* The fds went with the first byte(s); later parts must not duplicate them. */
        attach = 0;
        sent += (size_t)n;
    }
    return (int)sent;
}

int vhl_recvmsg(int fd, uint8_t *buf, size_t len, int *out_fds, int max_fds, int *out_info, int timeout_ms)
{
    out_info[0] = 0;
    out_info[1] = 0;
    /* A zero-length read would return 0 and look like EOF. */
    if (len == 0 || max_fds < 0)
        return -EINVAL;
    if (len > INT_MAX)
        len = INT_MAX;

    union vhl_cmsg_space ctrl;
    int64_t deadline = deadline_from(timeout_ms);
    struct msghdr msg;
    ssize_t n;
    for (;;) {
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
        struct iovec iov = { .iov_base = buf, .iov_len = len };
        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctrl.buf;
        msg.msg_controllen = sizeof(ctrl.buf);
        n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
        if (n >= 0)
            break;
        /* EAGAIN: a non-blocking fd whose data another reader took after our poll. */
        if (errno == EINTR || errno == EAGAIN)
            continue;
        return -errno;
    }

    int kept = 0;
    int truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char *p = CMSG_DATA(c);
        for (size_t i = 0; i < count; i++) {
            int rfd;
            memcpy(&rfd, p + i * sizeof(int), sizeof(int));
            if (kept < max_fds) {
                /* OWNERSHIP: the caller now owns out_fds[0..kept). */
                out_fds[kept++] = rfd;
            } else {
                /* OWNERSHIP: more fds than the caller can take; close them so none leak. */
                close(rfd);
                truncated = 1;
            }
        }
    }
    out_info[0] = kept;
    out_info[1] = truncated;
    return (int)n;
}

int vhl_poll(const int *fds, const int *events, int *out_revents, int n, int timeout_ms)
{
    if (n < 0)
        return -EINVAL;
    struct pollfd stack[VHL_POLL_STACK];
    struct pollfd *p = stack;
    if (n > VHL_POLL_STACK) {
        p = calloc((size_t)n, sizeof(*p));
        if (p == NULL)
            return -ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        p[i].fd = fds[i];
        p[i].events = (short)events[i];
        p[i].revents = 0;
    }
    int64_t deadline = deadline_from(timeout_ms);
    int rc;
    for (;;) {
        rc = poll(p, (nfds_t)n, remaining_ms(deadline));
        if (rc >= 0)
            break;
        if (errno != EINTR) {
            rc = -errno;
            break;
        }
    }
    for (int i = 0; i < n; i++)
        out_revents[i] = rc >= 0 ? p[i].revents : 0;
    if (p != stack)
        free(p);
    return rc;
}

int vhl_memfd_create(const char *name, uint64_t size)
{
    if (size > INT64_MAX)
        return -EINVAL;
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)size) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

int vhl_ftruncate(int fd, uint64_t size)
{
    if (size > INT64_MAX)
        return -EINVAL;
    for (;;) {
        if (ftruncate(fd, (off_t)size) == 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

int vhl_mmap(int fd, uint64_t size, uint64_t offset, int read_only, uint64_t *out_addr)
{
    *out_addr = 0;
    if (size == 0 || size > SIZE_MAX || offset > INT64_MAX)
        return -EINVAL;
    int prot = read_only ? PROT_READ : PROT_READ | PROT_WRITE;
    void *p = mmap(NULL, (size_t)size, prot, MAP_SHARED, fd, (off_t)offset);
    if (p == MAP_FAILED)
        return -errno;
    *out_addr = (uint64_t)(uintptr_t)p;
    return 0;
}

int vhl_mmap_retire(uint64_t addr, uint64_t size)
{
    if (size > SIZE_MAX)
        return -EINVAL;
    /*
     * MAP_FIXED replaces the shared mapping atomically, which releases it, while the address
     * range stays reserved with private zero pages: a stale JavaScript view then reads zeros
     * instead of faulting, and can never alias a mapping made later at the same address.
     */
    void *p = mmap((void *)(uintptr_t)addr, (size_t)size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? -errno : 0;
}

int vhl_munmap(uint64_t addr, uint64_t size)
{
    if (size > SIZE_MAX)
        return -EINVAL;
    return munmap((void *)(uintptr_t)addr, (size_t)size) < 0 ? -errno : 0;
}

int vhl_eventfd(uint32_t initial)
{
    int fd = eventfd(initial, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int vhl_eventfd_write(int fd, uint64_t value)
{
    for (;;) {
        ssize_t n = write(fd, &value, sizeof(value));
        if (n == (ssize_t)sizeof(value))
            return 0;
        if (n >= 0)
            return -EIO;
        if (errno != EINTR)
            return -errno;
    }
}

int vhl_eventfd_signal(int fd, uint64_t value)
{
    /*
     * For call and err fds a front-end hands over: it may pass a pipe or a socket, blocking and
     * full, and a plain write would then stop the whole back-end. A zero-time poll first keeps
     * the call non-blocking (-EAGAIN when the fd takes no write now).
     */
    struct pollfd p = { .fd = fd, .events = POLLOUT, .revents = 0 };
    int rc;
    do {
        rc = poll(&p, 1, 0);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -errno;
    if (p.revents & POLLNVAL)
        return -EBADF;
    if (rc == 0 || !(p.revents & POLLOUT))
        return (p.revents & (POLLERR | POLLHUP)) ? -EPIPE : -EAGAIN;
    return vhl_eventfd_write(fd, value);
}

int vhl_eventfd_read(int fd, uint64_t *out_value)
{
    *out_value = 0;
    /*
     * Kick/call fds received from a peer may be blocking; a zero-time poll first keeps this call
     * non-blocking for them too (a racing second reader could still block, which vhostlab avoids
     * by giving every eventfd one reader).
     */
    struct pollfd p = { .fd = fd, .events = POLLIN, .revents = 0 };
    int rc;
    do {
        rc = poll(&p, 1, 0);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -errno;
    if (p.revents & POLLNVAL)
        return -EBADF;
    if (rc == 0)
        return -EAGAIN;
    for (;;) {
        ssize_t n = read(fd, out_value, sizeof(*out_value));
        if (n == (ssize_t)sizeof(*out_value))
            return 0;
        if (n >= 0)
            return -EIO;
        if (errno != EINTR)
            return -errno;
    }
}

int vhl_pipe(int *out_fds)
{
    return pipe2(out_fds, O_CLOEXEC) < 0 ? -errno : 0;
}

int vhl_set_nonblocking(int fd, int on)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -errno;
    int want = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
    if (want != flags && fcntl(fd, F_SETFL, want) < 0)
        return -errno;
    return 0;
}

int vhl_close(int fd)
{
    /* On Linux the fd is released even when close() reports EINTR; retrying could close a reused fd. */
    if (close(fd) < 0 && errno != EINTR)
        return -errno;
    return 0;
}

/* ----------------------------------------------------------------------------------------- */
/* Racing writer (vhl_flipper_*). */

struct vhl_flipper {
    pthread_t thread;
    atomic_int stop;
    uint64_t base;
    uint32_t stride, count, a, b;
    uint64_t rounds;
};

static void *flipper_main(void *arg)
{
    struct vhl_flipper *f = arg;
    int phase = 0;
    while (!atomic_load_explicit(&f->stop, memory_order_relaxed)) {
        uint32_t v = phase ? f->b : f->a;
        for (uint32_t i = 0; i < f->count; i++) {
            /* volatile: every store must reach memory, the peer process reads it concurrently. */
            volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)(f->base + (uint64_t)i * f->stride);
            *p = v;
        }
        phase ^= 1;
        f->rounds++;
    }
    return NULL;
}

int vhl_flipper_start(uint64_t base, uint32_t stride, uint32_t count, uint32_t a, uint32_t b, uint64_t *out_handle)
{
    if (base == 0 || count == 0 || (base & 3) != 0 || (stride & 3) != 0 || out_handle == NULL)
        return -EINVAL;
    struct vhl_flipper *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -ENOMEM;
    atomic_init(&f->stop, 0);
    f->base = base;
    f->stride = stride;
    f->count = count;
    f->a = a;
    f->b = b;
    int rc = pthread_create(&f->thread, NULL, flipper_main, f);
    if (rc != 0) {
        free(f);
        return -rc;
    }
    *out_handle = (uint64_t)(uintptr_t)f;
    return 0;
}

int vhl_flipper_stop(uint64_t handle, uint64_t *out_rounds)
{
    struct vhl_flipper *f = (struct vhl_flipper *)(uintptr_t)handle;
    if (f == NULL)
        return -EINVAL;
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    if (out_rounds != NULL)
        *out_rounds = f->rounds;
    free(f);
    return 0;
}
