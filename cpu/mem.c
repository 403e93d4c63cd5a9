#include "cpu/mem.h"

#include "cpu/debug.h"
#include "mmu/paging.h"

_Noreturn void seg_limit_fault(struct cpu *c, int sreg)
{
    cpu_fault_err(c, sreg == SR_SS ? EXC_SS : EXC_GP, 0);
}

/* Translate one linear address for an access; raise #PF when the walk fails. On success fill
 * the TLB entry for the page when the page is plain memory. Returns the physical address. */
static uint32_t translate(struct cpu *c, uint32_t lin, unsigned kind, unsigned priv)
{
    uint32_t phys;
    bool writable = true, dirty = true, global = false;
    if (c->cr0 & CR0_PG) {
        struct paging_ctl ctl = {c->cr3, (c->cr0 & CR0_WP) != 0, (c->cr4 & CR4_PSE) != 0,
                                 (c->cr4 & CR4_PGE) != 0};
        struct walk w;
        uint32_t err;
        if (!paging_walk(c->mem, &ctl, lin, kind == TLB_WRITE, priv == PRIV_USER, &w, &err)) {
            c->cr2 = lin;
            cpu_fault_err(c, EXC_PF, err);
        }
        phys = w.phys;
        writable = w.writable;
        dirty = w.dirty;
        global = w.global;
    } else {
        phys = lin;
    }
    phys &= c->a20_mask;

    struct tlb_entry *e = &c->tlb.e[priv][tlb_index(lin)];
    uint32_t page = lin & PAGE_MASK, ppage = phys & PAGE_MASK;
    const struct page_map *pm = &c->mem->pages[ppage >> PAGE_SHIFT];
    /* An entry holds one page; replacing a different page starts from nothing. */
    if (e->tag[0] != page && e->tag[1] != page && e->tag[2] != page) {
        e->tag[0] = e->tag[1] = e->tag[2] = TLB_INVALID;
    } else if (e->phys_page != ppage) {
        e->tag[0] = e->tag[1] = e->tag[2] = TLB_INVALID;
    }
    e->phys_page = ppage;
    e->global = global;
    if (pm->host_read && (pm->host_write == pm->host_read || !pm->host_write)) {
        e->addend = (uintptr_t)pm->host_read - page;
        e->tag[TLB_READ] = page;
        e->tag[TLB_EXEC] = page;
        /* Compare mode journals every store: no write mappings then (mmu/journal.h). */
        if (pm->host_write && writable && dirty && !memmap_is_code(c->mem, ppage) &&
            !c->mem->journal) {
            e->tag[TLB_WRITE] = page;
            tlb_note_write_mapping(&c->tlb, ppage);
        }
    }
    if (unlikely(c->dbg_armed & DBG_DATA)) /* watched pages stay on the slow path */
        dbg_filter_tlb(c, e, page);
    return phys;
}

static uint32_t phys_read(struct cpu *c, uint32_t phys, unsigned size)
{
    return memmap_read(c->mem, phys, size);
}

uint32_t lin_read_slow(struct cpu *c, uint32_t lin, unsigned size, unsigned kind, unsigned priv)
{
    if (unlikely(c->dbg_armed & DBG_DATA) && kind != TLB_EXEC)
        dbg_check_data(c, lin, size, false); /* voided by the fault path if the access faults */
    uint32_t off = lin & ~PAGE_MASK;
    if (off + size <= PAGE_SIZE)
        return phys_read(c, translate(c, lin, kind, priv), size);
    /* Split across two pages: translate both before reading either. */
    unsigned first = PAGE_SIZE - off;
    uint32_t p0 = translate(c, lin, kind, priv);
    uint32_t p1 = translate(c, lin + first, kind, priv);
    uint32_t v = 0;
    for (unsigned n = 0; n < size; n++) {
        uint32_t p = n < first ? p0 + n : p1 + (n - first);
        v |= phys_read(c, p, 1) << (8 * n);
    }
    return v;
}

void lin_write_slow(struct cpu *c, uint32_t lin, uint32_t v, unsigned size, unsigned priv)
{
    if (unlikely(c->dbg_armed & DBG_DATA))
        dbg_check_data(c, lin, size, true);
    uint32_t off = lin & ~PAGE_MASK;
    if (off + size <= PAGE_SIZE) {
        memmap_write(c->mem, translate(c, lin, TLB_WRITE, priv), v, size);
        return;
    }
    unsigned first = PAGE_SIZE - off;
    uint32_t p0 = translate(c, lin, TLB_WRITE, priv);
    uint32_t p1 = translate(c, lin + first, TLB_WRITE, priv);
    for (unsigned n = 0; n < size; n++) {
        uint32_t p = n < first ? p0 + n : p1 + (n - first);
        memmap_write(c->mem, p, (v >> (8 * n)) & 0xFF, 1);
    }
}

void mem_probe_write_slow(struct cpu *c, uint32_t lin, unsigned size, unsigned priv)
{
    const struct tlb_entry *e = &c->tlb.e[priv][tlb_index(lin)];
    if (e->tag[TLB_WRITE] != (lin & PAGE_MASK))
        translate(c, lin, TLB_WRITE, priv);
    uint32_t last = lin + size - 1;
    if ((last & PAGE_MASK) != (lin & PAGE_MASK))
        translate(c, last & PAGE_MASK, TLB_WRITE, priv); /* CR2 = first byte on that page */
}
