/* Decoded-instruction cache of the interpreter.
 *
 * Decoding is a pure function of the bytes, so a decoded `struct insn` can be reused while the
 * bytes and their mapping stay the same. Entries are keyed by linear address, code size and
 * privilege, and validated against two counters: an epoch bumped whenever the linear->physical
 * mapping may change (TLB flushes), and a per-physical-page generation bumped when a
 * write-watched code page is written (DESIGN decision 5: the same watch the translator uses). */
#ifndef BT86_ICACHE_H
#define BT86_ICACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/insn.h"
#include "mmu/memmap.h"

#define ICACHE_BITS 15
#define ICACHE_SIZE (1u << ICACHE_BITS)

struct icache_entry {
    uint32_t lin;
    uint32_t key;      /* epoch << 2 | user << 1 | code32 */
    uint32_t ppage;    /* physical page number the bytes came from */
    uint32_t gen;      /* page generation when decoded */
    struct insn insn;
};

struct icache {
    struct icache_entry *e;
    uint32_t *page_gen; /* per physical page */
    uint32_t epoch;
    struct memmap *mem;
    uint64_t hits, misses;
};

struct icache *icache_create(struct memmap *mem);
void icache_destroy(struct icache *ic);
void icache_flush(struct icache *ic);
void icache_new_epoch(struct icache *ic);
/* memmap code-write hook: everything decoded from that page is stale. */
void icache_code_written(void *opaque, uint32_t phys_page_addr);

static inline uint32_t icache_key(const struct icache *ic, bool user, bool code32)
{
    return ic->epoch << 2 | (uint32_t)user << 1 | (uint32_t)code32;
}

/* Slot of `lin` in the entry array (ic->e, which never moves once created). */
static inline struct icache_entry *icache_slot_of(struct icache_entry *entries, uint32_t lin)
{
    return &entries[(lin ^ (lin >> ICACHE_BITS)) & (ICACHE_SIZE - 1)];
}

static inline struct icache_entry *icache_slot(struct icache *ic, uint32_t lin)
{
    return icache_slot_of(ic->e, lin);
}

static inline bool icache_valid(const struct icache *ic, const struct icache_entry *e,
                                uint32_t lin, uint32_t key)
{
    return e->lin == lin && e->key == key && ic->page_gen[e->ppage] == e->gen;
}

#endif
