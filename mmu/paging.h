/* Two-level i386 page walk (4 KiB pages, 4 MiB pages with CR4.PSE, global pages with CR4.PGE).
 * Sets the A and D bits in the guest's tables as the architecture does. Pure function of the
 * control-register values and guest memory, so both engines and tests share it. */
#ifndef BT86_PAGING_H
#define BT86_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/memmap.h"

#define PTE_P 0x001u
#define PTE_W 0x002u
#define PTE_U 0x004u
#define PTE_A 0x020u
#define PTE_D 0x040u
#define PTE_PS 0x080u
#define PTE_G 0x100u

/* #PF error code bits */
#define PFEC_P 0x1u
#define PFEC_W 0x2u
#define PFEC_U 0x4u

struct walk {
    uint32_t phys;       /* physical address of the byte accessed */
    bool writable;       /* a write at this privilege would be allowed */
    bool dirty;          /* the mapping's D bit is set (writes need no further update) */
    bool global;
};

struct paging_ctl {
    uint32_t cr3;
    bool wp;   /* CR0.WP */
    bool pse;  /* CR4.PSE */
    bool pge;  /* CR4.PGE */
};

/* Returns true on success; on a fault returns false with *pf_error set. */
bool paging_walk(struct memmap *m, const struct paging_ctl *ctl, uint32_t lin, bool write,
                 bool user, struct walk *out, uint32_t *pf_error);

#endif
