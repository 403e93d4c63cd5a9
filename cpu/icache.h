/* Decoded-instruction cache of the interpreter.
 *
 * Decoding is a pure function of the bytes, so a decoded `struct insn` can be reused while the
 * bytes and their mapping stay the same. Entries are keyed by linear address, code size and
 * privilege, and validated against two counters: an epoch bumped whenever the linear->physical
 * mapping may change (TLB flushes), and a per-physical-page generation bumped when a
 * write-watched code page is written (DESIGN decision 5: the same watch the translator uses).
 * Blocks (below) outlive TLB flushes: they are keyed by the map epoch, which only moves when
 * what a physical page holds may change (memory map, breakpoints), and validated on entry
 * against the TLB's current translation of their page. */
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

/* Straight-line runs of decoded instructions ("blocks"), validated once on entry: one linear
 * page, one key and page generation for the whole run. cpu/interp.c forms and runs them; the
 * handler is resolved at formation. Instruction storage comes from a bump pool that is
 * recycled (all blocks dropped) when full. */
#define IBLOCK_BITS 16
#define IBLOCK_SIZE (1u << IBLOCK_BITS)
#define IBLOCK_MAX_INSNS 32
#define IBLOCK_POOL (1u << 18)

struct cpu;
struct iblock_insn {
    void (*fn)(struct cpu *c, const struct insn *i);
    struct insn insn;
};

struct iblock {
    uint32_t lin;
    uint32_t key;
    uint32_t ppage;
    uint32_t gen;
    uint32_t span; /* bytes from the first instruction to the end of the last */
    uint32_t n;    /* instructions; 0: none cacheable here, use the single-instruction path */
    struct iblock_insn *ins;
    /* Block engine (translator) state: host code for the block entered at EIP host_eip,
     * valid while the engine's generation is host_gen (0: none); runs before translating. */
    void (*host)(struct cpu *c);
    uint32_t host_gen;
    uint32_t host_eip;
    uint32_t runs;
    uint32_t pad[3];
};
/* Generated code indexes the block table by a shift (translator/translate.c). */
_Static_assert(sizeof(struct iblock) == 64, "struct iblock is 64 bytes");

struct icache {
    struct icache_entry *e;
    struct iblock *blocks;
    struct iblock_insn *pool;
    uint32_t pool_used;
    uint32_t *page_gen; /* per physical page */
    uint32_t epoch;     /* single instructions: any TLB flush */
    uint32_t map_epoch; /* blocks: memory-map and breakpoint changes only */
    uint32_t block_limit; /* instructions per block, 1..IBLOCK_MAX_INSNS (tests use 1) */
    struct memmap *mem;
    uint64_t hits, misses;
};

/* Whether an operation may sit before the end of a block (cpu/interp.c says which and why). */
bool op_continues_block(unsigned op);

struct icache *icache_create(struct memmap *mem);
void icache_destroy(struct icache *ic);
void icache_flush(struct icache *ic);
/* Forget every block and recycle the pool (never while a block runs). */
void icache_drop_blocks(struct icache *ic);
void icache_new_epoch(struct icache *ic);
/* The memory map or the breakpoints changed: blocks are stale too. */
void icache_new_map_epoch(struct icache *ic);
/* memmap code-write hook: everything decoded from that page is stale. */
void icache_code_written(void *opaque, uint32_t phys_page_addr);

static inline uint32_t icache_key(const struct icache *ic, bool user, bool code32)
{
    return ic->epoch << 2 | (uint32_t)user << 1 | (uint32_t)code32;
}

static inline uint32_t iblock_key(const struct icache *ic, bool user, bool code32)
{
    return ic->map_epoch << 2 | (uint32_t)user << 1 | (uint32_t)code32;
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

static inline struct iblock *iblock_slot_of(struct iblock *blocks, uint32_t lin)
{
    return &blocks[(lin ^ (lin >> IBLOCK_BITS)) & (IBLOCK_SIZE - 1)];
}

static inline bool icache_valid(const struct icache *ic, const struct icache_entry *e,
                                uint32_t lin, uint32_t key)
{
    return e->lin == lin && e->key == key && ic->page_gen[e->ppage] == e->gen;
}

#endif
