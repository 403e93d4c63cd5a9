/* String instructions: MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS, with and without REP.
 *
 * Each iteration does its memory accesses before it updates (E)SI/(E)DI/(E)CX, so a fault in
 * the middle of a REP leaves the registers at the faulting iteration and the instruction
 * restarts there. Long REPs stop after a batch when an event is waiting and restart the
 * instruction (EIP back to its start), which keeps interrupt latency bounded. REP MOVS and
 * REP STOS move whole runs within a page through the TLB's host pointers. */
#include "cpu/exec_port.h"
#include "cpu/mem.h"

#define REP_BATCH 4096u

enum str_kind { S_MOVS, S_CMPS, S_STOS, S_LODS, S_SCAS, S_INS, S_OUTS };

static inline uint32_t addr_mask(const struct insn *i) { return size_mask(i->asize); }

/* Advance an index register by `n` elements in the direction DF says. */
static inline void advance(struct cpu *c, const struct insn *i, unsigned r, uint32_t n)
{
    uint32_t bytes = n * i->osize;
    uint32_t v = c->regs[r] + ((c->eflags & FL_DF) ? (uint32_t)-bytes : bytes);
    reg_set(c, r, i->asize, v);
}

/* Whether a running REP must give way: a deliverable event, single-stepping (which traps
 * after every iteration), or a debug trap the last iteration raised. */
static inline bool rep_must_yield(const struct cpu *c)
{
    return (c->eflags & FL_TF) || c->stop_requested || c->nmi_pending ||
           (c->intr_line && (c->eflags & FL_IF)) || c->dbg_pending;
}

/* Data and I/O breakpoints trap after the iteration that hit: check after every one. */
static inline unsigned rep_batch(const struct cpu *c)
{
    return (c->eflags & FL_TF) || (c->dbg_armed & (DBG_DATA | DBG_IO)) ? 1 : REP_BATCH;
}

/* Stop between iterations; the instruction resumes where it left off. */
static inline void rep_yield(struct cpu *c)
{
    c->eip = c->insn_eip;
    /* RF = 1 after a non-final iteration (SDM 17.3.1.1), so that an instruction breakpoint
     * on the REP does not fire again when it resumes; only set while it can matter. */
    if (c->dbg_armed)
        c->eflags |= FL_RF;
}

/* One iteration of any kind (REP MOVS/STOS run in rep_bulk() instead). */
static inline void str_one(struct cpu *c, const struct insn *i, enum str_kind k)
{
    const unsigned sz = i->osize;
    const uint32_t am = addr_mask(i);
    uint32_t si = c->regs[R_ESI] & am, di = c->regs[R_EDI] & am;
    switch (k) {
    case S_MOVS: {
        uint32_t v = mem_read(c, i->seg, si, sz);
        mem_write(c, SR_ES, di, v, sz);
        advance(c, i, R_ESI, 1);
        advance(c, i, R_EDI, 1);
        break;
    }
    case S_CMPS: {
        uint32_t a = mem_read(c, i->seg, si, sz);
        uint32_t b = mem_read(c, SR_ES, di, sz);
        advance(c, i, R_ESI, 1);
        advance(c, i, R_EDI, 1);
        flags_lazy(c, LF_SUB, sz, a, b, (a - b) & size_mask(sz));
        break;
    }
    case S_STOS:
        mem_write(c, SR_ES, di, reg_get(c, R_EAX, sz), sz);
        advance(c, i, R_EDI, 1);
        break;
    case S_LODS:
        reg_set(c, R_EAX, sz, mem_read(c, i->seg, si, sz));
        advance(c, i, R_ESI, 1);
        break;
    case S_SCAS: {
        uint32_t a = reg_get(c, R_EAX, sz);
        uint32_t b = mem_read(c, SR_ES, di, sz);
        advance(c, i, R_EDI, 1);
        flags_lazy(c, LF_SUB, sz, a, b, (a - b) & size_mask(sz));
        break;
    }
    case S_INS: {
        uint16_t port = (uint16_t)c->regs[R_EDX];
        port_check(c, port, sz);
        /* The destination is checked before the port is read: a faulting INS must not
         * consume device data. */
        mem_probe_write(c, SR_ES, di, sz);
        mem_write(c, SR_ES, di, port_read(c, port, sz), sz);
        advance(c, i, R_EDI, 1);
        break;
    }
    case S_OUTS: {
        uint16_t port = (uint16_t)c->regs[R_EDX];
        port_check(c, port, sz);
        port_write(c, port, mem_read(c, i->seg, si, sz), sz);
        advance(c, i, R_ESI, 1);
        break;
    }
    }
}

static inline void str_run(struct cpu *c, const struct insn *i, enum str_kind k)
{
    if (i->rep == REP_NONE) {
        str_one(c, i, k);
        return;
    }
    /* The I/O permission check comes before the count: REP INS/OUTS with (E)CX = 0 still
     * faults when the port is not accessible. */
    if (k == S_INS || k == S_OUTS)
        port_check(c, (uint16_t)c->regs[R_EDX], i->osize);
    const bool cond = k == S_CMPS || k == S_SCAS;
    const unsigned batch = rep_batch(c);
    unsigned done = 0;
    for (;;) {
        uint32_t count = reg_get(c, R_ECX, i->asize);
        if (count == 0)
            return;
        if (done == batch) {
            if (rep_must_yield(c)) {
                rep_yield(c);
                return;
            }
            done = 0;
        }
        str_one(c, i, k);
        reg_set(c, R_ECX, i->asize, count - 1);
        done++;
        if (cond && flags_zf(c) != (i->rep == REP_Z))
            return;
    }
}

/* ---- bulk REP MOVS / REP STOS ---- */

/* How many consecutive elements from sreg:off (going up, or down with DF) stay inside the
 * segment, the address-size range and the linear page of the first; 0 when the first element
 * itself does not, so the caller takes the faulting slow path. */
static uint32_t span(const struct cpu *c, int sreg, uint32_t off, uint32_t am, unsigned sz,
                     bool down, unsigned rights)
{
    const struct seg *s = &c->seg[sreg];
    uint32_t hi = s->valid_hi < am ? s->valid_hi : am;
    if (!(s->rights & rights) || off < s->valid_lo || off > hi || hi - off < sz - 1)
        return 0;
    uint32_t pofs = (s->base + off) & ~PAGE_MASK;
    if (pofs > PAGE_SIZE - sz)
        return 0;
    uint64_t n_seg, n_page;
    if (down) {
        n_seg = (uint64_t)(off - s->valid_lo) / sz + 1;
        n_page = pofs / sz + 1;
    } else {
        n_seg = (uint64_t)(hi - off - (sz - 1)) / sz + 1;
        n_page = (PAGE_SIZE - pofs) / sz;
    }
    return (uint32_t)(n_seg < n_page ? n_seg : n_page);
}

/* A host mapping of one linear page for one access kind, kept across the chunks of one
 * instruction: when the source and destination pages share a TLB slot they evict each other,
 * but the translation captured right after each slow access stays usable (nothing can remap
 * memory in the middle of the instruction). */
struct page_ref {
    uint32_t page; /* linear page, or TLB_INVALID */
    uintptr_t addend;
};

static inline uint8_t *page_host(const struct cpu *c, struct page_ref *p, uint32_t lin,
                                 unsigned kind)
{
    uint32_t page = lin & PAGE_MASK;
    if (p->page != page) {
        const struct tlb_entry *e = &c->tlb.e[cpu_priv(c)][tlb_index(lin)];
        if (e->tag[kind] != page)
            return NULL;
        p->page = page;
        p->addend = e->addend;
    }
    return (uint8_t *)(uintptr_t)(lin + p->addend);
}

static inline void capture(const struct cpu *c, struct page_ref *p, uint32_t lin, unsigned kind)
{
    const struct tlb_entry *e = &c->tlb.e[cpu_priv(c)][tlb_index(lin)];
    if (e->tag[kind] == (lin & PAGE_MASK)) {
        p->page = lin & PAGE_MASK;
        p->addend = e->addend;
    }
}

/* Copy n elements in instruction order. Where the order makes no difference memmove does it;
 * an overlap that feeds written elements back into later reads goes element by element. */
static void bulk_copy(uint8_t *pd, const uint8_t *ps, uint32_t n, unsigned sz, bool down)
{
    size_t bytes = (size_t)n * sz;
    if (!down) {
        uintptr_t d = (uintptr_t)pd, s = (uintptr_t)ps;
        if (d <= s || d >= s + bytes) {
            memmove(pd, ps, bytes);
            return;
        }
        for (uint32_t k = 0; k < n; k++)
            host_store(pd + (size_t)k * sz, host_load(ps + (size_t)k * sz, sz), sz);
        return;
    }
    uint8_t *ld = pd - (size_t)(n - 1) * sz;
    const uint8_t *ls = ps - (size_t)(n - 1) * sz;
    uintptr_t d = (uintptr_t)ld, s = (uintptr_t)ls;
    if (d >= s || d + bytes <= s) {
        memmove(ld, ls, bytes);
        return;
    }
    for (uint32_t k = 0; k < n; k++)
        host_store(pd - (size_t)k * sz, host_load(ps - (size_t)k * sz, sz), sz);
}

static void bulk_fill(uint8_t *pd, uint32_t v, uint32_t n, unsigned sz, bool down)
{
    uint8_t *lo = down ? pd - (size_t)(n - 1) * sz : pd;
    size_t bytes = (size_t)n * sz;
    if (sz == 1) {
        memset(lo, (int)v, bytes);
        return;
    }
    /* Store one element, then double the filled prefix with non-overlapping copies. */
    host_store(lo, v, sz);
    for (size_t done = sz; done < bytes;) {
        size_t k = done < bytes - done ? done : bytes - done;
        memcpy(lo + done, lo, k);
        done += k;
    }
}

static void rep_bulk(struct cpu *c, const struct insn *i, bool movs)
{
    const unsigned sz = i->osize;
    const uint32_t am = addr_mask(i);
    const bool down = c->eflags & FL_DF;
    const unsigned batch = rep_batch(c);
    uint32_t left = batch;
    struct page_ref src = {TLB_INVALID, 0}, dst = {TLB_INVALID, 0};
    for (;;) {
        uint32_t count = reg_get(c, R_ECX, i->asize);
        if (count == 0)
            return;
        if (left == 0) {
            if (rep_must_yield(c)) {
                rep_yield(c);
                return;
            }
            left = batch;
        }
        uint32_t si = c->regs[R_ESI] & am, di = c->regs[R_EDI] & am;
        /* With alignment checking on, every element goes through the checked path. */
        uint32_t n = c->align_check ? 0 : count < left ? count : left;
        uint32_t nd = span(c, SR_ES, di, am, sz, down, SEGR_WRITE);
        if (nd < n)
            n = nd;
        if (movs) {
            uint32_t ns = span(c, i->seg, si, am, sz, down, SEGR_READ);
            if (ns < n)
                n = ns;
        }
        if (n > 0) {
            uint8_t *pd = page_host(c, &dst, c->seg[SR_ES].base + di, TLB_WRITE);
            const uint8_t *ps = NULL;
            if (movs && pd)
                ps = page_host(c, &src, c->seg[i->seg].base + si, TLB_READ);
            if (pd && (ps || !movs)) {
                if (movs)
                    bulk_copy(pd, ps, n, sz, down);
                else
                    bulk_fill(pd, reg_get(c, R_EAX, sz), n, sz, down);
                if (movs)
                    advance(c, i, R_ESI, n);
                advance(c, i, R_EDI, n);
                reg_set(c, R_ECX, i->asize, count - n);
                left -= n;
                continue;
            }
        }
        /* One element the ordinary way: it faults where it must, reaches MMIO, and fills the
         * TLB for the next chunk. */
        uint32_t v;
        if (movs) {
            uint32_t lin = seg_linear(c, i->seg, si, sz, SEGR_READ);
            align_check(c, lin, sz);
            v = lin_read(c, lin, sz);
            capture(c, &src, lin, TLB_READ);
        } else {
            v = reg_get(c, R_EAX, sz);
        }
        uint32_t lin = seg_linear(c, SR_ES, di, sz, SEGR_WRITE);
        align_check(c, lin, sz);
        lin_write(c, lin, v, sz);
        capture(c, &dst, lin, TLB_WRITE);
        if (movs)
            advance(c, i, R_ESI, 1);
        advance(c, i, R_EDI, 1);
        reg_set(c, R_ECX, i->asize, count - 1);
        left--;
    }
}

void exec_MOVS(struct cpu *c, const struct insn *i)
{
    if (i->rep == REP_NONE)
        str_one(c, i, S_MOVS);
    else
        rep_bulk(c, i, true);
}

void exec_STOS(struct cpu *c, const struct insn *i)
{
    if (i->rep == REP_NONE)
        str_one(c, i, S_STOS);
    else
        rep_bulk(c, i, false);
}

void exec_CMPS(struct cpu *c, const struct insn *i) { str_run(c, i, S_CMPS); }
void exec_LODS(struct cpu *c, const struct insn *i) { str_run(c, i, S_LODS); }
void exec_SCAS(struct cpu *c, const struct insn *i) { str_run(c, i, S_SCAS); }
void exec_INS(struct cpu *c, const struct insn *i) { str_run(c, i, S_INS); }
void exec_OUTS(struct cpu *c, const struct insn *i) { str_run(c, i, S_OUTS); }
