/*
 * vu_parser_target.c - a toy vhost-user back-end message parser with two PLANTED bugs, used as the
 * example target of `vhostlab fuzz ffi` and of the fuzz-ffi benchmark. Never reuse it as real code.
 *
 * Input: a stream of vhost-user messages as they travel on the socket (vhost-user.rst "Message
 * format"; CHECKLIST §1.1): a 12-byte header (u32 request, u32 flags, u32 size, host byte order)
 * then `size` payload bytes. Parsing stops at the first message that does not fit or is rejected.
 * State kept per input: acked features, a memory table of up to 8 regions, two vrings.
 *
 * Planted bugs (both crash deterministically, with or without AddressSanitizer):
 *
 *  (a) SHALLOW - SET_MEM_TABLE derives the number of region rows present from the payload size,
 *      `(size - 8) / 32`, without checking `size >= 8`: a SET_MEM_TABLE whose size is 0..7
 *      underflows to ~134 million rows and the copy runs off the end of a stack array
 *      (ASan: stack-buffer-overflow; without ASan: SIGSEGV at the top of the stack).
 *      Compiled out with -DVU_SHALLOW_BUG=0 (the "deep only" build the benchmark uses, so that a
 *      byte-mutation fuzzer cannot stop at the shallow bug first).
 *      -DVU_DEEP_BUG=0 fixes (b); the build with both fixed (`vu_parser_fixed`) measures execs/s
 *      on the parser without either fuzzer stopping at a crash.
 *
 *  (b) DEEP - ring addresses are validated correctly (each ring must lie inside the mapped part of
 *      SOME region) but translated by a lookup that trusts the validation: it takes the FIRST
 *      region whose userspace_addr is <= the address, with no upper bound. With two regions where
 *      the ring lies in the second one and the first starts below it, the translation goes through
 *      the first region, past its end. The write only happens when the ring starts, so reaching it
 *      takes a valid sequence: SET_MEM_TABLE (>= 2 regions) + SET_VRING_NUM + SET_VRING_ADDR
 *      (pointing into the second region) + SET_VRING_KICK on the same vring.
 *
 * Guest memory: each region gets a host window inside one PROT_NONE reservation made once per
 * process. The accessible bytes of region i end exactly at a guard of GUARD_BYTES, so any access
 * past the mapped length faults (SIGSEGV, also reported by ASan as "SEGV on unknown address").
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef VU_SHALLOW_BUG
#define VU_SHALLOW_BUG 1
#endif
#ifndef VU_DEEP_BUG
#define VU_DEEP_BUG 1
#endif

/* Request codes (CHECKLIST §2.1), spec names verbatim. */
enum {
    GET_FEATURES = 1, SET_FEATURES = 2, SET_OWNER = 3, RESET_OWNER = 4, SET_MEM_TABLE = 5,
    SET_VRING_NUM = 8, SET_VRING_ADDR = 9, SET_VRING_BASE = 10, GET_VRING_BASE = 11,
    SET_VRING_KICK = 12, SET_VRING_CALL = 13, SET_VRING_ERR = 14, SET_PROTOCOL_FEATURES = 16,
    SET_VRING_ENABLE = 18,
};

#define HEADER_SIZE 12u
#define MAX_PAYLOAD 264u        /* largest union member: the memory table, 8 + 32 * 8 */
#define MAX_REGIONS 8u
#define NUM_VRINGS 2u
#define MAX_QUEUE_SIZE 32768u
#define WINDOW_BYTES (2u << 20)             /* the toy maps at most 2 MiB of each region */
#define GUARD_BYTES (4ull << 30)            /* PROT_NONE after each window */
#define SLOT_BYTES (WINDOW_BYTES + GUARD_BYTES)

struct region {
    uint64_t gpa, size, uaddr, mmap_offset;
    uint64_t mapped;       /* min(size, WINDOW_BYTES): the part the toy can reach */
    uint8_t *host;         /* first accessible byte; host + mapped is the guard */
};

struct vring {
    uint32_t num;
    uint16_t last_avail;
    int have_addr, started, kick_set, enabled;
    uint64_t desc, used, avail;
};

struct state {
    uint64_t features, protocol_features;
    uint32_t nregions;
    struct region regions[MAX_REGIONS];
    struct vring vrings[NUM_VRINGS];
};

static uint8_t *arena;

/* One reservation per process; windows are made read-write once and then reused by every input. */
static int arena_init(void)
{
    if (arena) return 0;
    void *p = mmap(NULL, SLOT_BYTES * MAX_REGIONS, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return -1;
    for (unsigned i = 0; i < MAX_REGIONS; i++)
        if (mprotect((uint8_t *)p + i * SLOT_BYTES, WINDOW_BYTES, PROT_READ | PROT_WRITE) != 0)
            return -1;
    arena = p;
    return 0;
}

static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Correct check: [addr, addr + len) lies inside the mapped part of some region. */
static int range_ok(const struct state *s, uint64_t addr, uint64_t len)
{
    for (uint32_t i = 0; i < s->nregions; i++) {
        const struct region *r = &s->regions[i];
        if (addr >= r->uaddr && addr - r->uaddr <= r->mapped && len <= r->mapped - (addr - r->uaddr))
            return 1;
    }
    return 0;
}

/* PLANTED BUG (b): "already validated", so no upper bound - the first region starting at or below
 * addr wins, even when addr lies in a later region. */
static uint8_t *translate(const struct state *s, uint64_t addr)
{
    for (uint32_t i = 0; i < s->nregions; i++)
#if VU_DEEP_BUG
        if (addr >= s->regions[i].uaddr)
#else
        if (addr >= s->regions[i].uaddr && addr - s->regions[i].uaddr < s->regions[i].mapped)
#endif
            return s->regions[i].host + (addr - s->regions[i].uaddr);
    return NULL;
}

/* The ring starts once it has a size, addresses, a memory table and a kick: check, then touch
 * avail->idx and reset used->flags/idx as a device does (virtio split ring, CHECKLIST §3.16). */
static void vring_start(struct state *s, struct vring *vq)
{
    if (!vq->num || !vq->have_addr || !vq->kick_set || !s->nregions || vq->started) return;
    uint64_t n = vq->num;
    if (!range_ok(s, vq->desc, 16 * n) || !range_ok(s, vq->avail, 6 + 2 * n) ||
        !range_ok(s, vq->used, 6 + 8 * n))
        return;
    volatile uint16_t *avail = (volatile uint16_t *)translate(s, vq->avail);
    volatile uint16_t *used = (volatile uint16_t *)translate(s, vq->used);
    (void)avail[1];
    used[0] = 0;
    used[1] = vq->last_avail;
    vq->started = 1;
}

static int set_mem_table(struct state *s, const uint8_t *body, uint32_t size)
{
    struct region rows[MAX_REGIONS];
#if VU_SHALLOW_BUG
    /* PLANTED BUG (a): no `size >= 8` check; size 0..7 underflows the row count. */
    uint32_t present = (size - 8) / 32;
#else
    if (size < 8) return -1;
    uint32_t present = (size - 8) / 32;
#endif
    for (uint32_t i = 0; i < present; i++) {
        const uint8_t *row = body + 8 + 32 * i;
        rows[i].gpa = rd64(row);
        rows[i].size = rd64(row + 8);
        rows[i].uaddr = rd64(row + 16);
        rows[i].mmap_offset = rd64(row + 24);
    }
    uint32_t n = rd32(body);
    if (n == 0 || n > MAX_REGIONS || present < n) return -1;
    for (uint32_t i = 0; i < n; i++) {
        struct region *r = &rows[i];
        if (r->size == 0 || r->uaddr + r->size < r->uaddr) return -1;
        r->mapped = r->size < WINDOW_BYTES ? r->size : WINDOW_BYTES;
        r->host = arena + i * SLOT_BYTES + WINDOW_BYTES - r->mapped;
    }
    memcpy(s->regions, rows, n * sizeof rows[0]);
    s->nregions = n;
    for (unsigned q = 0; q < NUM_VRINGS; q++) s->vrings[q].started = 0;
    return 0;
}

static struct vring *vring_at(struct state *s, uint32_t index)
{
    return index < NUM_VRINGS ? &s->vrings[index] : NULL;
}

static int handle(struct state *s, uint32_t request, const uint8_t *body, uint32_t size)
{
    struct vring *vq;
    switch (request) {
    case GET_FEATURES: case SET_OWNER: case RESET_OWNER: case GET_VRING_BASE:
        return 0;
    case SET_FEATURES:
        if (size != 8) return -1;
        s->features = rd64(body);
        return 0;
    case SET_PROTOCOL_FEATURES:
        if (size != 8) return -1;
        s->protocol_features = rd64(body);
        return 0;
    case SET_MEM_TABLE:
        return set_mem_table(s, body, size);
    case SET_VRING_NUM:
        if (size != 8 || !(vq = vring_at(s, rd32(body)))) return -1;
        {
            uint32_t num = rd32(body + 4);
            if (num == 0 || num > MAX_QUEUE_SIZE || (num & (num - 1))) return -1;
            vq->num = num;
        }
        return 0;
    case SET_VRING_BASE:
        if (size != 8 || !(vq = vring_at(s, rd32(body)))) return -1;
        vq->last_avail = (uint16_t)rd32(body + 4);
        return 0;
    case SET_VRING_ADDR:
        if (size != 40 || !(vq = vring_at(s, rd32(body)))) return -1;
        vq->desc = rd64(body + 8);
        vq->used = rd64(body + 16);
        vq->avail = rd64(body + 24);
        vq->have_addr = 1;
        vq->started = 0;
        return 0;
    case SET_VRING_KICK: case SET_VRING_CALL: case SET_VRING_ERR:
        if (size != 8 || !(vq = vring_at(s, (uint32_t)(rd64(body) & 0xff)))) return -1;
        if (request == SET_VRING_KICK) {
            vq->kick_set = 1;
            vring_start(s, vq);
        }
        return 0;
    case SET_VRING_ENABLE:
        if (size != 8 || !(vq = vring_at(s, rd32(body)))) return -1;
        vq->enabled = rd32(body + 4) != 0;
        return 0;
    default:
        return -1;  /* unknown or unsupported request: the toy closes the connection */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct state s;
    uint8_t body[MAX_PAYLOAD];
    if (arena_init() != 0) abort();
    memset(&s, 0, sizeof s);
    size_t off = 0;
    while (len - off >= HEADER_SIZE) {
        uint32_t request = rd32(data + off), flags = rd32(data + off + 4), size = rd32(data + off + 8);
        off += HEADER_SIZE;
        if ((flags & 0x3) != 1 || size > MAX_PAYLOAD || size > len - off) break;
        /* Zero-filled staging copy, as real back-ends read into a fixed-size union. */
        memset(body, 0, sizeof body);
        memcpy(body, data + off, size);
        off += size;
        if (handle(&s, request, body, size) != 0) break;
    }
    return 0;
}
