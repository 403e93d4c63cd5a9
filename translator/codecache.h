/* The translator's code cache: one memfd mapped twice, writable and executable (DESIGN
 * decision 9, W^X: generated code is written through one view and run through the other).
 * Allocation is a bump pointer; when it is full the whole cache is flushed and its generation
 * bumped, which invalidates every translation that recorded the old generation. */
#ifndef BT86_CODECACHE_H
#define BT86_CODECACHE_H

#include <stddef.h>
#include <stdint.h>

struct codecache {
    uint8_t *rw;       /* writable view */
    uint8_t *rx;       /* executable view of the same pages */
    size_t size;
    size_t used;
    uint32_t gen;      /* bumped by every flush; translations record it */
    uint64_t flushes;
};

/* Returns 0, or -1 with errno when the mappings cannot be made. */
int codecache_init(struct codecache *cc, size_t size);
void codecache_destroy(struct codecache *cc);
/* Writable space for at most `max` bytes at the current position, or NULL when the cache must
 * be flushed first. */
uint8_t *codecache_reserve(struct codecache *cc, size_t max);
/* Keep `used` bytes of the last reservation; returns their executable address. */
void *codecache_commit(struct codecache *cc, size_t used);
void codecache_flush(struct codecache *cc);
/* Executable address of a writable-view pointer. */
static inline void *codecache_exec_addr(const struct codecache *cc, const uint8_t *w)
{
    return cc->rx + (w - cc->rw);
}

#endif
