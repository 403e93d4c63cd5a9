/* Lockstep compare mode (DESIGN decision 8): the interpreter is the reference.
 *
 * For each block: save the CPU state, run the block's instructions the way the interpreter's
 * block loop does while the memory journal records every store, keep the result, undo it,
 * run the translated block from the same state, and compare registers, flags, segments,
 * control registers, x87 state, the instruction count and every byte either run stored.
 * A run that faults or touches MMIO in the reference is undone and left to the interpreter
 * (a device access cannot be repeated); so are blocks ending in an instruction that acts
 * beyond the CPU and memory (port I/O, mode changes, TLB flushes). */
#include <capstone/capstone.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/exec.h"
#include "cpu/flags.h"
#include "cpu/icache.h"
#include "mmu/journal.h"
#include "translator/translator.h"

#define JOURNAL_BYTES (1u << 20)

struct membyte {
    uint32_t phys;
    uint8_t val;
};

struct translator_compare {
    struct translator *t;
    struct cpu_block_engine engine;
    struct mem_journal j;
    FILE *report;
    bool diverged;
    uint64_t compared, skipped;
    struct cpu s0, s1;
    uint32_t *addrs;
    struct membyte *m1, *m2;
    size_t n1, n2;
};

/* Architectural and bookkeeping state, without the TLB (a cache both runs may fill). */
static void copy_state(struct cpu *dst, const struct cpu *src)
{
    const size_t a = offsetof(struct cpu, tlb), b = a + sizeof(src->tlb);
    memcpy(dst, src, a);
    memcpy((char *)dst + b, (const char *)src + b, sizeof(*src) - b);
}

/* Blocks whose every instruction only acts on the CPU and memory can be run twice. */
static bool comparable(const struct iblock *b)
{
    unsigned op = b->ins[b->n - 1].insn.op;
    return op_continues_block(op) || op == OP_JMP || op == OP_JMP_E || op == OP_CALL ||
           op == OP_CALL_E || op == OP_RET;
}

/* The interpreter's block loop (cpu/interp.c), instruction by instruction. */
static void reference_run(struct cpu *c, const struct iblock *b, uint32_t eip, uint32_t gen)
{
    const uint32_t *pgen = &c->icache->page_gen[b->ppage];
    for (uint32_t k = 0; k < b->n; k++) {
        const struct iblock_insn *bi = &b->ins[k];
        c->insn_eip = eip;
        c->insn_esp = c->regs[R_ESP];
        const uint32_t next = eip + bi->insn.len;
        c->eip = next;
        bi->fn(c, &bi->insn);
        c->icount++;
        if (c->eip != next)
            return;
        eip = next;
        if (c->events != 0 || *pgen != gen)
            return;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The bytes the last recorded run stored, as (address, value now), sorted and unique. */
static size_t capture(struct translator_compare *k, struct memmap *m, struct membyte *out)
{
    for (size_t i = 0; i < k->j.n; i++)
        k->addrs[i] = k->j.e[i].phys;
    qsort(k->addrs, k->j.n, sizeof(*k->addrs), cmp_u32);
    size_t n = 0;
    for (size_t i = 0; i < k->j.n; i++) {
        if (i && k->addrs[i] == k->addrs[i - 1])
            continue;
        const uint8_t *h = memmap_read_ptr(m, k->addrs[i]);
        out[n++] = (struct membyte){k->addrs[i], h ? *h : 0xFF};
    }
    return n;
}

static uint32_t full_eflags(const struct cpu *c)
{
    if (c->lf_op == LF_NONE)
        return c->eflags;
    return (c->eflags & ~FL_ARITH) | flags_arith(c);
}

/* Print one line per differing field; returns how many differ. */
static unsigned diff_states(FILE *f, const struct cpu *a, const struct cpu *b)
{
    static const char *const rn[8] = {"EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"};
    static const char *const sn[SR_COUNT] = {"ES", "CS", "SS", "DS", "FS", "GS"};
    unsigned n = 0;
#define DIFF(name, x, y) \
    do { \
        if ((uint64_t)(x) != (uint64_t)(y)) { \
            n++; \
            if (f) \
                fprintf(f, "    %-10s interpreter %08" PRIx64 "  translator %08" PRIx64 "\n", \
                        name, (uint64_t)(x), (uint64_t)(y)); \
        } \
    } while (0)
    for (int r = 0; r < 8; r++)
        DIFF(rn[r], a->regs[r], b->regs[r]);
    DIFF("EIP", a->eip, b->eip);
    DIFF("EFLAGS", full_eflags(a), full_eflags(b));
    for (int s = 0; s < SR_COUNT; s++) {
        char name[16];
        snprintf(name, sizeof(name), "%s", sn[s]);
        DIFF(name, a->seg[s].sel, b->seg[s].sel);
        snprintf(name, sizeof(name), "%s.base", sn[s]);
        DIFF(name, a->seg[s].base, b->seg[s].base);
        snprintf(name, sizeof(name), "%s.limit", sn[s]);
        DIFF(name, a->seg[s].limit, b->seg[s].limit);
        snprintf(name, sizeof(name), "%s.attr", sn[s]);
        DIFF(name, a->seg[s].attr, b->seg[s].attr);
    }
    DIFF("CR0", a->cr0, b->cr0);
    DIFF("CR2", a->cr2, b->cr2);
    DIFF("CR3", a->cr3, b->cr3);
    DIFF("CR4", a->cr4, b->cr4);
    DIFF("CPL", a->cpl, b->cpl);
    DIFF("icount", a->icount, b->icount);
    DIFF("halted", a->halted, b->halted);
    DIFF("inhibit", a->inhibit_irq, b->inhibit_irq);
    DIFF("DR6 pend", a->dbg_pending, b->dbg_pending);
#undef DIFF
    if (memcmp(&a->fpu, &b->fpu, sizeof(a->fpu)) != 0) {
        n++;
        if (f)
            fprintf(f, "    x87/MMX state differs\n");
    }
    return n;
}

static unsigned diff_memory(FILE *f, const struct membyte *a, size_t na, const struct membyte *b,
                            size_t nb)
{
    unsigned n = 0;
    size_t i = 0, k = 0;
    while (i < na || k < nb) {
        if (k == nb || (i < na && a[i].phys < b[k].phys)) {
            if (f && n < 16)
                fprintf(f, "    mem %08x  interpreter stored %02x, translator did not\n", a[i].phys, a[i].val);
            i++;
            n++;
        } else if (i == na || b[k].phys < a[i].phys) {
            if (f && n < 16)
                fprintf(f, "    mem %08x  translator stored %02x, interpreter did not\n", b[k].phys, b[k].val);
            k++;
            n++;
        } else {
            if (a[i].val != b[k].val) {
                if (f && n < 16)
                    fprintf(f, "    mem %08x  interpreter %02x  translator %02x\n", a[i].phys, a[i].val, b[k].val);
                n++;
            }
            i++;
            k++;
        }
    }
    return n;
}

static void disassemble(FILE *f, cs_mode mode, const uint8_t *code, size_t len, uint64_t addr)
{
    csh h;
    if (cs_open(CS_ARCH_X86, mode, &h) != CS_ERR_OK) {
        fprintf(f, "      (capstone unavailable)\n");
        return;
    }
    cs_insn *ins;
    size_t n = cs_disasm(h, code, len, addr, 0, &ins);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "      %08" PRIx64 "  %s %s\n", ins[i].address, ins[i].mnemonic, ins[i].op_str);
    if (n)
        cs_free(ins, n);
    cs_close(&h);
}

static void report(struct translator_compare *k, struct cpu *c, const struct iblock *b,
                   uint32_t eip, const char *why)
{
    FILE *f = k->report;
    if (!f)
        return;
    fprintf(f, "bt86: compare: the translator diverged from the interpreter (%s)\n", why);
    fprintf(f, "  block at %04x:%08x (linear %08x, physical %08x), %u instructions, "
            "after %" PRIu64 " instructions\n", k->s0.seg[SR_CS].sel, eip, b->lin,
            b->ppage << 12 | (b->lin & 0xFFFu), b->n, k->s0.icount);
    fprintf(f, "  guest code:\n");
    const uint8_t *g = memmap_read_ptr(c->mem, b->ppage << 12 | (b->lin & 0xFFFu));
    if (g)
        disassemble(f, k->s0.code32 ? CS_MODE_32 : CS_MODE_16, g, b->span, eip);
    size_t cap = translator_block_bound(b);
    uint8_t *h = malloc(cap);
    size_t len = h ? translator_emit_block(c, b, eip, h, cap, NULL) : 0;
    fprintf(f, "  host code (%zu bytes):\n", len);
    if (len)
        disassemble(f, CS_MODE_64, h, len, 0);
    free(h);
    fprintf(f, "  differences:\n");
    diff_states(f, &k->s1, c);
    diff_memory(f, k->m1, k->n1, k->m2, k->n2);
    fflush(f);
}

static bool compare_run(void *ctx, struct cpu *c, struct iblock *b, uint32_t eip)
{
    struct translator_compare *k = ctx;
    if (k->diverged || !comparable(b))
        return false;
    if (b->host_gen != *k->engine.gen || b->host_eip != eip) {
        b->host = translator_translate(k->t, c, b, eip);
        if (!b->host)
            return false;
        b->host_gen = *k->engine.gen;
        b->host_eip = eip;
    }
    const uint32_t gen = b->gen;
    const uint32_t *pgen = &c->icache->page_gen[b->ppage];
    jmp_buf *const outer = c->exc_jmp;
    copy_state(&k->s0, c);

    /* 1. The reference. */
    jmp_buf jb;
    k->j.abort_to = &jb;
    if (setjmp(jb) == 0) {
        c->exc_jmp = &jb;
        mem_journal_start(&k->j);
        reference_run(c, b, eip, gen);
        k->j.recording = false;
    } else {
        mem_journal_undo(&k->j, c->mem); /* a fault or an MMIO access: interpret it for real */
        copy_state(c, &k->s0);
        c->exc_jmp = outer;
        k->skipped++;
        return false;
    }
    if (*pgen != gen) { /* it wrote its own code: the second run would see other code */
        mem_journal_undo(&k->j, c->mem);
        copy_state(c, &k->s0);
        c->exc_jmp = outer;
        k->skipped++;
        return false;
    }
    copy_state(&k->s1, c);
    k->n1 = capture(k, c->mem, k->m1);
    mem_journal_undo(&k->j, c->mem);
    copy_state(c, &k->s0);

    /* 2. The translation, from the same state. */
    const char *volatile why = NULL;
    jmp_buf jb2;
    k->j.abort_to = &jb2;
    if (setjmp(jb2) == 0) {
        c->exc_jmp = &jb2;
        mem_journal_start(&k->j);
        b->host(c);
        k->j.recording = false;
    } else {
        why = "the translated block faulted or touched MMIO; the interpreter did not";
    }
    c->exc_jmp = outer;
    k->n2 = capture(k, c->mem, k->m2);
    if (!why && (diff_states(NULL, &k->s1, c) || diff_memory(NULL, k->m1, k->n1, k->m2, k->n2)))
        why = "different results";
    if (!why) {
        k->compared++;
        return true;
    }
    report(k, c, b, eip, why);
    /* Continue from the reference result, and stop. */
    mem_journal_undo(&k->j, c->mem);
    for (size_t i = 0; i < k->n1; i++) {
        uint8_t *h = memmap_write_ptr(c->mem, k->m1[i].phys);
        if (h)
            *h = k->m1[i].val;
    }
    copy_state(c, &k->s1);
    c->exc_jmp = outer;
    k->diverged = true;
    cpu_request_stop(c);
    return true;
}

struct translator_compare *translator_compare_create(struct translator *t, FILE *report)
{
    struct translator_compare *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    k->addrs = malloc(JOURNAL_BYTES * sizeof(*k->addrs));
    k->m1 = malloc(JOURNAL_BYTES * sizeof(*k->m1));
    k->m2 = malloc(JOURNAL_BYTES * sizeof(*k->m2));
    if (!k->addrs || !k->m1 || !k->m2 || mem_journal_init(&k->j, JOURNAL_BYTES) != 0) {
        translator_compare_destroy(k);
        return NULL;
    }
    k->t = t;
    translator_set_chaining(t, false);
    k->report = report;
    k->engine.ctx = k;
    k->engine.gen = translator_generation(t);
    k->engine.run = compare_run;
    return k;
}

void translator_compare_destroy(struct translator_compare *k)
{
    if (!k)
        return;
    mem_journal_free(&k->j);
    free(k->addrs);
    free(k->m1);
    free(k->m2);
    free(k);
}

void translator_compare_attach(struct translator_compare *k, struct cpu *c)
{
    c->engine = &k->engine;
    c->mem->journal = &k->j;
    cpu_flush_tlb(c, false); /* drop write mappings made before the journal existed */
}

bool translator_compare_diverged(const struct translator_compare *k) { return k->diverged; }

void translator_compare_counts(const struct translator_compare *k, uint64_t *compared,
                               uint64_t *skipped)
{
    *compared = k->compared;
    *skipped = k->skipped;
}
