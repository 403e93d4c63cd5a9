#include "mmu/paging.h"

#include "mmu/journal.h"

#include <string.h>

/* Page-table entries live in guest RAM; reading them through the map keeps MMIO and unassigned
 * addresses safe (unassigned reads as all-ones, which is "present" — as on hardware). */
static uint32_t read_entry(struct memmap *m, uint32_t phys) { return memmap_read(m, phys, 4); }

static void set_bits(struct memmap *m, uint32_t phys, uint32_t entry, uint32_t bits)
{
    if ((entry & bits) == bits)
        return;
    /* Compare mode keeps A/D updates out of the journal: the reference run's walk leaves its
     * translation in the TLB, so the run compared with it would not walk again, and setting
     * the bits twice gives the same memory anyway. */
    bool *rec = m->journal ? &m->journal->recording : NULL;
    bool was = rec && *rec;
    if (was)
        *rec = false;
    memmap_write(m, phys, entry | bits, 4);
    if (was)
        *rec = true;
}

bool paging_walk(struct memmap *m, const struct paging_ctl *ctl, uint32_t lin, bool write,
                 bool user, struct walk *out, uint32_t *pf_error)
{
    uint32_t err = (write ? PFEC_W : 0) | (user ? PFEC_U : 0);
    uint32_t pde_addr = (ctl->cr3 & 0xFFFFF000u) | ((lin >> 22) << 2);
    uint32_t pde = read_entry(m, pde_addr);
    if (!(pde & PTE_P)) {
        *pf_error = err;
        return false;
    }
    uint32_t rights, phys, pte_addr = 0, pte = 0;
    bool big = ctl->pse && (pde & PTE_PS);
    if (big) {
        rights = pde;
        phys = (pde & 0xFFC00000u) | (lin & 0x003FFFFFu);
    } else {
        pte_addr = (pde & 0xFFFFF000u) | (((lin >> 12) & 0x3FF) << 2);
        pte = read_entry(m, pte_addr);
        if (!(pte & PTE_P)) {
            set_bits(m, pde_addr, pde, PTE_A);
            *pf_error = err;
            return false;
        }
        rights = pde & pte; /* U and W must be granted at both levels */
        phys = (pte & 0xFFFFF000u) | (lin & 0xFFFu);
    }
    bool user_ok = rights & PTE_U;
    bool writable = (rights & PTE_W) || (!user && !ctl->wp);
    if ((user && !user_ok) || (write && !writable)) {
        *pf_error = err | PFEC_P;
        return false;
    }
    uint32_t leaf = big ? pde : pte;
    if (big) {
        set_bits(m, pde_addr, pde, PTE_A | (write ? PTE_D : 0));
    } else {
        set_bits(m, pde_addr, pde, PTE_A);
        set_bits(m, pte_addr, pte, PTE_A | (write ? PTE_D : 0));
    }
    out->phys = phys;
    out->writable = writable;
    out->dirty = write || (leaf & PTE_D);
    out->global = ctl->pge && (leaf & PTE_G);
    return true;
}
