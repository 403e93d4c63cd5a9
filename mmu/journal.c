#include "mmu/journal.h"

#include <stdlib.h>

#include "mmu/memmap.h"

int mem_journal_init(struct mem_journal *j, size_t cap)
{
    *j = (struct mem_journal){0};
    j->e = malloc(cap * sizeof(*j->e));
    if (!j->e)
        return -1;
    j->cap = cap;
    return 0;
}

void mem_journal_free(struct mem_journal *j)
{
    free(j->e);
    *j = (struct mem_journal){0};
}

void mem_journal_log(struct mem_journal *j, struct memmap *m, uint32_t phys, unsigned size)
{
    for (unsigned k = 0; k < size; k++) {
        if (j->n == j->cap) {
            j->overflow = true; /* the caller gives up on this run: abort now */
            mem_journal_abort(j);
        }
        const uint8_t *h = memmap_write_ptr(m, phys + k);
        j->e[j->n++] = (struct journal_byte){phys + k, h ? *h : 0};
    }
}

_Noreturn void mem_journal_abort(struct mem_journal *j)
{
    j->recording = false;
    longjmp(*j->abort_to, 1);
}

void mem_journal_undo(struct mem_journal *j, struct memmap *m)
{
    for (size_t k = j->n; k-- > 0;) {
        uint8_t *h = memmap_write_ptr(m, j->e[k].phys);
        if (h)
            *h = j->e[k].old;
    }
}
