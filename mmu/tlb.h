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

struct tlb {
    struct tlb_entry e[2][TLB_SIZE]; /* [0] supervisor, [1] user */
};

static inline uint32_t tlb_index(uint32_t lin) { return (lin >> 12) & (TLB_SIZE - 1); }

void tlb_flush_all(struct tlb *t);
void tlb_flush_nonglobal(struct tlb *t);
void tlb_flush_page(struct tlb *t, uint32_t lin);
/* Drop write mappings to one physical page (it now holds code). */
void tlb_drop_writes_to(struct tlb *t, uint32_t phys_page);

#endif
