/* Debug registers and #DB (see cpu/debug.h for how breakpoints stay off the fast paths). */
#include "cpu/debug.h"

#include "cpu/icache.h"

/* DR7 fields of breakpoint n. */
static inline bool bp_enabled(uint32_t dr7, unsigned n) { return (dr7 >> (2 * n)) & 3u; }
static inline unsigned bp_rw(uint32_t dr7, unsigned n) { return (dr7 >> (16 + 4 * n)) & 3u; }

/* LEN 00/01/11 = 1/2/4 bytes; 10 is undefined on 32-bit processors and taken as 8 bytes, as
 * later ones define it. The low address bits the length covers are ignored (SDM 17.2.5). */
static inline uint32_t bp_len_mask(uint32_t dr7, unsigned n)
{
    static const uint8_t mask[4] = {0, 1, 7, 3};
    return mask[(dr7 >> (18 + 4 * n)) & 3u];
}

enum { RW_EXEC = 0, RW_WRITE = 1, RW_IO = 2, RW_RDWR = 3 };

/* Whether [addr, addr + size) meets breakpoint n's range; both may wrap at 4 GiB. */
static inline bool bp_overlaps(const struct cpu *c, unsigned n, uint32_t addr, unsigned size)
{
    uint32_t m = bp_len_mask(c->dr[7], n), lo = c->dr[n] & ~m;
    return lo - addr < size || addr - lo <= m;
}

/* Drop the TLB entries of the pages holding enabled data breakpoints. */
static void flush_watched_pages(struct cpu *c)
{
    uint32_t dr7 = c->dr[7];
    for (unsigned n = 0; n < 4; n++) {
        unsigned rw = bp_rw(dr7, n);
        if (bp_enabled(dr7, n) && (rw == RW_WRITE || rw == RW_RDWR))
            tlb_flush_page(&c->tlb, c->dr[n]);
    }
}

void dbg_update(struct cpu *c)
{
    uint32_t dr7 = c->dr[7];
    uint8_t armed = 0;
    for (unsigned n = 0; n < 4; n++) {
        if (!bp_enabled(dr7, n))
            continue;
        switch (bp_rw(dr7, n)) {
        case RW_EXEC: armed |= DBG_INSN; break;
        case RW_IO:
            if (c->cr4 & CR4_DE) /* undefined without it: ignored */
                armed |= DBG_IO;
            break;
        default: armed |= DBG_DATA; break;
        }
    }
    c->dbg_armed = armed;
    if (armed & DBG_DATA)
        flush_watched_pages(c);
    /* A decoded instruction may be cached at a new breakpoint address. */
    if (armed & DBG_INSN)
        icache_new_map_epoch(c->icache);
}

void dbg_write_dr(struct cpu *c, unsigned n, uint32_t v)
{
    if (n == 6) {
        c->dr[6] = (v & DR6_WRITABLE) | DR6_FIXED1;
        return;
    }
    /* Pages watched until now may use the fast path again. */
    if (c->dbg_armed & DBG_DATA)
        flush_watched_pages(c);
    c->dr[n] = n == 7 ? (v & DR7_WRITABLE) | DR7_FIXED1 : v;
    dbg_update(c);
}

bool dbg_insn_bp_at(const struct cpu *c, uint32_t lin)
{
    uint32_t dr7 = c->dr[7];
    for (unsigned n = 0; n < 4; n++)
        if (bp_enabled(dr7, n) && bp_rw(dr7, n) == RW_EXEC && c->dr[n] == lin)
            return true;
    return false;
}

void dbg_check_insn(struct cpu *c, uint32_t lin)
{
    if (c->eflags & FL_RF)
        return;
    /* LEN must be 00 for instruction breakpoints; others are undefined and matched the same
     * way, on the first byte of the instruction (its first prefix). */
    uint32_t dr7 = c->dr[7], hits = 0;
    for (unsigned n = 0; n < 4; n++)
        if (bp_enabled(dr7, n) && bp_rw(dr7, n) == RW_EXEC && c->dr[n] == lin)
            hits |= DR6_B(n);
    if (hits) {
        c->dr[6] |= hits;
        cpu_fault(c, EXC_DB);
    }
}

void dbg_check_data(struct cpu *c, uint32_t lin, unsigned size, bool write)
{
    uint32_t dr7 = c->dr[7], hits = 0;
    for (unsigned n = 0; n < 4; n++) {
        if (!bp_enabled(dr7, n))
            continue;
        unsigned rw = bp_rw(dr7, n);
        if ((rw == RW_RDWR || (rw == RW_WRITE && write)) && bp_overlaps(c, n, lin, size))
            hits |= DR6_B(n);
    }
    if (hits)
        dbg_queue_trap(c, hits);
}

void dbg_check_io(struct cpu *c, uint16_t port, unsigned size)
{
    uint32_t dr7 = c->dr[7], hits = 0;
    for (unsigned n = 0; n < 4; n++)
        if (bp_enabled(dr7, n) && bp_rw(dr7, n) == RW_IO && bp_overlaps(c, n, port, size))
            hits |= DR6_B(n);
    if (hits)
        dbg_queue_trap(c, hits);
}

void dbg_filter_tlb(const struct cpu *c, struct tlb_entry *e, uint32_t page)
{
    uint32_t dr7 = c->dr[7];
    for (unsigned n = 0; n < 4; n++) {
        if (!bp_enabled(dr7, n) || (c->dr[n] & PAGE_MASK) != page)
            continue;
        /* An aligned range of at most 8 bytes never leaves its page. */
        unsigned rw = bp_rw(dr7, n);
        if (rw == RW_WRITE || rw == RW_RDWR)
            e->tag[TLB_WRITE] = TLB_INVALID;
        if (rw == RW_RDWR)
            e->tag[TLB_READ] = TLB_INVALID;
    }
}

bool dbg_trap(struct cpu *c, uint32_t dr6_bits)
{
    c->dr[6] |= dr6_bits | c->dbg_pending;
    c->dbg_pending = 0;
    c->inhibit_irq &= (uint8_t)~INHIBIT_DBG_PENDING;
    c->insn_eip = c->eip;
    c->insn_esp = c->regs[R_ESP];
    if (c->stop_on_exception & (1u << EXC_DB)) {
        c->exc_vector = EXC_DB;
        c->exc_error = 0;
        c->exc_has_error = false;
        c->exc_trap = true;
        return true;
    }
    cpu_deliver(c, EXC_DB, false, 0, false);
    return false;
}

bool dbg_boundary(struct cpu *c)
{
    if (c->inhibit_irq & INHIBIT_DEBUG) {
        /* Behind MOV SS/POP SS the trap waits for the end of the next instruction (SDM 6.8.3),
         * where it merges with a single-step trap if there is one. */
        c->inhibit_irq = INHIBIT_DBG_PENDING;
        return false;
    }
    c->inhibit_irq = 0;
    return dbg_trap(c, 0);
}
