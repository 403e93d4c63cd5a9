/* Shadow page table / software TLB (DESIGN decision 3).
 *
 * An entry maps one guest-virtual page to host memory for each access kind it has been
 * validated for. A hit is: index by page number, compare the tag of the access kind, add the
 * addend. Tags are page-aligned; TLB_INVALID has low bits set so it never matches. Separate
 * tables for supervisor and user privilege keep the rights check out of the fast path. */
#ifndef BT86_TLB_H
#define BT86_TLB_H

#include <stdbool.h>
#include <stdint.h>

#define TLB_BITS 9
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_INVALID 0x1u

enum tlb_access { TLB_READ = 0, TLB_WRITE = 1, TLB_EXEC = 2 };

struct tlb_entry {
    uint32_t tag[3];      /* per enum tlb_access: linear page, or TLB_INVALID */
    uint32_t phys_page;   /* physical address of the page (for write-watch and code lookup) */
    uintptr_t addend;     /* host = linear + addend */
    uint8_t global;       /* from a PTE with G set while CR4.PGE: survives CR3 writes */
    uint8_t pad[7];
};

/* Hint bits, by a hash of the physical page, for "some entry may hold a write mapping of this
 * page": tlb_drop_writes_to() skips its scan when the bit is clear (the usual case when code
 * is first decoded from a page). Set by tlb_note_write_mapping(), rebuilt on flushes. */
#define TLB_WHINT_BITS 4096u

struct tlb {
    struct tlb_entry e[2][TLB_SIZE]; /* [0] supervisor, [1] user */
    uint64_t write_hint[TLB_WHINT_BITS / 64];
};

static inline uint32_t tlb_index(uint32_t lin) { return (lin >> 12) & (TLB_SIZE - 1); }

static inline void tlb_note_write_mapping(struct tlb *t, uint32_t phys_page)
{
    uint32_t h = (phys_page >> 12) & (TLB_WHINT_BITS - 1);
    t->write_hint[h / 64] |= 1ull << (h % 64);
}

void tlb_flush_all(struct tlb *t);
void tlb_flush_nonglobal(struct tlb *t);
void tlb_flush_page(struct tlb *t, uint32_t lin);
/* Drop write mappings to one physical page (it now holds code). */
void tlb_drop_writes_to(struct tlb *t, uint32_t phys_page);

#endif
