#include "mmu/tlb.h"

#include <string.h>

static void entry_clear(struct tlb_entry *e)
{
    e->tag[0] = e->tag[1] = e->tag[2] = TLB_INVALID;
    e->global = 0;
}

void tlb_flush_all(struct tlb *t)
{
    for (unsigned p = 0; p < 2; p++)
        for (unsigned i = 0; i < TLB_SIZE; i++)
            entry_clear(&t->e[p][i]);
    memset(t->write_hint, 0, sizeof(t->write_hint));
}

void tlb_flush_nonglobal(struct tlb *t)
{
    memset(t->write_hint, 0, sizeof(t->write_hint));
    for (unsigned p = 0; p < 2; p++)
        for (unsigned i = 0; i < TLB_SIZE; i++) {
            struct tlb_entry *e = &t->e[p][i];
            if (!e->global)
                entry_clear(e);
            else if (e->tag[TLB_WRITE] != TLB_INVALID)
                tlb_note_write_mapping(t, e->phys_page);
        }
}

void tlb_flush_page(struct tlb *t, uint32_t lin)
{
    uint32_t page = lin & 0xFFFFF000u;
    for (unsigned p = 0; p < 2; p++) {
        struct tlb_entry *e = &t->e[p][tlb_index(lin)];
        if (e->tag[0] == page || e->tag[1] == page || e->tag[2] == page)
            entry_clear(e);
    }
}

void tlb_drop_writes_to(struct tlb *t, uint32_t phys_page)
{
    uint32_t h = (phys_page >> 12) & (TLB_WHINT_BITS - 1);
    if (!(t->write_hint[h / 64] & (1ull << (h % 64))))
        return; /* no write mapping of this page was installed since the last flush */
    for (unsigned p = 0; p < 2; p++)
        for (unsigned i = 0; i < TLB_SIZE; i++) {
            struct tlb_entry *e = &t->e[p][i];
            if (e->tag[TLB_WRITE] != TLB_INVALID && e->phys_page == phys_page)
                e->tag[TLB_WRITE] = TLB_INVALID;
        }
}
