/* A log of guest-memory stores, for the lockstep compare mode (translator/compare.c).
 *
 * While a journal is attached to the memory map, the CPU installs no write mappings in its
 * TLB, so every guest store reaches memmap_write(), which logs the bytes it overwrites while
 * `recording` is set. A recorded run can then be undone exactly. An MMIO access while
 * recording would reach a device, which cannot be undone: it unwinds to `abort_to` instead,
 * before the device sees it. */
#ifndef BT86_JOURNAL_H
#define BT86_JOURNAL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct memmap;

struct journal_byte {
    uint32_t phys;
    uint8_t old;
};

struct mem_journal {
    bool recording;
    bool overflow;        /* more stores than `cap`: the run cannot be undone */
    jmp_buf *abort_to;    /* where an MMIO access while recording unwinds to */
    struct journal_byte *e;
    size_t n, cap;
};

int mem_journal_init(struct mem_journal *j, size_t cap);
void mem_journal_free(struct mem_journal *j);
static inline void mem_journal_start(struct mem_journal *j)
{
    j->n = 0;
    j->overflow = false;
    j->recording = true;
}
/* Called by memmap_write() for RAM before it stores `size` bytes at `phys`. */
void mem_journal_log(struct mem_journal *j, struct memmap *m, uint32_t phys, unsigned size);
_Noreturn void mem_journal_abort(struct mem_journal *j);
/* Put back every byte the recorded run overwrote (in reverse order). */
void mem_journal_undo(struct mem_journal *j, struct memmap *m);

#endif
