/* The reference interpreter: fetch (through the decoded-instruction cache), dispatch, and the
 * exception and interrupt machinery around them. */
#include <string.h>

#include "cpu/exec.h"
#include "cpu/flags.h"
#include "cpu/icache.h"
#include "cpu/mem.h"

const exec_fn exec_table[OP_COUNT] = {
#define EXEC_ENTRY(name) [OP_##name] = exec_##name,
    INSN_OPS(EXEC_ENTRY)
#undef EXEC_ENTRY
};

/* Copy instruction bytes from linear `lin` into buf; n never crosses a page. */
static void fetch_page_bytes(struct cpu *c, uint32_t lin, uint8_t *buf, unsigned n)
{
    unsigned priv = cpu_priv(c);
    const struct tlb_entry *e = &c->tlb.e[priv][tlb_index(lin)];
    if (e->tag[TLB_EXEC] != (lin & PAGE_MASK)) {
        buf[0] = (uint8_t)lin_read_slow(c, lin, 1, TLB_EXEC, priv); /* fills the TLB or faults */
        if (e->tag[TLB_EXEC] != (lin & PAGE_MASK)) {
            for (unsigned k = 1; k < n; k++) /* MMIO: byte by byte */
                buf[k] = (uint8_t)lin_read_slow(c, lin + k, 1, TLB_EXEC, priv);
            return;
        }
    }
    memcpy(buf, (const uint8_t *)(uintptr_t)(lin + e->addend), n);
}

static const struct insn *fetch_decode_slow(struct cpu *c, struct insn *tmp)
{
    const struct seg *cs = &c->seg[SR_CS];
    uint32_t eip = c->eip;
    if (eip > cs->limit)
        cpu_fault_err(c, EXC_GP, 0);
    uint32_t to_limit = cs->limit - eip; /* bytes available beyond the first, within CS */
    unsigned max = to_limit >= INSN_MAX_LEN - 1 ? INSN_MAX_LEN : to_limit + 1;
    uint32_t lin = cs->base + eip;
    unsigned first = PAGE_SIZE - (lin & ~PAGE_MASK);
    uint8_t buf[INSN_MAX_LEN];
    unsigned have = first < max ? first : max;
    fetch_page_bytes(c, lin, buf, have);
    int r = decode_insn(tmp, buf, have, c->code32);
    if (r == DEC_NEED_MORE && have < max) {
        /* Only now touch the next page: a fault there is the architectural one. */
        fetch_page_bytes(c, lin + have, buf + have, max - have);
        r = decode_insn(tmp, buf, max, c->code32);
    }
    switch (r) {
    case DEC_OK: break;
    case DEC_UD: cpu_fault(c, EXC_UD);
    default: cpu_fault_err(c, EXC_GP, 0); /* too long, or runs past the CS limit */
    }
    if (tmp->len <= first) {
        /* Cache instructions that lie in one page of RAM or ROM; watch that page for writes. */
        const struct tlb_entry *e = &c->tlb.e[cpu_priv(c)][tlb_index(lin)];
        if (e->tag[TLB_EXEC] == (lin & PAGE_MASK)) {
            struct icache *ic = c->icache;
            uint32_t ppage = e->phys_page >> PAGE_SHIFT;
            struct icache_entry *slot = icache_slot(ic, lin);
            if (!memmap_is_code(c->mem, e->phys_page)) {
                memmap_mark_code(c->mem, e->phys_page);
                tlb_drop_writes_to(&c->tlb, e->phys_page);
            }
            slot->lin = lin;
            slot->key = icache_key(ic, cpu_priv(c), c->code32);
            slot->ppage = ppage;
            slot->gen = ic->page_gen[ppage];
            slot->insn = *tmp;
            ic->misses++;
            return &slot->insn;
        }
    }
    return tmp;
}

/* The icache's arrays are allocated once by icache_create() and never move, so the run loop
 * keeps pointers to them in registers instead of reloading them through c->icache after every
 * handler call (the compiler cannot know a handler leaves them alone). */
struct icache_view {
    struct icache *ic;
    struct icache_entry *entries;
    const uint32_t *page_gen;
};

static inline const struct insn *fetch_decode(struct cpu *c, uint32_t eip,
                                              const struct icache_view *v, struct insn *tmp)
{
    const uint32_t lin = c->seg[SR_CS].base + eip;
    const struct icache_entry *e = icache_slot_of(v->entries, lin);
    /* Same test as icache_valid(), plus "the whole instruction is within the CS limit"
     * (eip + len - 1 <= limit, in 64 bits so it cannot wrap). */
    if (likely(e->lin == lin && e->key == icache_key(v->ic, cpu_priv(c), c->code32) &&
               v->page_gen[e->ppage] == e->gen &&
               (uint64_t)eip + e->insn.len - 1 <= c->seg[SR_CS].limit))
        return &e->insn;
    return fetch_decode_slow(c, tmp);
}

static bool is_contributory(int v)
{
    return v == EXC_DE || (v >= EXC_TS && v <= EXC_GP);
}

/* Maskable interrupts, NMI, HLT wake-up. Returns true if cpu_run() must return `*why`. */
static bool handle_events(struct cpu *c, enum cpu_exit *why)
{
    if (c->stop_requested) {
        c->stop_requested = false;
        *why = c->shutdown ? CPU_EXIT_SHUTDOWN : CPU_EXIT_STOP;
        return true;
    }
    if (c->inhibit_irq) {
        c->inhibit_irq = 0;
        return false;
    }
    if (c->nmi_pending) {
        c->nmi_pending = false;
        c->insn_eip = c->eip;
        c->insn_esp = c->regs[R_ESP];
        cpu_deliver(c, EXC_NMI, false, 0, false);
        return false;
    }
    if (c->intr_line && (c->eflags & FL_IF) && c->bus.intr_ack) {
        int vec = c->bus.intr_ack(c->bus.opaque);
        if (vec >= 0) {
            c->insn_eip = c->eip;
            c->insn_esp = c->regs[R_ESP];
            cpu_deliver(c, vec, false, 0, false);
            return false;
        }
    }
    if (c->halted) {
        *why = CPU_EXIT_HLT;
        return true;
    }
    return false;
}

enum cpu_exit cpu_run(struct cpu *c, uint64_t max_insns)
{
    jmp_buf jb;
    jmp_buf *outer = c->exc_jmp;
    struct insn tmp;
    volatile enum cpu_exit why = CPU_EXIT_LIMIT;
    const uint64_t end = c->icount + max_insns;
    volatile int delivering = -1; /* vector being delivered when a nested fault arrives */
    const struct icache_view iv = {c->icache, c->icache->e, c->icache->page_gen};

    c->exc_jmp = &jb;
    if (setjmp(jb)) {
        /* A fault: back to the faulting instruction's boundary, then deliver. */
        int v = c->exc_vector;
        if (c->exc_trap) {
            c->icount++; /* the trapping instruction completed */
            why = CPU_EXIT_EXCEPTION;
            goto out;
        }
        c->eip = c->insn_eip;
        c->regs[R_ESP] = c->insn_esp;
        if (v >= 0 && v < 32 && (c->stop_on_exception & (1u << v))) {
            why = CPU_EXIT_EXCEPTION;
            goto out;
        }
        uint32_t err = c->exc_error;
        bool has_err = c->exc_has_error;
        if (delivering >= 0) {
            if (delivering == EXC_DF) {
                c->shutdown = true;
                why = CPU_EXIT_SHUTDOWN;
                goto out;
            }
            if ((is_contributory(delivering) && is_contributory(v)) ||
                (delivering == EXC_PF && (is_contributory(v) || v == EXC_PF))) {
                v = EXC_DF;
                err = 0;
                has_err = true;
            }
        }
        delivering = v;
        c->halted = false;
        cpu_deliver(c, v, false, err, has_err && cpu_protected(c));
        delivering = -1;
    }

    while (c->icount < end) {
        if (unlikely(c->intr_line | c->nmi_pending | c->stop_requested | c->halted |
                     c->inhibit_irq)) {
            enum cpu_exit ev;
            if (handle_events(c, &ev)) {
                why = ev;
                goto out;
            }
            if (c->halted)
                continue;
        }
        const uint32_t eip = c->eip;
        c->insn_eip = eip;
        c->insn_esp = c->regs[R_ESP];
        uint32_t tf = c->eflags & FL_TF;
        const struct insn *i = fetch_decode(c, eip, &iv, &tmp);
        c->eip = eip + i->len;
        exec_table[i->op](c, i);
        c->icount++;
        if (unlikely(tf) && !(c->inhibit_irq & INHIBIT_DEBUG)) {
            c->dr[6] |= 0x4000; /* BS: single-step trap */
            c->insn_eip = c->eip;
            c->insn_esp = c->regs[R_ESP];
            if (c->stop_on_exception & (1u << EXC_DB)) {
                c->exc_vector = EXC_DB;
                why = CPU_EXIT_EXCEPTION;
                goto out;
            }
            cpu_deliver(c, EXC_DB, false, 0, false);
        }
        if (unlikely(c->halted && c->exit_on_hlt)) {
            why = CPU_EXIT_HLT;
            goto out;
        }
    }
out:
    c->exc_jmp = outer;
    return why;
}
