/* The reference interpreter: fetch (through the decoded-instruction cache), dispatch, and the
 * exception and interrupt machinery around them. */
#include <string.h>

#include "cpu/debug.h"
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
    /* Only this path sees an instruction breakpoint address (none is cached); the #DB fault
     * comes before any fault of the fetch itself. */
    if (unlikely(c->dbg_armed & DBG_INSN))
        dbg_check_insn(c, cs->base + eip);
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
    if (tmp->len <= first && !(unlikely(c->dbg_armed & DBG_INSN) && dbg_insn_bp_at(c, lin))) {
        /* Cache instructions that lie in one page of RAM or ROM; watch that page for writes. */
        const struct tlb_entry *e = &c->tlb.e[cpu_priv(c)][tlb_index(lin)];
        if (e->tag[TLB_EXEC] == (lin & PAGE_MASK)) {
            struct icache *ic = c->icache;
            uint32_t ppage = e->phys_page >> PAGE_SHIFT;
            struct icache_entry *slot = icache_slot(ic, lin);
            if (!memmap_is_code(c->mem, e->phys_page))
                tlb_drop_writes_to(&c->tlb, e->phys_page); /* first code on the page */
            memmap_mark_code(c->mem, e->phys_page | (lin & ~PAGE_MASK), tmp->len);
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
    struct iblock *blocks;
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

/* Operations that may sit before the end of a block: they cannot change anything a block
 * relies on (CS, mode, CPL, TF/RF/IF, interrupt shadows, HLT, the TLB epoch, breakpoints) and
 * do no port I/O. Any other operation is the last of its block, so the run loop looks at
 * events and TF again before the next instruction. */
bool op_continues_block(unsigned op)
{
    switch (op) {
    case OP_ADD: case OP_OR: case OP_ADC: case OP_SBB: case OP_AND: case OP_SUB: case OP_XOR:
    case OP_CMP: case OP_TEST: case OP_ROL: case OP_ROR: case OP_RCL: case OP_RCR: case OP_SHL:
    case OP_SHR: case OP_SAL: case OP_SAR: case OP_SHLD: case OP_SHRD: case OP_INC: case OP_DEC:
    case OP_NOT: case OP_NEG: case OP_MUL: case OP_IMUL1: case OP_DIV: case OP_IDIV:
    case OP_IMUL: case OP_IMUL3: case OP_DAA: case OP_DAS: case OP_AAA: case OP_AAS:
    case OP_AAM: case OP_AAD: case OP_SALC: case OP_BT: case OP_BTS: case OP_BTR: case OP_BTC:
    case OP_BSF: case OP_BSR: case OP_BSWAP: case OP_MOV: case OP_MOVZX: case OP_MOVSX:
    case OP_LEA: case OP_XCHG: case OP_CMPXCHG: case OP_CMPXCHG8B: case OP_XADD: case OP_CMOV:
    case OP_SETCC: case OP_CBW: case OP_CWD: case OP_XLAT: case OP_NOP: case OP_PUSH:
    case OP_POP: case OP_PUSHA: case OP_POPA: case OP_LEAVE: case OP_SAHF: case OP_LAHF:
    case OP_CLC: case OP_STC: case OP_CMC: case OP_CLD: case OP_STD: case OP_JCC: case OP_LOOP:
    case OP_LOOPE: case OP_LOOPNE: case OP_JCXZ: case OP_MOVS: case OP_CMPS: case OP_STOS:
    case OP_LODS: case OP_SCAS:
    /* x87/MMX: an error reported through FERR# raises IRQ 13, a pending event the block
     * loop (and translated code) checks after every handler. */
    case OP_FPU: case OP_WAIT: case OP_MMX: case OP_EMMS: case OP_FXSAVE: case OP_FXRSTOR:
        return true;
    default:
        return false;
    }
}

/* Decode a block at CS:eip (linear `lin`) without faulting: whatever cannot be decoded from
 * the page as it is now (TLB miss, page or CS-limit crossing, invalid encoding, breakpoint)
 * ends the block there, and the single-instruction path meets it with its architectural
 * fault. Returns NULL when the block would be empty or the page is not mapped in the TLB. */
static struct iblock *form_block(struct cpu *c, uint32_t eip, uint32_t lin)
{
    struct icache *ic = c->icache;
    const unsigned priv = cpu_priv(c);
    const struct tlb_entry *e = &c->tlb.e[priv][tlb_index(lin)];
    const uint32_t limit = c->seg[SR_CS].limit;
    const bool bp = c->dbg_armed & DBG_INSN;
    if (eip > limit || (unlikely(bp) && dbg_insn_bp_at(c, lin)))
        return NULL;
    if (e->tag[TLB_EXEC] != (lin & PAGE_MASK)) {
        /* The fetch the single-instruction path would do first: fills the TLB, or raises the
         * instruction's own #PF (insn_eip/insn_esp are set). */
        lin_read_slow(c, lin, 1, TLB_EXEC, priv);
        if (e->tag[TLB_EXEC] != (lin & PAGE_MASK))
            return NULL; /* MMIO */
    }
    struct iblock *b = iblock_slot_of(ic->blocks, lin);
    if (b->lin == lin && b->key == iblock_key(ic, priv, c->code32) && b->n &&
        b->ppage == e->phys_page >> PAGE_SHIFT && ic->page_gen[b->ppage] == b->gen)
        return b; /* only the TLB entry had gone (a CR3 write, INVLPG): the block stands */
    uint64_t avail = (uint64_t)limit - eip + 1;
    const uint32_t to_page_end = PAGE_SIZE - (lin & ~PAGE_MASK);
    if (avail > to_page_end)
        avail = to_page_end;
    if (ic->pool_used > IBLOCK_POOL - IBLOCK_MAX_INSNS)
        icache_drop_blocks(ic);
    struct iblock_insn *ins = &ic->pool[ic->pool_used];
    const uint8_t *host = (const uint8_t *)(uintptr_t)(lin + e->addend);
    uint32_t off = 0, n = 0;
    while (n < ic->block_limit && off < avail) {
        if (unlikely(bp) && n > 0 && dbg_insn_bp_at(c, lin + off))
            break;
        struct insn *in = &ins[n].insn;
        if (decode_insn(in, host + off, (unsigned)(avail - off), c->code32) != DEC_OK)
            break;
        ins[n].fn = exec_fast_handler(in);
        off += in->len;
        n++;
        if (!op_continues_block(in->op))
            break;
    }
    if (n == 0)
        return NULL;
    if (!memmap_is_code(c->mem, e->phys_page))
        tlb_drop_writes_to(&c->tlb, e->phys_page); /* first code on the page */
    memmap_mark_code(c->mem, e->phys_page | (lin & ~PAGE_MASK), off);
    b->lin = lin;
    b->key = iblock_key(ic, priv, c->code32);
    b->ppage = e->phys_page >> PAGE_SHIFT;
    b->gen = ic->page_gen[b->ppage];
    b->span = off;
    b->n = n;
    b->ins = ins;
    b->host_gen = 0;
    b->runs = 0;
    ic->pool_used += n;
    ic->misses++;
    return b;
}

/* Run block `b` (entered at `eip`, the whole block within the budget) as host code,
 * translating it when it has become hot. Returns false to let the interpreter run it. */
static bool run_translated(struct cpu *c, struct iblock *b, uint32_t eip)
{
    /* Pending events (an interrupt held off by IF or a shadow) make the interpreter stop after
     * one instruction to look again; host code checks them only after calls it makes. */
    if (c->events != 0)
        return false;
    struct cpu_block_engine *en = c->engine;
    if (en->run)
        return en->run(en->ctx, c, b, eip);
    if (b->host_gen != *en->gen || b->host_eip != eip) {
        if (++b->runs < en->hot_runs)
            return false;
        b->runs = 0;
        b->host = en->translate(en->ctx, c, b, eip);
        if (!b->host) {
            b->host_gen = 0;
            return false;
        }
        b->host_gen = *en->gen;
        b->host_eip = eip;
    } else if (c->chain_site && c->chain_lin == b->lin && en->chain) {
        /* The last host block's exit led here. Not after a translation, which may have
         * flushed the code cache that exit was in. */
        en->chain(en->ctx, c, c->chain_site, b);
    }
    c->chain_site = NULL;
    b->host(c);
    return true;
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
        if (unlikely(c->dbg_pending)) { /* a #DB trap of the last instruction: before NMI/INTR */
            if (dbg_boundary(c)) {
                *why = CPU_EXIT_EXCEPTION;
                return true;
            }
            return false;
        }
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
    const struct icache_view iv = {c->icache, c->icache->e, c->icache->page_gen,
                                   c->icache->blocks};

    const uint64_t outer_end = c->icount_end;
    c->icount_end = end;
    c->chain_site = NULL;
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
        /* The instruction did not complete: its data breakpoint hits do not count. */
        c->dbg_pending = 0;
        c->inhibit_irq &= (uint8_t)~INHIBIT_DBG_PENDING;
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
        /* Faults push EFLAGS with RF set so the restarted instruction does not hit its own
         * instruction breakpoint again; #DB itself does not (SDM 17.3.1.1). */
        c->fault_rf = v != EXC_DB;
        cpu_deliver(c, v, false, err, has_err && cpu_protected(c));
        c->fault_rf = false;
        delivering = -1;
    }

    /* EIP of the next instruction, kept in a register: it equals c->eip at the top of every
     * iteration. After a handler, c->eip is only compared with the fall-through value (a
     * well-predicted branch), so the next fetch does not wait for the handler-side store of
     * EIP to be forwarded to a load: that store->load->fetch->store chain was the critical
     * path of the loop (empty-handler ceiling 107 -> 153 MIPS). Every place that changes
     * c->eip outside a handler reloads it. Initialised after the setjmp() above, so a fault
     * landing there re-reads it too. */
    uint32_t eip = c->eip;
    while (c->icount < end) {
        if (unlikely(c->events != 0)) {
            enum cpu_exit ev;
            if (handle_events(c, &ev)) {
                why = ev;
                goto out;
            }
            eip = c->eip; /* an interrupt may have been delivered */
            if (c->halted)
                continue;
        }
        /* Blocks run while nothing needs per-instruction attention: no TF, no RF. */
        if (likely(!(c->eflags & (FL_TF | FL_RF)))) {
            const uint32_t lin = c->seg[SR_CS].base + eip;
            const unsigned priv = cpu_priv(c);
            struct iblock *b = iblock_slot_of(iv.blocks, lin);
            const struct tlb_entry *te = &c->tlb.e[priv][tlb_index(lin)];
            /* The block's bytes unchanged, and its page still where the TLB maps `lin`. */
            if (unlikely(!(b->lin == lin && b->key == iblock_key(iv.ic, priv, c->code32) &&
                           iv.page_gen[b->ppage] == b->gen &&
                           te->tag[TLB_EXEC] == (lin & PAGE_MASK) &&
                           te->phys_page == b->ppage << PAGE_SHIFT))) {
                c->insn_eip = eip;
                c->insn_esp = c->regs[R_ESP];
                b = form_block(c, eip, lin);
            }
            if (likely(b != NULL) && (uint64_t)eip + b->span - 1 <= c->seg[SR_CS].limit) {
                /* The budget is exact: never run past `end`. */
                const uint64_t left = end - c->icount;
                if (c->engine && left >= b->n && run_translated(c, b, eip)) {
                    eip = c->eip;
                    if (unlikely(c->halted && c->exit_on_hlt)) {
                        why = CPU_EXIT_HLT;
                        goto out;
                    }
                    continue;
                }
                const struct iblock_insn *bi = b->ins;
                const struct iblock_insn *stop = bi + (left < b->n ? left : b->n);
                const uint32_t *pgen = &iv.page_gen[b->ppage];
                const uint32_t gen = b->gen;
                for (;;) {
                    c->insn_eip = eip;
                    c->insn_esp = c->regs[R_ESP];
                    const uint32_t next = eip + bi->insn.len;
                    c->eip = next;
                    bi->fn(c, &bi->insn);
                    c->icount++;
                    const uint32_t now = c->eip;
                    if (unlikely(now != next)) {
                        eip = now; /* a control transfer */
                        break;
                    }
                    uint32_t n = next;
                    __asm__("" : "+r"(n));
                    eip = n;
                    /* Events raised by the instruction (a data breakpoint, an IRQ from an
                     * MMIO write), or a store to this block's page (SMC): stop here. */
                    if (++bi == stop || unlikely(c->events != 0 || *pgen != gen))
                        break;
                }
                if (unlikely(c->halted && c->exit_on_hlt)) {
                    why = CPU_EXIT_HLT;
                    goto out;
                }
                continue;
            }
        }
        c->insn_eip = eip;
        c->insn_esp = c->regs[R_ESP];
        uint32_t tf = c->eflags & (FL_TF | FL_RF);
        const struct insn *i = fetch_decode(c, eip, &iv, &tmp);
        /* RF has done its job once the instruction-breakpoint check passed (SDM 17.3.1.1);
         * IRETD and task switches may set it again. */
        if (unlikely(tf & FL_RF))
            c->eflags &= ~FL_RF;
        const uint32_t next = eip + i->len;
        c->eip = next;
        exec_table[i->op](c, i);
        c->icount++;
        const uint32_t now = c->eip;
        if (likely(now == next)) {
            /* Hide the equality from the compiler, or it would use the loaded value and
             * bring the dependency back. */
            uint32_t n = next;
            __asm__("" : "+r"(n));
            eip = n;
        } else {
            eip = now; /* a control transfer */
        }
        /* Single-step trap, merged with any data-breakpoint trap into one #DB. */
        if (unlikely(tf & FL_TF) && !(c->inhibit_irq & INHIBIT_DEBUG)) {
            bool stop = dbg_trap(c, DR6_BS);
            eip = c->eip; /* the trap may have been delivered */
            if (stop) {
                why = CPU_EXIT_EXCEPTION;
                goto out;
            }
        }
        if (unlikely(c->halted && c->exit_on_hlt)) {
            why = CPU_EXIT_HLT;
            goto out;
        }
    }
out:
    c->exc_jmp = outer;
    c->icount_end = outer_end;
    c->chain_site = NULL;
    return why;
}
