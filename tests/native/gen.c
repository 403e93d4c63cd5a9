/* Random instruction sequences for the native differential test.
 *
 * A case is 1-8 "units". A unit is one instruction under test, preceded by the preparation
 * instructions it needs (MOV r32, imm32 loading a base register, a shift count, a dividend...);
 * preparations are real instructions too and are compared like the rest. The generator tracks
 * which registers hold a value it knows, so that every memory operand it emits addresses the
 * data region (or deliberately does not, a few percent of the time, to compare faults):
 *
 *  - 32-bit addressing: base/index registers must be known. A displacement of 32 bits absorbs
 *    any register values; for an 8-bit or no displacement one register is reloaded when the
 *    known values do not already point where wanted.
 *  - 16-bit addressing (0x67): offsets wrap at 64 KiB, so any register values work through FS
 *    (or ES in ES_LDT cases), the LDT segment whose base is the data region.
 *  - ESP stays known at all times: only stack instructions with a known effect change it.
 *
 * Forward branches skip 0-2 following units. The skipped units may or may not run, so while
 * generating them nothing they write is remembered as known, and they may not move ESP.
 *
 * Not generated, because the two sides cannot be compared (kept out deliberately):
 *  - INT n: Linux uses INT 0x80 for system calls and turns others into signals of its own.
 *  - CPUID, RDTSC, RDPMC, RDTSCP: the virtual CPU's identity and time are not the host's.
 *  - SYSENTER, SYSCALL, SYSEXIT: system calls of the host.
 *  - Segment register loads (MOV Sreg, POP Sreg, LDS/LES/LFS/LGS/LSS), far JMP/CALL/RET, IRET:
 *    they need descriptor tables the host process does not share with the guest.
 *  - PUSH Sreg: the upper half of a 32-bit push is implementation-specific.
 *  - SGDT/SIDT/SLDT/STR/SMSW, LAR/LSL/VERR/VERW: they expose host descriptor tables (and UMIP
 *    makes the kernel emulate some of them).
 *  - SSE (and so any 66/F2/F3 prefix on an MMX opcode), FISTTP (SSE3), FXSAVE/FXRSTOR (the
 *    host stores and loads its SSE state there, which a Pentium II does not have: covered by
 *    tests/unit/test_fpu.c instead).
 *  - INT1/ICEBP and TF: single-step traps would land in the oracle's own code.
 *  - Branches leaving the block (backward, indirect, RET): the oracle only knows the block.
 *  - Encodings that later CPUs reused: 62/C4/C5 with mod = 3 (EVEX/VEX), 8F /1-7 (XOP),
 *    F3 0F BC/BD (TZCNT/LZCNT), 0F 0D (PREFETCHW), 0F 01 with mod = 3 (XGETBV, RDTSCP...).
 *  - 16-bit SHLD/SHRD with a count above 16: the destination is undefined.
 *  - CMPS with both operands faulting: which fault is reported is not architectural.
 *
 * Note for hosts other than the project's AMD machines: LOCKed accesses are generated at random
 * addresses, including across cache lines; an Intel host with split-lock detection in "warn"
 * mode slows such a process down (the kernel sleeps it on each split lock). */
#include "tests/native/gen.h"

#include <string.h>

const char *const gen_group_names[GRP_COUNT] = {
#define GROUP_NAME(name) #name,
    GROUPS(GROUP_NAME)
#undef GROUP_NAME
};

enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };

#define DATA_END (ORC_DATA_BASE + ORC_DATA_SIZE)
#define FL_CF 0x001u
#define FL_ARITH 0x8D5u
#define FL_TF 0x100u
#define FL_IF 0x200u
#define FL_DF 0x400u
#define FL_OF 0x800u
#define FL_NT 0x4000u
#define FL_AC 0x40000u
#define FL_ID 0x200000u

struct fixup {
    unsigned disp_at;   /* code offset of the displacement */
    unsigned disp_size; /* 1 or 4 (2 with a 66 prefix on rel16/32 forms) */
    unsigned next;      /* code offset after the branch */
    unsigned target_unit;
};

struct gen {
    uint64_t rs;
    struct gen_case *gc;
    bool known[8];
    uint32_t val[8];
    uint32_t locked;       /* registers the current unit relies on: never reloaded */
    uint32_t unit_written; /* registers written by the current unit */
    unsigned window;       /* units left that a forward branch may skip */
    unsigned new_window;
    unsigned cur_start, cur_group, cur_kind;
    unsigned unit_start[ORC_MAX_INSNS + 1];
    unsigned n_units;
    struct fixup fix[ORC_MAX_INSNS];
    unsigned n_fix;
};

/* ---- randomness ---- */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t r32(struct gen *g)
{
    g->rs += 0x9E3779B97F4A7C15ull;
    return (uint32_t)(mix64(g->rs) >> 32);
}

static uint32_t rnd(struct gen *g, uint32_t n) { return (uint32_t)(((uint64_t)r32(g) * n) >> 32); }
static bool pct(struct gen *g, unsigned p) { return rnd(g, 100) < p; }

static uint32_t size_mask(unsigned size)
{
    return size == 1 ? 0xFFu : size == 2 ? 0xFFFFu : 0xFFFFFFFFu;
}

static uint32_t interesting(struct gen *g, unsigned size)
{
    static const uint32_t v[] = {
        0, 1, 2, 3, 4, 7, 8, 9, 0xA, 0xF, 0x10, 0x1F, 0x20, 0x21, 0x3F, 0x40, 0x66, 0x7F, 0x80,
        0x81, 0x99, 0x9A, 0xFF, 0x100, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x10000, 0x7FFFFFFF,
        0x80000000, 0x80000001, 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFF80, 0xFFFF8000, 0x55555555,
        0xAAAAAAAA, 0x12345678, 0xFFFFFF7F};
    uint32_t x;
    switch (rnd(g, 5)) {
    case 0:
    case 1: x = r32(g); break;
    case 2: x = v[rnd(g, sizeof(v) / sizeof(v[0]))]; break;
    case 3: x = rnd(g, 64); break;
    default: x = (uint32_t)-(int32_t)rnd(g, 64); break;
    }
    return x & size_mask(size);
}

static uint32_t region_addr(struct gen *g, uint32_t lo_margin, uint32_t hi_margin)
{
    return ORC_DATA_BASE + lo_margin + rnd(g, ORC_DATA_SIZE - lo_margin - hi_margin);
}

/* ---- emission ---- */
static void b(struct gen *g, uint32_t v)
{
    struct gen_case *gc = g->gc;
    if (gc->code_len < ORC_MAX_CODE - 16)
        gc->code[gc->code_len++] = (uint8_t)v;
}

static void bn(struct gen *g, uint32_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        b(g, v >> (8 * i));
}

static void begin(struct gen *g, unsigned group)
{
    g->cur_start = g->gc->code_len;
    g->cur_group = group;
    g->cur_kind = ORC_K_LINEAR;
}

static void end(struct gen *g)
{
    struct gen_case *gc = g->gc;
    if (gc->n_insns >= ORC_MAX_INSNS)
        return;
    struct gen_insn *in = &gc->insn[gc->n_insns++];
    in->off = (uint16_t)g->cur_start;
    in->len = (uint8_t)(gc->code_len - g->cur_start);
    in->kind = (uint8_t)g->cur_kind;
    in->group = (uint8_t)g->cur_group;
}

/* ---- register knowledge ---- */
static void wr(struct gen *g, unsigned r)
{
    g->known[r] = false;
    g->unit_written |= 1u << r;
}

static void wr_sized(struct gen *g, unsigned r, unsigned size) { wr(g, size == 1 ? (r & 3) : r); }

/* MOV r32, imm32 as a preparation: r then holds v for the rest of the unit. */
static void prep(struct gen *g, unsigned r, uint32_t v)
{
    begin(g, GRP_mov);
    b(g, 0xB8 + r);
    bn(g, v, 4);
    end(g);
    g->known[r] = true;
    g->val[r] = v;
    g->unit_written |= 1u << r;
    g->locked |= 1u << r;
}

/* Make the 8-bit register r8 hold v (loads its whole 32-bit register). */
static void prep8(struct gen *g, unsigned r8, uint32_t v)
{
    unsigned r = r8 & 3;
    uint32_t cur = g->known[r] ? g->val[r] : r32(g);
    if (r8 < 4)
        cur = (cur & ~0xFFu) | (v & 0xFF);
    else
        cur = (cur & ~0xFF00u) | ((v & 0xFF) << 8);
    prep(g, r, cur);
}

/* Make the low `size` bytes of register r hold v. */
static void prep_sized(struct gen *g, unsigned r, unsigned size, uint32_t v)
{
    if (size == 1) {
        prep8(g, r, v);
        return;
    }
    uint32_t cur = g->known[r] ? g->val[r] : r32(g);
    prep(g, r, size == 2 ? (cur & 0xFFFF0000u) | (v & 0xFFFF) : v);
}

static bool locked(const struct gen *g, unsigned r) { return (g->locked >> r) & 1; }

/* A register for an operand of `size`; never ESP as a 16/32-bit destination. */
static unsigned pick_reg(struct gen *g, unsigned size, bool write)
{
    for (;;) {
        unsigned r = rnd(g, 8);
        if (write && size != 1 && r == ESP)
            continue;
        return r;
    }
}

/* ---- memory operands ---- */
struct mem {
    uint8_t pfx[2];
    unsigned npfx;
    uint8_t mod, rm;
    bool has_sib;
    uint8_t sib;
    unsigned disp_size;
    uint32_t disp;
    bool ea_known; /* linear address known at generation time */
    uint32_t lin;
};

/* Where the access should land: [lin - lo, lin + hi) inside the data region, mostly. */
static uint32_t pick_target(struct gen *g, uint32_t lo, uint32_t hi, bool *wild)
{
    *wild = false;
    unsigned p = rnd(g, 1000);
    if (p < 8) { /* runs off the end of the region: #PF */
        *wild = true;
        return DATA_END - 1 - rnd(g, hi > 1 ? hi - 1 : 1);
    }
    if (p < 12) {
        /* Far outside, but only where the oracle process itself has nothing mapped (its image
         * is at 0x08048000, its heap after it, mmaps and stack near the top): a wild access
         * must fault there, not land in the oracle's own memory. */
        *wild = true;
        switch (rnd(g, 3)) {
        case 0: return rnd(g, 0x10000);
        case 1: return ORC_DATA_BASE + ORC_DATA_SIZE + rnd(g, ORC_CODE_BASE - DATA_END);
        default: return 0x00300000u + rnd(g, 0x07000000u);
        }
    }
    if (p < 100) { /* straddles a page boundary inside the region */
        uint32_t page = ORC_DATA_BASE + 0x1000 * (1 + rnd(g, 14));
        uint32_t t = page - 1 - rnd(g, hi > 1 ? hi - 1 : 1);
        if (t - lo >= ORC_DATA_BASE && t + hi <= DATA_END)
            return t;
    }
    return region_addr(g, lo, hi);
}

static bool fits_region(uint32_t lin, uint32_t lo, uint32_t hi)
{
    return lin - lo >= ORC_DATA_BASE && lin - lo < DATA_END && lin + hi <= DATA_END && lin + hi > lin;
}

static void mem_add_seg32(struct gen *g, struct mem *m, bool write)
{
    unsigned p = rnd(g, 1000);
    uint8_t seg = 0;
    if (p < 60)
        seg = 0x3E; /* DS */
    else if (p < 100)
        seg = 0x36; /* SS */
    else if (p < 140 && !g->gc->es_ldt)
        seg = 0x26; /* ES */
    else if (p < 160 && (!write || p < 145))
        seg = 0x2E; /* CS: readable; a write is #GP */
    else if (p < 165)
        seg = 0x64; /* FS: the 64 KiB segment, so a 32-bit offset is beyond its limit: #GP */
    if (seg)
        m->pfx[m->npfx++] = seg;
}

/* 32-bit addressing to land at `target`. Returns false if this form cannot reach it without
 * reloading a locked register or ESP; the caller then tries another form. */
static bool mem32_try(struct gen *g, struct mem *m, uint32_t target, uint32_t lo, uint32_t hi,
                      bool wild)
{
    int base = -1, index = -1;
    unsigned scale = 0;
    unsigned f = rnd(g, 100);
    m->has_sib = false;
    if (f < 10) {
        m->mod = 0;
        m->rm = 5;
    } else if (f < 45) {
        static const uint8_t rms[] = {0, 1, 2, 3, 5, 6, 7};
        m->rm = rms[rnd(g, 7)];
        m->mod = (uint8_t)rnd(g, 3);
        if (m->rm == 5 && m->mod == 0)
            m->mod = (uint8_t)(1 + rnd(g, 2));
        base = m->rm;
    } else {
        m->rm = 4;
        m->has_sib = true;
        m->mod = (uint8_t)rnd(g, 3);
        unsigned sb = rnd(g, 8), si = rnd(g, 8);
        scale = rnd(g, 4);
        m->sib = (uint8_t)(scale << 6 | si << 3 | sb);
        base = (sb == 5 && m->mod == 0) ? -1 : (int)sb;
        index = si == 4 ? -1 : (int)si;
    }
    bool nobase_disp32 = (m->mod == 0 && m->rm == 5) || (m->has_sib && base < 0);
    m->disp_size = m->mod == 1 ? 1 : (m->mod == 2 || nobase_disp32) ? 4 : 0;

    if (m->disp_size == 4) {
        /* Any register values: load the unknown ones with anything, then aim with disp. */
        if (base >= 0 && !g->known[base]) {
            if (locked(g, (unsigned)base) || base == ESP)
                return false;
            prep(g, (unsigned)base, pct(g, 50) ? region_addr(g, 0, 0) : r32(g));
        }
        if (index >= 0 && !g->known[index]) {
            if (locked(g, (unsigned)index))
                return false;
            prep(g, (unsigned)index, pct(g, 50) ? rnd(g, 0x100) : r32(g));
        }
        uint32_t sum = (base >= 0 ? g->val[base] : 0) + (index >= 0 ? g->val[index] << scale : 0);
        m->disp = target - sum;
        m->lin = target;
        m->ea_known = true;
        return true;
    }

    /* 0 or 8-bit displacement. */
    int32_t disp = m->disp_size ? (int32_t)rnd(g, 256) - 128 : 0;
    bool bk = base < 0 || g->known[base], ik = index < 0 || g->known[index];
    if (bk && ik) {
        uint32_t sum = (base >= 0 ? g->val[base] : 0) + (index >= 0 ? g->val[index] << scale : 0);
        if (m->disp_size) {
            /* Reuse the registers as they are if some 8-bit displacement reaches the region. */
            for (int tries = 0; tries < 4; tries++) {
                if (fits_region(sum + (uint32_t)disp, lo, hi) || (wild && tries == 0))
                    break;
                disp = (int32_t)rnd(g, 256) - 128;
            }
        }
        if (fits_region(sum + (uint32_t)disp, lo, hi) && (!wild || pct(g, 50))) {
            m->disp = (uint32_t)disp;
            m->lin = sum + (uint32_t)disp;
            m->ea_known = true;
            return true;
        }
    }
    /* Reload one register so that the sum lands on target. */
    int adj = -1;
    if (base >= 0 && base != ESP && !locked(g, (unsigned)base) && base != index)
        adj = base;
    else if (index >= 0 && !locked(g, (unsigned)index) && base != index)
        adj = index;
    if (adj < 0)
        return false;
    int other = adj == base ? index : base;
    if (other >= 0 && !g->known[other]) {
        if (locked(g, (unsigned)other) || other == ESP)
            return false;
        prep(g, (unsigned)other, adj == base ? rnd(g, 0x400) : region_addr(g, 0, 0));
    }
    uint32_t part = (other == base && base >= 0) ? g->val[base]
                    : (other == index && index >= 0) ? g->val[index] << scale : 0;
    uint32_t want = target - (uint32_t)disp - part;
    uint32_t v = adj == base ? want : want >> scale;
    prep(g, (unsigned)adj, v);
    uint32_t sum = (base >= 0 ? g->val[base] : 0) + (index >= 0 ? g->val[index] << scale : 0);
    m->disp = (uint32_t)disp;
    m->lin = sum + (uint32_t)disp;
    m->ea_known = true;
    return true;
}

/* 16-bit addressing through the 64 KiB LDT segment (FS, or ES in ES_LDT cases). */
static void mem16(struct gen *g, struct mem *m)
{
    static const int8_t b16[8] = {EBX, EBX, EBP, EBP, ESI, EDI, EBP, EBX};
    static const int8_t i16[8] = {ESI, EDI, ESI, EDI, -1, -1, -1, -1};
    m->pfx[m->npfx++] = 0x67;
    unsigned p = rnd(g, 100);
    if (p < 3) {
        /* No override: DS (or SS) base 0, i.e. linear addresses below 64 KiB: #PF. */
    } else if (p < 15 && g->gc->es_ldt) {
        m->pfx[m->npfx++] = 0x26;
    } else {
        m->pfx[m->npfx++] = 0x64;
    }
    bool via_ldt = p >= 3;
    m->rm = (uint8_t)rnd(g, 8);
    m->mod = (uint8_t)rnd(g, 3);
    m->has_sib = false;
    int base = b16[m->rm], index = i16[m->rm];
    if (m->mod == 0 && m->rm == 6) {
        base = -1;
        m->disp_size = 2;
        m->disp = rnd(g, 0x10000);
    } else {
        m->disp_size = m->mod == 1 ? 1 : m->mod == 2 ? 2 : 0;
        m->disp = m->mod == 1 ? rnd(g, 256) : m->mod == 2 ? rnd(g, 0x10000) : 0;
    }
    m->ea_known = via_ldt && (base < 0 || g->known[base]) && (index < 0 || g->known[index]);
    if (m->ea_known) {
        uint32_t d = m->mod == 1 ? (uint32_t)(int8_t)m->disp : m->disp;
        uint32_t ea = (base >= 0 ? g->val[base] : 0) + (index >= 0 ? g->val[index] : 0) + d;
        m->lin = ORC_DATA_BASE + (ea & 0xFFFF);
    }
}

/* A memory operand accessing [lin - lo, lin + hi). */
static void choose_mem(struct gen *g, struct mem *m, uint32_t lo, uint32_t hi, bool write)
{
    memset(m, 0, sizeof(*m));
    if (pct(g, 22)) {
        mem16(g, m);
        return;
    }
    bool wild;
    uint32_t target = pick_target(g, lo, hi, &wild);
    for (int tries = 0; tries < 8; tries++) {
        if (mem32_try(g, m, target, lo, hi, wild))
            break;
        if (tries == 7) { /* absolute disp32 always works */
            m->mod = 0;
            m->rm = 5;
            m->has_sib = false;
            m->disp_size = 4;
            m->disp = target;
            m->lin = target;
            m->ea_known = true;
        }
    }
    if (pct(g, 18))
        mem_add_seg32(g, m, write);
    if (m->npfx && m->pfx[0] != 0x3E && m->pfx[0] != 0x36 && m->pfx[0] != 0x26)
        m->ea_known = false; /* CS is fine too, but FS is not the flat space */
}

/* Memory of a patch: the operand's bytes at the start of the case (best effort: an earlier
 * instruction of the case may change them again). */
static void patch(struct gen *g, const struct mem *m, int32_t rel, uint64_t v, unsigned size)
{
    struct gen_case *gc = g->gc;
    if (!m->ea_known || gc->n_patches >= GEN_MAX_PATCHES || size > ORC_MAX_PATCH)
        return;
    uint32_t lin = m->lin + (uint32_t)rel;
    if (!fits_region(lin, 0, size))
        return;
    struct gen_patch *p = &gc->patch[gc->n_patches++];
    p->off = lin - ORC_DATA_BASE;
    p->len = size;
    for (unsigned i = 0; i < size; i++)
        p->bytes[i] = (uint8_t)(v >> (8 * i));
}

static void maybe_patch(struct gen *g, const struct mem *m, unsigned size)
{
    if (pct(g, 25))
        patch(g, m, 0, interesting(g, size), size);
}

/* ---- operands and instruction assembly ---- */
struct eop {
    bool mem;
    unsigned reg;
    struct mem m;
};

/* The E operand: register (any, except ESP when written with 16/32 bits) or memory. */
static void choose_e(struct gen *g, struct eop *e, unsigned size, unsigned mem_pct, bool write)
{
    e->mem = pct(g, mem_pct);
    if (e->mem) {
        choose_mem(g, &e->m, 0, size, write);
        maybe_patch(g, &e->m, size);
    } else {
        e->reg = pick_reg(g, size, write);
    }
}

struct asmb {
    uint8_t pfx[8];
    unsigned npfx;
    uint8_t opc[3];
    unsigned nopc;
    int reg; /* ModRM.reg, -1: no ModRM */
    const struct eop *e;
    unsigned imm_size;
    uint32_t imm;
    unsigned imm2_size;
    uint32_t imm2;
};

static void a_init(struct asmb *a) { memset(a, 0, sizeof(*a)), a->reg = -1; }
static void a_pfx(struct asmb *a, uint8_t p) { a->pfx[a->npfx++] = p; }
static void a_op(struct asmb *a, uint8_t o) { a->opc[a->nopc++] = o; }

static void a_emit(struct gen *g, struct asmb *a, unsigned group)
{
    uint8_t pf[12];
    unsigned n = 0;
    for (unsigned i = 0; i < a->npfx; i++)
        pf[n++] = a->pfx[i];
    if (a->e && a->e->mem)
        for (unsigned i = 0; i < a->e->m.npfx; i++)
            pf[n++] = a->e->m.pfx[i];
    for (unsigned i = n; i > 1; i--) { /* prefix order is free */
        unsigned j = rnd(g, i);
        uint8_t t = pf[i - 1];
        pf[i - 1] = pf[j];
        pf[j] = t;
    }
    begin(g, group);
    for (unsigned i = 0; i < n; i++)
        b(g, pf[i]);
    for (unsigned i = 0; i < a->nopc; i++)
        b(g, a->opc[i]);
    if (a->reg >= 0) {
        const struct eop *e = a->e;
        if (!e->mem) {
            b(g, 0xC0u | (unsigned)a->reg << 3 | e->reg);
        } else {
            const struct mem *m = &e->m;
            b(g, (unsigned)m->mod << 6 | (unsigned)a->reg << 3 | m->rm);
            if (m->has_sib)
                b(g, m->sib);
            bn(g, m->disp, m->disp_size);
        }
    }
    bn(g, a->imm, a->imm_size);
    bn(g, a->imm2, a->imm2_size);
    end(g);
}

static unsigned pick_vsize(struct gen *g) { return pct(g, 30) ? 2 : 4; }

static void a_size(struct asmb *a, unsigned size)
{
    if (size == 2)
        a_pfx(a, 0x66);
}

static unsigned imm_count(struct gen *g)
{
    static const uint8_t c[] = {0, 1, 1, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 63, 255};
    return pct(g, 75) ? c[rnd(g, sizeof(c))] : rnd(g, 256);
}

/* ---- groups ---- */
static void g_alu(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    unsigned op = rnd(g, 9); /* 8 = TEST */
    bool writes = op != 7 && op != 8;
    a.e = &e;
    if (op == 8) {
        /* TEST: 84/85 (E,G), A8/A9 (acc,imm), F6/F7 /0 or /1 (E,imm) */
        unsigned tf = rnd(g, 3);
        unsigned size = rnd(g, 3) == 0 ? 1 : pick_vsize(g);
        a_size(&a, size);
        if (tf == 0) {
            choose_e(g, &e, size, 45, false);
            a_op(&a, size == 1 ? 0x84 : 0x85);
            a.reg = (int)rnd(g, 8);
        } else if (tf == 1) {
            a_op(&a, size == 1 ? 0xA8 : 0xA9);
            a.e = NULL;
            a.imm_size = size;
            a.imm = interesting(g, size);
        } else {
            choose_e(g, &e, size, 45, false);
            a_op(&a, size == 1 ? 0xF6 : 0xF7);
            a.reg = (int)rnd(g, 2);
            a.imm_size = size;
            a.imm = interesting(g, size);
        }
        a_emit(g, &a, GRP_alu);
        return;
    }
    /* 0 Eb,Gb 1 Ev,Gv 2 Gb,Eb 3 Gv,Ev 4 AL,Ib 5 eAX,Iz 6 80 7 81 8 83 9 82 */
    unsigned form = rnd(g, 10);
    bool byte = form == 0 || form == 2 || form == 4 || form == 6 || form == 9;
    unsigned size = byte ? 1 : pick_vsize(g);
    a_size(&a, size);
    if (byte && pct(g, 4))
        a_pfx(&a, 0x66); /* no effect on a byte operation */
    switch (form) {
    case 0:
    case 1: /* E, G */
        choose_e(g, &e, size, 45, writes);
        a_op(&a, (uint8_t)(op * 8 + (size != 1)));
        a.reg = (int)rnd(g, 8);
        if (writes && !e.mem)
            wr_sized(g, e.reg, size);
        if (e.mem && writes && pct(g, 15))
            a_pfx(&a, 0xF0);
        break;
    case 2:
    case 3: /* G, E */
        choose_e(g, &e, size, 45, false);
        a_op(&a, (uint8_t)(op * 8 + 2 + (size != 1)));
        a.reg = (int)pick_reg(g, size, writes);
        if (writes)
            wr_sized(g, (unsigned)a.reg, size);
        break;
    case 4:
    case 5: /* AL/eAX, imm */
        a.e = NULL;
        a_op(&a, (uint8_t)(op * 8 + 4 + (size != 1)));
        a.imm_size = size;
        a.imm = interesting(g, size);
        if (writes)
            wr_sized(g, EAX, size);
        break;
    default: { /* 80, 81, 83, 82 */
        static const uint8_t opc[4] = {0x80, 0x81, 0x83, 0x82};
        unsigned k = form - 6;
        choose_e(g, &e, size, 45, writes);
        a_op(&a, opc[k]);
        a.reg = (int)op;
        a.imm_size = (k == 1) ? size : 1;
        a.imm = interesting(g, a.imm_size);
        if (writes && !e.mem)
            wr_sized(g, e.reg, size);
        if (e.mem && writes && pct(g, 15))
            a_pfx(&a, 0xF0);
        break;
    }
    }
    a_emit(g, &a, GRP_alu);
}

static void g_unary(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    unsigned k = rnd(g, 4);
    if (k == 0) { /* INC/DEC r16/r32 */
        unsigned size = pick_vsize(g);
        unsigned r = pick_reg(g, size, true);
        a_size(&a, size);
        a_op(&a, (uint8_t)((pct(g, 50) ? 0x40 : 0x48) + r));
        wr(g, r);
        a_emit(g, &a, GRP_unary);
        return;
    }
    unsigned size = pct(g, 30) ? 1 : pick_vsize(g);
    a_size(&a, size);
    choose_e(g, &e, size, 45, true);
    a.e = &e;
    if (k == 1) {
        a_op(&a, size == 1 ? 0xFE : 0xFF);
        a.reg = (int)rnd(g, 2);
    } else {
        a_op(&a, size == 1 ? 0xF6 : 0xF7);
        a.reg = (int)(2 + rnd(g, 2)); /* NOT, NEG */
    }
    if (!e.mem)
        wr_sized(g, e.reg, size);
    else if (pct(g, 15))
        a_pfx(&a, 0xF0);
    a_emit(g, &a, GRP_unary);
}

static void g_muldiv(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    unsigned k = rnd(g, 10);
    if (k < 2) { /* IMUL Gv, Ev */
        unsigned size = pick_vsize(g);
        a_size(&a, size);
        choose_e(g, &e, size, 40, false);
        a_op(&a, 0x0F);
        a_op(&a, 0xAF);
        a.reg = (int)pick_reg(g, size, true);
        wr(g, (unsigned)a.reg);
        a_emit(g, &a, GRP_muldiv);
        return;
    }
    if (k < 4) { /* IMUL Gv, Ev, imm */
        unsigned size = pick_vsize(g);
        a_size(&a, size);
        choose_e(g, &e, size, 40, false);
        bool ib = pct(g, 50);
        a_op(&a, ib ? 0x6B : 0x69);
        a.reg = (int)pick_reg(g, size, true);
        a.imm_size = ib ? 1 : size;
        a.imm = interesting(g, a.imm_size);
        wr(g, (unsigned)a.reg);
        a_emit(g, &a, GRP_muldiv);
        return;
    }
    /* F6/F7 /4-/7: MUL, IMUL, DIV, IDIV */
    unsigned size = pct(g, 30) ? 1 : pick_vsize(g);
    unsigned op = 4 + rnd(g, 4);
    if (k >= 6 && op < 6)
        op += 2; /* favour division */
    bool is_div = op >= 6;
    bool sgn = op == 7;
    a_size(&a, size);
    a_op(&a, size == 1 ? 0xF6 : 0xF7);
    a.reg = (int)op;
    if (is_div && pct(g, 70)) {
        /* A dividend/divisor pair that mostly does not overflow. */
        unsigned bits = size * 8;
        uint64_t dmask = size == 4 ? 0xFFFFFFFFull : (1ull << bits) - 1;
        uint64_t d, q, r;
        uint64_t dividend;
        if (pct(g, 6)) {
            d = 0;
            dividend = ((uint64_t)r32(g) << 32 | r32(g)) & ((dmask << bits) | dmask);
        } else if (!sgn) {
            d = interesting(g, size) & dmask;
            if (!d)
                d = 1 + rnd(g, 7);
            q = (pct(g, 85) ? r32(g) : r32(g) | 0x80000000u) & dmask;
            if (pct(g, 10))
                q = (q | 1) << 1; /* may overflow */
            r = r32(g) % d;
            dividend = q * d + r;
        } else {
            int64_t sd = (int64_t)(int32_t)(interesting(g, size) << (32 - bits)) >> (32 - bits);
            if (!sd)
                sd = -(int64_t)(1 + rnd(g, 7));
            int64_t sq = (int64_t)(int32_t)(r32(g) << (32 - bits)) >> (32 - bits);
            if (pct(g, 50))
                sq >>= rnd(g, bits);
            int64_t ad = sd < 0 ? -sd : sd;
            int64_t sr = (int64_t)(r32(g) % (uint64_t)ad);
            int64_t prod = sq * sd;
            if (prod < 0 || (prod == 0 && pct(g, 50)))
                sr = -sr;
            int64_t sdiv = prod + sr;
            if (pct(g, 5)) { /* the classic overflow: most negative / -1 */
                sd = -1;
                sdiv = -(int64_t)(1ull << (bits - 1));
            }
            d = (uint64_t)sd & dmask;
            dividend = (uint64_t)sdiv;
        }
        if (size == 1) {
            prep_sized(g, EAX, 2, (uint32_t)dividend & 0xFFFF);
        } else {
            prep_sized(g, EAX, size, (uint32_t)(dividend & dmask));
            prep_sized(g, EDX, size, (uint32_t)((dividend >> bits) & dmask));
        }
        if (pct(g, 40)) {
            choose_mem(g, &e.m, 0, size, false);
            e.mem = true;
            patch(g, &e.m, 0, d, size);
        } else {
            e.mem = false;
            for (;;) {
                e.reg = rnd(g, 8);
                unsigned r32i = size == 1 ? (e.reg & 3) : e.reg;
                if (size == 1 ? (e.reg == 0 || e.reg == 4) : (e.reg == EAX || e.reg == EDX))
                    continue;
                if (r32i == ESP)
                    continue;
                break;
            }
            prep_sized(g, e.reg, size, (uint32_t)d);
        }
    } else {
        choose_e(g, &e, size, 40, false);
    }
    wr(g, EAX);
    if (size != 1)
        wr(g, EDX);
    a_emit(g, &a, GRP_muldiv);
}

static void g_shift(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    unsigned size = pct(g, 30) ? 1 : pick_vsize(g);
    unsigned form = rnd(g, 3); /* imm, 1, CL */
    if (form == 2 && pct(g, 60))
        prep(g, ECX, (r32(g) & ~0xFFu) | imm_count(g));
    a_size(&a, size);
    choose_e(g, &e, size, 40, true);
    a.reg = (int)rnd(g, 8);
    if (form == 0) {
        a_op(&a, size == 1 ? 0xC0 : 0xC1);
        a.imm_size = 1;
        a.imm = imm_count(g);
    } else {
        a_op(&a, (uint8_t)((form == 1 ? 0xD0 : 0xD2) + (size != 1)));
    }
    if (!e.mem)
        wr_sized(g, e.reg, size);
    a_emit(g, &a, GRP_shift);
}

static void g_shxd(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    unsigned size = pick_vsize(g);
    bool cl = pct(g, 50);
    bool left = pct(g, 50);
    unsigned count = imm_count(g);
    if (size == 2)
        count = rnd(g, 17) + 32 * rnd(g, 8); /* counts 17-31 leave a 16-bit result undefined */
    if (cl && (size == 2 || pct(g, 70)))
        prep(g, ECX, (r32(g) & ~0xFFu) | count);
    a_size(&a, size);
    choose_e(g, &e, size, 40, true);
    a.reg = (int)rnd(g, 8);
    a_op(&a, 0x0F);
    a_op(&a, (uint8_t)((left ? 0xA4 : 0xAC) + cl));
    if (!cl) {
        a.imm_size = 1;
        a.imm = count;
    }
    if (!e.mem)
        wr(g, e.reg);
    a_emit(g, &a, GRP_shxd);
}

static void g_bitop(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    unsigned size = pick_vsize(g);
    unsigned op = rnd(g, 4); /* BT BTS BTR BTC */
    bool imm = pct(g, 40);
    a_size(&a, size);
    a_op(&a, 0x0F);
    if (imm) {
        choose_e(g, &e, size, 50, op != 0);
        a_op(&a, 0xBA);
        a.reg = (int)(4 + op);
        a.imm_size = 1;
        a.imm = rnd(g, 256);
    } else {
        static const uint8_t opc[4] = {0xA3, 0xAB, 0xB3, 0xBB};
        a_op(&a, opc[op]);
        unsigned off_reg = rnd(g, 8);
        e.mem = pct(g, 55);
        if (e.mem) {
            /* The bit offset also selects the word: keep it within +-1 KiB of the operand. */
            int32_t bit = (int32_t)rnd(g, 16384) - 8192;
            if (pct(g, 30))
                bit = (int32_t)rnd(g, 64) - 32;
            if (off_reg == ESP) {
                choose_mem(g, &e.m, 0, size, op != 0); /* ESP's value: far away, #PF */
            } else {
                prep_sized(g, off_reg, size, (uint32_t)bit);
                choose_mem(g, &e.m, 1100, 1100, op != 0);
            }
            maybe_patch(g, &e.m, size);
        } else {
            e.reg = pick_reg(g, size, op != 0);
        }
        a.reg = (int)off_reg;
    }
    if (op != 0 && !e.mem)
        wr(g, e.reg);
    if (op != 0 && e.mem && pct(g, 15))
        a_pfx(&a, 0xF0);
    a_emit(g, &a, GRP_bitop);
}

static void g_bsf_bsr(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    unsigned size = pick_vsize(g);
    unsigned dst = pick_reg(g, size, true);
    a_size(&a, size);
    e.mem = pct(g, 40);
    bool zero = pct(g, 20);
    if (e.mem) {
        choose_mem(g, &e.m, 0, size, false);
        if (zero)
            patch(g, &e.m, 0, 0, size);
        else
            maybe_patch(g, &e.m, size);
    } else {
        e.reg = pick_reg(g, size, false);
        if (zero && e.reg != ESP && e.reg != dst)
            prep_sized(g, e.reg, size, 0);
    }
    a_op(&a, 0x0F);
    a_op(&a, pct(g, 50) ? 0xBC : 0xBD);
    a.reg = (int)dst;
    wr(g, dst);
    a_emit(g, &a, GRP_bsf_bsr);
}

static void g_bswap(struct gen *g)
{
    struct asmb a;
    a_init(&a);
    unsigned r = pick_reg(g, 4, true);
    a_op(&a, 0x0F);
    a_op(&a, (uint8_t)(0xC8 + r));
    wr(g, r);
    a_emit(g, &a, GRP_bswap);
}

static void g_setcc(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    choose_e(g, &e, 1, 40, true);
    a_op(&a, 0x0F);
    a_op(&a, (uint8_t)(0x90 + rnd(g, 16)));
    a.reg = (int)rnd(g, 8); /* ignored by the CPU */
    if (!e.mem)
        wr_sized(g, e.reg, 1);
    a_emit(g, &a, GRP_setcc);
}

static void g_cmov(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    unsigned size = pick_vsize(g);
    a_size(&a, size);
    choose_e(g, &e, size, 40, false);
    a_op(&a, 0x0F);
    a_op(&a, (uint8_t)(0x40 + rnd(g, 16)));
    a.reg = (int)pick_reg(g, size, true);
    wr(g, (unsigned)a.reg);
    a_emit(g, &a, GRP_cmov);
}

static void g_xchg(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    unsigned k = rnd(g, 3);
    unsigned size = pct(g, 25) ? 1 : pick_vsize(g);
    if (k == 0 && size != 1) { /* 90+r */
        unsigned r = pick_reg(g, size, true);
        a_size(&a, size);
        a_op(&a, (uint8_t)(0x90 + r));
        a.e = NULL;
        wr(g, r);
        wr(g, EAX);
        a_emit(g, &a, GRP_xchg);
        return;
    }
    a_size(&a, size);
    choose_e(g, &e, size, 50, true);
    unsigned r = pick_reg(g, size, true);
    a.reg = (int)r;
    if (k == 2) { /* XADD */
        a_op(&a, 0x0F);
        a_op(&a, size == 1 ? 0xC0 : 0xC1);
        if (e.mem && pct(g, 20))
            a_pfx(&a, 0xF0);
    } else {
        a_op(&a, size == 1 ? 0x86 : 0x87);
    }
    wr_sized(g, r, size);
    if (!e.mem)
        wr_sized(g, e.reg, size);
    a_emit(g, &a, GRP_xchg);
}

static void g_cmpxchg(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    if (pct(g, 30)) { /* CMPXCHG8B m64 */
        bool eq = pct(g, 50);
        uint32_t lo = interesting(g, 4), hi = interesting(g, 4);
        if (eq || !g->known[EAX] || !g->known[EDX]) {
            prep(g, EAX, lo);
            prep(g, EDX, hi);
        }
        if (pct(g, 50)) {
            prep(g, EBX, interesting(g, 4));
            prep(g, ECX, interesting(g, 4));
        }
        choose_mem(g, &e.m, 0, 8, true);
        e.mem = true;
        if (eq)
            patch(g, &e.m, 0, (uint64_t)g->val[EDX] << 32 | g->val[EAX], 8);
        else if (pct(g, 50))
            patch(g, &e.m, 0, (uint64_t)g->val[EDX] << 32 | (g->val[EAX] ^ 1u << rnd(g, 32)), 8);
        a_op(&a, 0x0F);
        a_op(&a, 0xC7);
        a.reg = 1;
        if (pct(g, 20))
            a_pfx(&a, 0xF0);
        wr(g, EAX);
        wr(g, EDX);
        a_emit(g, &a, GRP_cmpxchg);
        return;
    }
    unsigned size = pct(g, 25) ? 1 : pick_vsize(g);
    a_size(&a, size);
    bool eq = pct(g, 50);
    uint32_t v = interesting(g, size);
    if (eq)
        prep_sized(g, EAX, size, v);
    e.mem = pct(g, 50);
    if (e.mem) {
        choose_mem(g, &e.m, 0, size, true);
        if (eq)
            patch(g, &e.m, 0, v, size);
        else
            maybe_patch(g, &e.m, size);
    } else {
        e.reg = pick_reg(g, size, true);
        if (eq && !locked(g, size == 1 ? e.reg & 3 : e.reg))
            prep_sized(g, e.reg, size, v);
        wr_sized(g, e.reg, size);
    }
    a_op(&a, 0x0F);
    a_op(&a, size == 1 ? 0xB0 : 0xB1);
    a.reg = (int)rnd(g, 8);
    if (e.mem && pct(g, 20))
        a_pfx(&a, 0xF0);
    wr(g, EAX);
    a_emit(g, &a, GRP_cmpxchg);
}

static void g_mov(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    unsigned k = rnd(g, 7);
    unsigned size = pct(g, 25) ? 1 : pick_vsize(g);
    a_size(&a, size);
    switch (k) {
    case 0: /* 88/89 E, G */
        choose_e(g, &e, size, 60, true);
        a_op(&a, size == 1 ? 0x88 : 0x89);
        a.reg = (int)rnd(g, 8);
        if (!e.mem)
            wr_sized(g, e.reg, size);
        break;
    case 1: /* 8A/8B G, E */
        choose_e(g, &e, size, 60, false);
        a_op(&a, size == 1 ? 0x8A : 0x8B);
        a.reg = (int)pick_reg(g, size, true);
        wr_sized(g, (unsigned)a.reg, size);
        break;
    case 2: /* C6/C7 /0 E, imm */
        choose_e(g, &e, size, 60, true);
        a_op(&a, size == 1 ? 0xC6 : 0xC7);
        a.reg = 0;
        a.imm_size = size;
        a.imm = interesting(g, size);
        if (!e.mem)
            wr_sized(g, e.reg, size);
        break;
    case 3: { /* B0+r / B8+r */
        unsigned r = pick_reg(g, size, true);
        a.e = NULL;
        a_op(&a, (uint8_t)((size == 1 ? 0xB0 : 0xB8) + r));
        a.imm_size = size;
        a.imm = interesting(g, size);
        wr_sized(g, r, size);
        if (size == 4) {
            g->known[r] = true;
            g->val[r] = a.imm;
        }
        break;
    }
    case 4: { /* A0-A3 moffs */
        bool store = pct(g, 50);
        a.e = NULL;
        a_op(&a, (uint8_t)(0xA0 + (store ? 2 : 0) + (size != 1)));
        if (pct(g, 25)) {
            a_pfx(&a, 0x67);
            a_pfx(&a, pct(g, 95) ? 0x64 : 0x3E);
            a.imm_size = 2;
            a.imm = rnd(g, 0x10000);
        } else {
            bool wild;
            a.imm_size = 4;
            a.imm = pick_target(g, 0, size, &wild);
            if (pct(g, 10))
                a_pfx(&a, store ? 0x3E : 0x2E);
        }
        if (!store)
            wr_sized(g, EAX, size);
        break;
    }
    case 5: { /* 8C: MOV Ew/Rv, Sreg (stores only: loads are not comparable) */
        static const uint8_t sregs[5] = {0, 1, 2, 3, 4}; /* ES CS SS DS FS, not GS */
        unsigned s = sregs[rnd(g, 5)];
        a.npfx = 0;
        e.mem = pct(g, 40);
        if (e.mem) {
            choose_mem(g, &e.m, 0, 2, true);
        } else {
            size = pick_vsize(g);
            a_size(&a, size);
            e.reg = pick_reg(g, 4, true);
            wr(g, e.reg);
        }
        a_op(&a, 0x8C);
        a.reg = (int)s;
        break;
    }
    default: { /* MOV r, r (both 8A and 88 directions) */
        e.mem = false;
        e.reg = pick_reg(g, size, true);
        a_op(&a, (uint8_t)((size == 1 ? 0x88 : 0x89) + (pct(g, 50) ? 2 : 0)));
        a.reg = (int)pick_reg(g, size, true);
        wr_sized(g, e.reg, size);
        wr_sized(g, (unsigned)a.reg, size);
        break;
    }
    }
    a_emit(g, &a, GRP_mov);
}

static void g_movx(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    unsigned dsize = pick_vsize(g);
    unsigned ssize = pct(g, 60) ? 1 : 2;
    a_size(&a, dsize);
    choose_e(g, &e, ssize, 45, false);
    a_op(&a, 0x0F);
    a_op(&a, (uint8_t)((pct(g, 50) ? 0xB6 : 0xBE) + (ssize == 2)));
    a.reg = (int)pick_reg(g, dsize, true);
    wr(g, (unsigned)a.reg);
    a_emit(g, &a, GRP_movx);
}

/* A ModRM memory form with arbitrary registers and displacement (LEA, hint NOPs: no access). */
static void raw_mem(struct gen *g, struct eop *e)
{
    memset(e, 0, sizeof(*e));
    e->mem = true;
    struct mem *m = &e->m;
    m->mod = (uint8_t)rnd(g, 3);
    m->rm = (uint8_t)rnd(g, 8);
    if (pct(g, 25)) {
        m->pfx[m->npfx++] = 0x67;
        if (m->mod == 0 && m->rm == 6)
            m->disp_size = 2;
        else
            m->disp_size = m->mod == 1 ? 1 : m->mod == 2 ? 2 : 0;
    } else {
        if (m->rm == 4) {
            m->has_sib = true;
            m->sib = (uint8_t)rnd(g, 256);
        }
        bool nobase = (m->mod == 0 && m->rm == 5) || (m->has_sib && m->mod == 0 && (m->sib & 7) == 5);
        m->disp_size = m->mod == 1 ? 1 : (m->mod == 2 || nobase) ? 4 : 0;
    }
    m->disp = pct(g, 50) ? r32(g) : interesting(g, 4);
}

static void g_lea(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    unsigned size = pick_vsize(g);
    a_size(&a, size);
    raw_mem(g, &e);
    a.e = &e;
    a_op(&a, 0x8D);
    a.reg = (int)pick_reg(g, size, true);
    wr(g, (unsigned)a.reg);
    a_emit(g, &a, GRP_lea);
}

static void esp_add(struct gen *g, int32_t d) { g->val[ESP] += (uint32_t)d; }

static void g_stack(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    unsigned size = pct(g, 20) ? 2 : 4;
    a_size(&a, size);
    unsigned k = rnd(g, 11);
    switch (k) {
    case 0: { /* PUSH r */
        a.e = NULL;
        a_op(&a, (uint8_t)(0x50 + rnd(g, 8)));
        esp_add(g, -(int32_t)size);
        break;
    }
    case 1: { /* POP r */
        unsigned r = pick_reg(g, size, true);
        a.e = NULL;
        a_op(&a, (uint8_t)(0x58 + r));
        esp_add(g, (int32_t)size);
        wr(g, r);
        break;
    }
    case 2: /* PUSH imm */
        a.e = NULL;
        if (pct(g, 50)) {
            a_op(&a, 0x6A);
            a.imm_size = 1;
        } else {
            a_op(&a, 0x68);
            a.imm_size = size;
        }
        a.imm = interesting(g, a.imm_size);
        esp_add(g, -(int32_t)size);
        break;
    case 3: /* PUSH Ev */
        choose_e(g, &e, size, 70, false);
        a_op(&a, 0xFF);
        a.reg = 6;
        esp_add(g, -(int32_t)size);
        break;
    case 4: /* POP Ev (an ESP base is applied after the increment) */
        choose_e(g, &e, size, 70, true);
        a_op(&a, 0x8F);
        a.reg = 0;
        esp_add(g, (int32_t)size);
        if (!e.mem)
            wr(g, e.reg);
        break;
    case 5: /* PUSHA */
        a.e = NULL;
        a_op(&a, 0x60);
        esp_add(g, -(int32_t)(8 * size));
        break;
    case 6: /* POPA */
        a.e = NULL;
        a_op(&a, 0x61);
        esp_add(g, (int32_t)(8 * size));
        for (unsigned r = 0; r < 8; r++)
            if (r != ESP)
                wr(g, r);
        break;
    case 7: /* PUSHF */
        a.e = NULL;
        a_op(&a, 0x9C);
        esp_add(g, -(int32_t)size);
        break;
    default: { /* PUSH imm + POPF, or PUSHF + POPF: POPF must never set TF */
        uint32_t fl = r32(g) & ~FL_TF;
        if (!pct(g, 5))
            fl &= ~FL_AC;
        if (!pct(g, 5))
            fl &= ~FL_NT;
        if (pct(g, 70))
            fl = (fl & (FL_ARITH | FL_DF | FL_ID | FL_AC | FL_NT)) | 0x202;
        struct asmb p;
        a_init(&p);
        a_size(&p, size);
        if (k == 10) {
            a_op(&p, 0x9C);
        } else {
            a_op(&p, 0x68);
            p.imm_size = size;
            p.imm = fl & size_mask(size);
        }
        a_emit(g, &p, GRP_stack);
        a.e = NULL;
        a_op(&a, 0x9D);
        break;
    }
    }
    a_emit(g, &a, GRP_stack);
}

static void g_enter_leave(struct gen *g)
{
    struct asmb a;
    a_init(&a);
    unsigned size = pct(g, 20) ? 2 : 4;
    uint32_t esp = g->val[ESP];
    if (pct(g, 55)) { /* ENTER */
        unsigned alloc = pct(g, 70) ? rnd(g, 64) : rnd(g, 0x400);
        unsigned lvl_imm = pct(g, 45) ? 0 : pct(g, 60) ? 1 + rnd(g, 4) : rnd(g, 256);
        unsigned level = lvl_imm & 31;
        if (level && (!g->known[EBP] || !fits_region(g->val[EBP], 4 * 32 + 8, 8))) {
            if (locked(g, EBP))
                return;
            prep(g, EBP, (esp + 0x100 + rnd(g, 0x800)) & ~1u);
        }
        a_size(&a, size);
        a_op(&a, 0xC8);
        a.imm_size = 2;
        a.imm = alloc;
        a.imm2_size = 1;
        a.imm2 = lvl_imm;
        uint32_t frame = esp - size;
        uint32_t nesp = frame - (level ? level * size : 0) - alloc;
        bool ebp_known = g->known[EBP];
        uint32_t old_ebp = g->val[EBP];
        a_emit(g, &a, GRP_enter_leave);
        g->val[ESP] = nesp;
        wr(g, EBP);
        if (size == 4) {
            g->known[EBP] = true;
            g->val[EBP] = frame;
        } else if (ebp_known) {
            g->known[EBP] = true;
            g->val[EBP] = (old_ebp & 0xFFFF0000u) | (frame & 0xFFFF);
        }
        return;
    }
    /* LEAVE: ESP = EBP, then POP EBP. EBP must point near the stack. */
    if (!g->known[EBP] || !fits_region(g->val[EBP], 0x2000, 0x2000) || pct(g, 40)) {
        if (locked(g, EBP))
            return;
        uint32_t nebp = esp + (uint32_t)((int32_t)rnd(g, 0x400) - 0x100);
        if (pct(g, 85))
            nebp &= ~3u;
        prep(g, EBP, nebp);
    }
    a_size(&a, size);
    a_op(&a, 0xC9);
    uint32_t nesp = g->val[EBP] + size;
    a_emit(g, &a, GRP_enter_leave);
    g->val[ESP] = nesp;
    wr(g, EBP);
}

static void g_flags(struct gen *g)
{
    static const uint8_t ops[] = {0x9E, 0x9F, 0xF8, 0xF9, 0xF5, 0xFC, 0xFD, 0xD6};
    struct asmb a;
    a_init(&a);
    uint8_t op = ops[rnd(g, sizeof(ops))];
    if (op == 0x9E && pct(g, 50))
        prep(g, EAX, r32(g));
    a_op(&a, op);
    if (op == 0x9F)
        wr(g, EAX);
    if (op == 0xD6)
        wr(g, EAX);
    a_emit(g, &a, GRP_flags);
}

static void g_cbw_cwd(struct gen *g)
{
    struct asmb a;
    a_init(&a);
    a_size(&a, pick_vsize(g));
    bool cwd = pct(g, 50);
    a_op(&a, cwd ? 0x99 : 0x98);
    wr(g, cwd ? EDX : EAX);
    a_emit(g, &a, GRP_cbw_cwd);
}

static void g_string(struct gen *g)
{
    /* 0 MOVS, 1 CMPS, 2 STOS, 3 LODS, 4 SCAS */
    static const uint8_t opc[5] = {0xA4, 0xA6, 0xAA, 0xAC, 0xAE};
    static const bool src[5] = {true, true, false, true, false};
    static const bool dst[5] = {true, true, true, false, true};
    struct asmb a;
    a_init(&a);
    unsigned k = rnd(g, 5);
    unsigned size = pct(g, 40) ? 1 : pick_vsize(g);
    unsigned rep = rnd(g, 10) < 4 ? 0 : rnd(g, 10) < 7 ? 0xF3 : 0xF2;
    bool a16 = g->gc->es_ldt ? (dst[k] || pct(g, 50)) : pct(g, dst[k] ? 3 : 10);
    unsigned count = pct(g, 10) ? 0 : 1 + rnd(g, 12);
    uint32_t span = (count + 2) * size + 8;

    if (rep) {
        uint32_t cx = g->known[ECX] ? g->val[ECX] : 0xFFFFFFFFu;
        bool ok = g->known[ECX] && (a16 ? (cx & 0xFFFF) <= 16 : cx <= 16);
        if (!ok || pct(g, 60))
            prep(g, ECX, a16 ? (r32(g) & 0xFFFF0000u) | count : count);
    }
    if (!a16) {
        if (src[k] && (!g->known[ESI] || !fits_region(g->val[ESI], span, span) || pct(g, 30)))
            prep(g, ESI, region_addr(g, span, span));
        if (dst[k] && (!g->known[EDI] || !fits_region(g->val[EDI], span, span) || pct(g, 30)))
            prep(g, EDI, region_addr(g, span, span));
    } else {
        a_pfx(&a, 0x67);
        if (k == 1) {
            /* CMPS: keep both 16-bit offsets clear of the segment limit (see below). */
            if (!g->known[ESI] || (g->val[ESI] & 0xFFFF) > 0xFF00 || pct(g, 30))
                prep(g, ESI, (r32(g) & 0xFFFF0000u) | rnd(g, 0xFF00));
            if (!g->known[EDI] || (g->val[EDI] & 0xFFFF) > 0xFF00 || pct(g, 30))
                prep(g, EDI, (r32(g) & 0xFFFF0000u) | rnd(g, 0xFF00));
            /* With a flat ES the destination always faults (#PF below 64 KiB), so the source
             * must not fault too: keep it aligned, away from #AC (see "both operands"). */
            if (!g->gc->es_ldt && (g->val[ESI] & (size - 1)))
                prep(g, ESI, (g->val[ESI] & ~(uint32_t)(size - 1)));
        } else {
            if (pct(g, 30))
                prep(g, ESI, r32(g));
            if (pct(g, 30))
                prep(g, EDI, r32(g));
        }
    }
    if (src[k]) {
        /* CMPS with both operands faulting: which fault comes first is not architectural (AMD
         * checks ES:EDI first). A flat ES with 16-bit addressing always faults, so with 16-bit
         * addressing the source always goes through FS, away from its limit. */
        bool must_fs = k == 1 && a16;
        if (a16) {
            if (must_fs || pct(g, 96))
                a_pfx(&a, g->gc->es_ldt && pct(g, 30) ? 0x26 : 0x64);
        } else if (pct(g, 20)) {
            static const uint8_t s[4] = {0x3E, 0x36, 0x2E, 0x26};
            uint8_t so = s[rnd(g, 4)];
            if (!(so == 0x26 && g->gc->es_ldt))
                a_pfx(&a, so);
        }
    }
    if (dst[k] && a16 && !g->gc->es_ldt) {
        /* ES:DI with a flat ES is below 64 KiB: #PF on both sides; rare by construction. */
    }
    a_size(&a, size == 2 ? 2 : 4);
    if (rep)
        a_pfx(&a, (uint8_t)rep);
    a_op(&a, (uint8_t)(opc[k] + (size != 1)));
    if (src[k])
        wr(g, ESI);
    if (dst[k])
        wr(g, EDI);
    if (rep)
        wr(g, ECX);
    if (k == 3)
        wr(g, EAX);
    a_emit(g, &a, GRP_string);
}

static void g_xlat(struct gen *g)
{
    struct asmb a;
    a_init(&a);
    if (pct(g, 25)) {
        a_pfx(&a, 0x67);
        if (pct(g, 95))
            a_pfx(&a, 0x64);
    } else {
        if (!g->known[EBX] || !fits_region(g->val[EBX], 0, 256) || pct(g, 30))
            prep(g, EBX, region_addr(g, 0, 256));
        if (pct(g, 15))
            a_pfx(&a, pct(g, 50) ? 0x2E : 0x36);
    }
    a_op(&a, 0xD7);
    wr_sized(g, EAX, 1);
    a_emit(g, &a, GRP_xlat);
}

static void g_bound(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    unsigned size = pick_vsize(g);
    unsigned r = rnd(g, 8);
    uint32_t v;
    unsigned mode = rnd(g, 10); /* 0-5 inside, 6-7 outside, 8-9 whatever memory holds */
    if (mode < 8 && r != ESP) {
        v = interesting(g, size);
        prep_sized(g, r, size, v);
    } else {
        v = g->val[r];
    }
    a_size(&a, size);
    choose_mem(g, &e.m, 0, 2 * size, false);
    e.mem = true;
    a.e = &e;
    if (mode < 8 && g->known[r]) {
        int32_t sv = size == 2 ? (int16_t)v : (int32_t)v;
        int64_t lo = (int64_t)sv - rnd(g, 3) * (pct(g, 50) ? 1 : 1000);
        int64_t hi = (int64_t)sv + rnd(g, 3) * (pct(g, 50) ? 1 : 1000);
        if (mode >= 6) {
            if (pct(g, 50))
                lo = (int64_t)sv + 1;
            else
                hi = (int64_t)sv - 1;
        }
        patch(g, &e.m, 0, (uint64_t)lo & size_mask(size), size);
        patch(g, &e.m, (int32_t)size, (uint64_t)hi & size_mask(size), size);
    }
    a_op(&a, 0x62);
    a.reg = (int)r;
    a_emit(g, &a, GRP_bound);
}

static void g_arpl(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    choose_e(g, &e, 2, 40, true);
    a_op(&a, 0x63);
    a.reg = (int)rnd(g, 8);
    if (!e.mem)
        wr(g, e.reg);
    a_emit(g, &a, GRP_arpl);
}

static void g_bcd(struct gen *g)
{
    static const uint8_t ops[] = {0x27, 0x2F, 0x37, 0x3F, 0xD4, 0xD5};
    struct asmb a;
    a_init(&a);
    uint8_t op = ops[rnd(g, sizeof(ops))];
    if (pct(g, 60)) {
        static const uint8_t al[] = {0x00, 0x09, 0x0A, 0x0F, 0x10, 0x19, 0x1A, 0x50, 0x90, 0x99,
                                     0x9A, 0x9F, 0xA0, 0xF9, 0xFA, 0xFF};
        uint32_t ax = pct(g, 60) ? al[rnd(g, sizeof(al))] : rnd(g, 256);
        ax |= (pct(g, 50) ? rnd(g, 10) : rnd(g, 256)) << 8;
        prep_sized(g, EAX, 2, ax);
    }
    a_op(&a, op);
    if (op == 0xD4 || op == 0xD5) {
        a.imm_size = 1;
        unsigned p = rnd(g, 10);
        a.imm = p < 6 ? 10 : (p < 7 && op == 0xD4) ? 0 : rnd(g, 256);
    }
    wr(g, EAX);
    a_emit(g, &a, GRP_bcd);
}

static void g_branch(struct gen *g)
{
    unsigned k = rnd(g, 14);
    if (k == 13 && g->window) /* CALL moves ESP: not inside a skip window */
        k = 0;
    struct asmb a;
    a_init(&a);
    unsigned dsize = 1;
    if (k < 5) { /* Jcc rel8 */
        a_op(&a, (uint8_t)(0x70 + rnd(g, 16)));
    } else if (k < 8) { /* Jcc rel32 */
        a_op(&a, 0x0F);
        a_op(&a, (uint8_t)(0x80 + rnd(g, 16)));
        dsize = 4;
    } else if (k == 8) {
        a_op(&a, 0xEB);
    } else if (k == 9) {
        a_op(&a, 0xE9);
        dsize = 4;
    } else if (k < 12) { /* LOOP/LOOPE/LOOPNE/JCXZ, ECX or CX */
        if (pct(g, 25))
            a_pfx(&a, 0x67);
        if (pct(g, 50))
            prep(g, ECX, rnd(g, 4));
        a_op(&a, (uint8_t)(0xE0 + rnd(g, 4)));
        wr(g, ECX);
    } else if (k == 12) {
        a_op(&a, 0x0F);
        a_op(&a, (uint8_t)(0x80 + rnd(g, 16)));
        dsize = 4;
    } else { /* CALL rel32 */
        a_op(&a, 0xE8);
        dsize = 4;
        esp_add(g, -4);
    }
    bool p66 = dsize == 4 && pct(g, 2); /* 16-bit operand size truncates EIP: leaves the block */
    if (p66) {
        a_pfx(&a, 0x66);
        dsize = 2;
        if (k == 13)
            esp_add(g, 2);
    }
    a.imm_size = dsize;
    a.imm = 0;
    a_emit(g, &a, GRP_branch);
    struct gen_case *gc = g->gc;
    gc->insn[gc->n_insns - 1].kind = ORC_K_BRANCH;
    unsigned skip = rnd(g, 3);
    if (g->n_fix < ORC_MAX_INSNS) {
        struct fixup *f = &g->fix[g->n_fix++];
        f->next = gc->code_len;
        f->disp_size = dsize;
        f->disp_at = gc->code_len - dsize;
        f->target_unit = g->n_units + 1 + skip; /* g->n_units is this unit's index */
    }
    if (p66)
        g->fix[g->n_fix - 1].disp_size = 0; /* keep the raw displacement: EIP leaves anyway */
    if (skip > g->new_window)
        g->new_window = skip;
}

static void g_nop(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    unsigned k = rnd(g, 5);
    if (k == 0) {
        a_op(&a, 0x90);
    } else if (k == 1) {
        a_pfx(&a, 0x66);
        a_op(&a, 0x90);
    } else if (k == 2) {
        a_pfx(&a, 0xF3); /* PAUSE */
        a_op(&a, 0x90);
    } else {
        raw_mem(g, &e);
        a.e = &e;
        if (pct(g, 30))
            a_pfx(&a, 0x66);
        a_op(&a, 0x0F);
        a_op(&a, k == 3 ? 0x1F : 0x18);
        a.reg = k == 3 ? 0 : (int)rnd(g, 4);
    }
    a_emit(g, &a, GRP_nop);
}

static void g_trap(struct gen *g)
{
    struct asmb a;
    a_init(&a);
    a_op(&a, pct(g, 30) ? 0xCC : 0xCE); /* INT3, INTO */
    a_emit(g, &a, GRP_trap);
}

static void g_priv(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    unsigned k = rnd(g, 16);
    switch (k) {
    case 0: a_op(&a, 0xFA); break; /* CLI */
    case 1: a_op(&a, 0xFB); break; /* STI */
    case 2: a_op(&a, 0xF4); break; /* HLT */
    case 3: /* IN/OUT imm8 */
        a_op(&a, (uint8_t)(0xE4 + rnd(g, 4)));
        a.imm_size = 1;
        a.imm = rnd(g, 256);
        if (pct(g, 20))
            a_pfx(&a, 0x66);
        break;
    case 4: /* IN/OUT DX */
        a_op(&a, (uint8_t)(0xEC + rnd(g, 4)));
        if (pct(g, 20))
            a_pfx(&a, 0x66);
        break;
    case 5: /* INS/OUTS */
        if (pct(g, 30))
            a_pfx(&a, 0xF3);
        a_op(&a, (uint8_t)(0x6C + rnd(g, 4)));
        break;
    case 6:
    case 7: /* MOV r32, CRn / MOV CRn, r32 (ModRM always register) */
        a_op(&a, 0x0F);
        a_op(&a, k == 6 ? 0x20 : 0x22);
        e.mem = false;
        e.reg = rnd(g, 8);
        a.e = &e;
        a.reg = (int)(pct(g, 70) ? (unsigned[]){0, 2, 3, 4}[rnd(g, 4)] : rnd(g, 8));
        break;
    case 8: /* MOV DRn */
        a_op(&a, 0x0F);
        a_op(&a, pct(g, 50) ? 0x21 : 0x23);
        e.mem = false;
        e.reg = rnd(g, 8);
        a.e = &e;
        a.reg = (int)rnd(g, 8);
        break;
    case 9: /* LGDT/LIDT/INVLPG m (memory forms only: 0F 01 with mod 3 is other things) */
        raw_mem(g, &e);
        a.e = &e;
        a_op(&a, 0x0F);
        a_op(&a, 0x01);
        a.reg = (int)(unsigned[]){2, 3, 7}[rnd(g, 3)];
        break;
    case 10: /* LMSW Ew */
        choose_e(g, &e, 2, 30, false);
        a.e = &e;
        a_op(&a, 0x0F);
        a_op(&a, 0x01);
        a.reg = 6;
        break;
    case 11: /* LLDT/LTR Ew */
        choose_e(g, &e, 2, 30, false);
        a.e = &e;
        a_op(&a, 0x0F);
        a_op(&a, 0x00);
        a.reg = (int)(2 + rnd(g, 2));
        break;
    case 12: { /* CLTS, INVD, WBINVD, WRMSR, RDMSR */
        static const uint8_t o[5] = {0x06, 0x08, 0x09, 0x30, 0x32};
        a_op(&a, 0x0F);
        a_op(&a, o[rnd(g, 5)]);
        break;
    }
    default: a_op(&a, (uint8_t)(pct(g, 50) ? 0xFA : 0xF4)); break;
    }
    a_emit(g, &a, GRP_priv);
}

static void g_ud(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    unsigned k = rnd(g, 8);
    switch (k) {
    case 0: a_op(&a, 0x0F); a_op(&a, 0x0B); a.e = NULL; break; /* UD2 */
    case 1: /* UD1 Gv, Ev and UD0 */
        raw_mem(g, &e);
        a_op(&a, 0x0F);
        a_op(&a, pct(g, 50) ? 0xB9 : 0xFF);
        a.reg = (int)rnd(g, 8);
        break;
    case 2: /* LOCK on a register destination */
        e.mem = false;
        e.reg = rnd(g, 8);
        a_pfx(&a, 0xF0);
        a_op(&a, (uint8_t)(rnd(g, 7) * 8 + 1));
        a.reg = (int)rnd(g, 8);
        break;
    case 3: /* LOCK on an instruction that cannot be locked */
        raw_mem(g, &e);
        a_pfx(&a, 0xF0);
        a_op(&a, (uint8_t)(pct(g, 50) ? 0x8B : 0x39)); /* MOV, CMP */
        a.reg = (int)rnd(g, 8);
        break;
    case 4: /* FE /2-7, FF /7 */
        raw_mem(g, &e);
        if (pct(g, 50)) {
            a_op(&a, 0xFE);
            a.reg = (int)(2 + rnd(g, 6));
        } else {
            a_op(&a, 0xFF);
            a.reg = 7;
        }
        break;
    case 5: /* C6/C7 /1-7 with a memory operand */
        raw_mem(g, &e);
        a_op(&a, pct(g, 50) ? 0xC6 : 0xC7);
        a.reg = (int)(1 + rnd(g, 7));
        a.imm_size = 1;
        a.imm = rnd(g, 256);
        break;
    case 6: /* LEA with a register operand */
        e.mem = false;
        e.reg = rnd(g, 8);
        a_op(&a, 0x8D);
        a.reg = (int)rnd(g, 8);
        break;
    default: /* CMPXCHG8B with a register operand */
        e.mem = false;
        e.reg = rnd(g, 8);
        a_op(&a, 0x0F);
        a_op(&a, 0xC7);
        a.reg = 1;
        break;
    }
    a_emit(g, &a, GRP_ud);
}

/* ---- x87 and MMX ---- */

/* An 80-bit value of a random class: the operands that exercise a real x87's corners. */
static void rand_ext(struct gen *g, uint64_t *mant, uint16_t *sexp)
{
    uint64_t m = (uint64_t)r32(g) << 32 | r32(g);
    uint32_t e;
    switch (rnd(g, 16)) {
    case 0: m = 0, e = 0; break;                                    /* zero */
    case 1: m >>= 1 + rnd(g, 63), e = 0; break;                     /* denormal */
    case 2: m |= 1ull << 63, e = 0; break;                          /* pseudo-denormal */
    case 3: /* unnormal, pseudo-zero */
        m = pct(g, 25) ? 0 : m & ~(1ull << 63);
        e = 1 + rnd(g, 0x7FFE);
        break;
    case 4: m = 1ull << 63, e = 0x7FFF; break;                      /* infinity */
    case 5: m |= 3ull << 62, e = 0x7FFF; break;                     /* QNaN */
    case 6: /* SNaN */
        m = (m & ~(3ull << 62)) | 1ull << 63 | 1ull << rnd(g, 62);
        e = 0x7FFF;
        break;
    case 7: m &= ~(1ull << 63), e = 0x7FFF; break;                  /* pseudo-NaN/-infinity */
    case 8: *mant = 3ull << 62, *sexp = 0xFFFF; return;             /* the real indefinite */
    case 9: { /* an integer */
        uint32_t v = pct(g, 50) ? rnd(g, 100) : r32(g) >> rnd(g, 32);
        if (!v) {
            m = 0, e = 0;
            break;
        }
        unsigned p = 31 - (unsigned)__builtin_clz(v);
        m = (uint64_t)v << (63 - p);
        e = 0x3FFF + p;
        break;
    }
    case 10: /* near a multiple of pi/4 (trigonometry, FPREM) */
        m = 0xC90FDAA22168C235ull + (uint64_t)(int64_t)((int)rnd(g, 9) - 4);
        e = 0x3FFE + rnd(g, 5);
        break;
    case 11: m |= 1ull << 63, e = 0x403E + rnd(g, 0x80); break;     /* 2^63 and up */
    case 12: /* the ends of the exponent range */
        m |= 1ull << 63;
        e = pct(g, 50) ? 1 + rnd(g, 80) : 0x7FFE - rnd(g, 80);
        break;
    default: /* normal, near 1 */
        m |= 1ull << 63;
        if (pct(g, 30))
            m &= ~0xFFFFFFFFFFull;
        e = 0x3FFF + rnd(g, 128) - 64;
        break;
    }
    *mant = m;
    *sexp = (uint16_t)(e | (pct(g, 50) ? 0x8000 : 0));
}

/* A single (size 4) or double (size 8) real of a random class. */
static uint64_t rand_real(struct gen *g, unsigned size)
{
    unsigned fbits = size == 4 ? 23 : 52;
    uint64_t emax = size == 4 ? 0xFF : 0x7FF, bias = emax >> 1;
    uint64_t f = ((uint64_t)r32(g) << 32 | r32(g)) & ((1ull << fbits) - 1), e;
    switch (rnd(g, 10)) {
    case 0: f = 0, e = 0; break;
    case 1: e = 0, f = f ? f >> rnd(g, fbits) : 1; f = f ? f : 1; break;
    case 2: f = 0, e = emax; break;
    case 3: f |= 1ull << (fbits - 1), e = emax; break;
    case 4: f = (f & ~(1ull << (fbits - 1))) | 1, e = emax; break;
    case 5: e = rnd(g, (uint32_t)emax + 1); break;
    case 6: f &= ~((1ull << (fbits - 8)) - 1), e = bias + rnd(g, 8); break;
    case 7: e = pct(g, 50) ? 1 + rnd(g, 4) : emax - 1 - rnd(g, 4); break;
    default: e = bias - 40 + rnd(g, 80); break;
    }
    uint64_t sign = pct(g, 50) ? 1ull << (size * 8 - 1) : 0;
    return sign | e << fbits | f;
}

static uint64_t rand_int64(struct gen *g)
{
    switch (rnd(g, 4)) {
    case 0: return (uint64_t)(int64_t)(int32_t)interesting(g, 4);
    case 1: return 1ull << 63;
    case 2: return (uint64_t)r32(g) << 32 | r32(g);
    default: return (uint64_t)(int64_t)((int)rnd(g, 200) - 100);
    }
}

/* Packed BCD: 18 digits and a sign byte; now and then a digit that is not one. */
static void rand_bcd(struct gen *g, uint8_t *out)
{
    unsigned ndig = rnd(g, 19);
    for (unsigned i = 0; i < 9; i++) {
        unsigned lo = 2 * i < ndig ? rnd(g, 10) : 0, hi = 2 * i + 1 < ndig ? rnd(g, 10) : 0;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    if (pct(g, 8))
        out[rnd(g, 9)] |= (uint8_t)(0xA + rnd(g, 6)) << (pct(g, 50) ? 4 : 0);
    out[9] = pct(g, 50) ? 0x80 : 0;
    if (pct(g, 5))
        out[9] |= (uint8_t)rnd(g, 128);
}

static void patch_bytes(struct gen *g, const struct mem *m, int32_t rel, const uint8_t *v,
                        unsigned size)
{
    struct gen_case *gc = g->gc;
    if (!m->ea_known || gc->n_patches >= GEN_MAX_PATCHES || size > ORC_MAX_PATCH)
        return;
    uint32_t lin = m->lin + (uint32_t)rel;
    if (!fits_region(lin, 0, size))
        return;
    struct gen_patch *p = &gc->patch[gc->n_patches++];
    p->off = lin - ORC_DATA_BASE;
    p->len = size;
    memcpy(p->bytes, v, size);
}

/* A control word: mostly every exception masked; any precision and rounding. */
static uint16_t rand_cw(struct gen *g)
{
    unsigned masks = pct(g, 60) ? 0x3F : rnd(g, 64);
    unsigned pc = pct(g, 50) ? 3 : rnd(g, 4);
    uint16_t cw = (uint16_t)(0x40 | masks | pc << 8 | rnd(g, 4) << 10);
    if (pct(g, 10))
        cw |= (uint16_t)(r32(g) & 0xF080); /* reserved bits and IC */
    return cw;
}

static void put16le(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32le(uint8_t *p, uint32_t v) { put16le(p, v), put16le(p + 2, v >> 16); }

/* The initial x87 state: random CW, TOP, tags, condition codes and registers; exception
 * flags mostly masked ones, sometimes an unmasked one pending (#MF at the first waiting x87
 * or MMX instruction). ES/B follow the flags, as FRSTOR makes them. */
static void gen_fpu_state(struct gen *g, uint8_t *img)
{
    memset(img, 0, 108);
    uint16_t cw = rand_cw(g);
    uint16_t flags = pct(g, 25) ? (uint16_t)(r32(g) & 0x7F) : 0;
    if (!pct(g, 10))
        flags &= (uint16_t)(cw | 0x40);
    uint16_t sw = (uint16_t)(flags | (r32(g) & 0x4700) | rnd(g, 8) << 11);
    if (flags & ~cw & 0x3F)
        sw |= 0x8080;
    uint16_t tw = 0;
    for (unsigned i = 0; i < 8; i++)
        if (pct(g, 35))
            tw |= (uint16_t)(3u << (2 * i));
    put32le(img + 0, 0xFFFF0000u | cw);
    put32le(img + 4, 0xFFFF0000u | sw);
    put32le(img + 8, 0xFFFF0000u | tw);
    put32le(img + 12, r32(g));
    put32le(img + 16, r32(g) & 0x07FFFFFFu);
    put32le(img + 20, r32(g));
    put32le(img + 24, 0xFFFF0000u | (r32(g) & 0xFFFF));
    for (unsigned i = 0; i < 8; i++) {
        uint64_t m;
        uint16_t e;
        rand_ext(g, &m, &e);
        memcpy(img + 28 + 10 * i, &m, 8);
        put16le(img + 36 + 10 * i, e);
    }
}

/* Memory forms of D8-DF by (opcode - D8h) * 8 + reg: operand kind and size. Control forms
 * (environment, save area, CW, SW) are generated by g_x87ctl; FISTTP (DB/1, DD/1, DF/1) is
 * SSE3, which the host has and a Pentium II does not (#UD there): not generated. */
enum { XK_SKIP, XK_REAL, XK_INT, XK_EXT, XK_BCD, XK_STORE, XK_UD };
static const struct {
    uint8_t kind, size;
} x87_mem[64] = {
#define R4 {XK_REAL, 4}
#define R8 {XK_REAL, 8}
#define I2 {XK_INT, 2}
#define I4 {XK_INT, 4}
#define SK {XK_SKIP, 0}
    R4, R4, R4, R4, R4, R4, R4, R4,
    R4, {XK_UD, 4}, {XK_STORE, 4}, {XK_STORE, 4}, SK, SK, SK, SK,
    I4, I4, I4, I4, I4, I4, I4, I4,
    I4, SK, {XK_STORE, 4}, {XK_STORE, 4}, {XK_UD, 4}, {XK_EXT, 10}, {XK_UD, 4}, {XK_STORE, 10},
    R8, R8, R8, R8, R8, R8, R8, R8,
    R8, SK, {XK_STORE, 8}, {XK_STORE, 8}, SK, {XK_UD, 4}, SK, SK,
    I2, I2, I2, I2, I2, I2, I2, I2,
    I2, SK, {XK_STORE, 2}, {XK_STORE, 2}, {XK_BCD, 10}, {XK_INT, 8}, {XK_STORE, 10},
    {XK_STORE, 8},
#undef R4
#undef R8
#undef I2
#undef I4
#undef SK
};

static void g_x87(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    if (pct(g, 6)) { /* WAIT: takes a pending error like any waiting instruction */
        a_op(&a, 0x9B);
        a_emit(g, &a, GRP_x87);
        return;
    }
    a.e = &e;
    unsigned op = rnd(g, 8);
    if (pct(g, 55)) {
        unsigned m = rnd(g, 64);
        e.mem = false;
        e.reg = m & 7;
        a.reg = (int)(m >> 3);
        if (op == 7 && m == 0x20)
            wr(g, EAX); /* FNSTSW AX */
    } else {
        unsigned reg;
        do
            reg = rnd(g, 8);
        while (x87_mem[op * 8 + reg].kind == XK_SKIP);
        unsigned kind = x87_mem[op * 8 + reg].kind, size = x87_mem[op * 8 + reg].size;
        e.mem = true;
        a.reg = (int)reg;
        choose_mem(g, &e.m, 0, size, kind == XK_STORE);
        uint8_t v[16];
        if (pct(g, 80)) {
            switch (kind) {
            case XK_REAL: {
                uint64_t x = rand_real(g, size);
                memcpy(v, &x, 8);
                patch_bytes(g, &e.m, 0, v, size);
                break;
            }
            case XK_INT: {
                uint64_t x = size == 8 ? rand_int64(g) : interesting(g, size);
                memcpy(v, &x, 8);
                patch_bytes(g, &e.m, 0, v, size);
                break;
            }
            case XK_EXT: {
                uint64_t x;
                uint16_t ex;
                rand_ext(g, &x, &ex);
                memcpy(v, &x, 8);
                put16le(v + 8, ex);
                patch_bytes(g, &e.m, 0, v, 10);
                break;
            }
            case XK_BCD:
                rand_bcd(g, v);
                patch_bytes(g, &e.m, 0, v, 10);
                break;
            default:
                break;
            }
        }
    }
    a_op(&a, (uint8_t)(0xD8 + op));
    a_emit(g, &a, GRP_x87);
}

/* MOV word [lin], imm16 (flat DS): edits a stored environment or save area in place. */
static void x87_tweak(struct gen *g, const struct mem *m, uint32_t off, uint16_t v)
{
    uint32_t lin = m->lin + off;
    if (!m->ea_known || !fits_region(lin, 0, 2))
        return;
    begin(g, GRP_x87ctl);
    b(g, 0x66);
    b(g, 0xC7);
    b(g, 0x05);
    bn(g, lin, 4);
    bn(g, v, 2);
    end(g);
}

static void g_x87ctl(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a.e = &e;
    unsigned k = rnd(g, 12);
    switch (k) {
    case 0: /* FNSTSW AX */
        e.mem = false, e.reg = 0, a.reg = 4;
        a_op(&a, 0xDF);
        wr(g, EAX);
        break;
    case 1: /* FNCLEX, FNINIT; now and then FENI/FDISI/FSETPM */
        e.mem = false, a.reg = 4;
        e.reg = pct(g, 90) ? 2 + rnd(g, 2) : (unsigned[]){0, 1, 4}[rnd(g, 3)];
        a_op(&a, 0xDB);
        break;
    case 2: /* FNSTCW / FNSTSW m16 */
        e.mem = true;
        choose_mem(g, &e.m, 0, 2, true);
        a_op(&a, pct(g, 50) ? 0xD9 : 0xDD);
        a.reg = 7;
        break;
    case 3:
    case 4: { /* FLDCW m16 */
        e.mem = true;
        choose_mem(g, &e.m, 0, 2, false);
        uint8_t v[2];
        put16le(v, rand_cw(g));
        patch_bytes(g, &e.m, 0, v, 2);
        a_op(&a, 0xD9);
        a.reg = 5;
        break;
    }
    case 5:
    case 6:
    case 7:
    case 8: { /* FNSTENV or FNSAVE, a field or two edited, FLDENV or FRSTOR */
        bool save = k >= 7, o16 = pct(g, 30);
        unsigned env = o16 ? 14 : 28, size = env + (save ? 80 : 0), w = o16 ? 2 : 4;
        e.mem = true;
        choose_mem(g, &e.m, 0, size, true);
        if (o16)
            a_pfx(&a, 0x66);
        a_op(&a, save ? 0xDD : 0xD9);
        a.reg = 6;
        a_emit(g, &a, GRP_x87ctl);
        unsigned edits = rnd(g, 3);
        for (unsigned i = 0; i < edits; i++) {
            unsigned f = rnd(g, save ? 4 : 3);
            if (f == 0)
                x87_tweak(g, &e.m, 0, rand_cw(g));
            else if (f == 1)
                x87_tweak(g, &e.m, w, (uint16_t)r32(g));
            else if (f == 2)
                x87_tweak(g, &e.m, 2 * w, (uint16_t)r32(g));
            else
                x87_tweak(g, &e.m, env + 10 * rnd(g, 8) + 2 * rnd(g, 5), (uint16_t)r32(g));
        }
        a.opc[0] = save ? 0xDD : 0xD9;
        a.reg = 4;
        break;
    }
    default: { /* FLDENV / FRSTOR of whatever the memory holds */
        bool save = k >= 10, o16 = pct(g, 30);
        unsigned size = (o16 ? 14 : 28) + (save ? 80 : 0);
        e.mem = true;
        choose_mem(g, &e.m, 0, size, false);
        if (o16)
            a_pfx(&a, 0x66);
        a_op(&a, save ? 0xDD : 0xD9);
        a.reg = 4;
        break;
    }
    }
    a_emit(g, &a, GRP_x87ctl);
}

/* MMX opcodes of the Pentium II (0F xx), besides the shifts by immediate and EMMS. */
static const uint8_t mmx_ops[] = {
    0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6E, 0x6F,
    0x74, 0x75, 0x76, 0x7E, 0x7F, 0xD1, 0xD2, 0xD3, 0xD5, 0xD8, 0xD9, 0xDB, 0xDC, 0xDD,
    0xDF, 0xE1, 0xE2, 0xE5, 0xE8, 0xE9, 0xEB, 0xEC, 0xED, 0xEF, 0xF1, 0xF2, 0xF3, 0xF5,
    0xF8, 0xF9, 0xFA, 0xFC, 0xFD, 0xFE,
};

static uint64_t rand_q(struct gen *g)
{
    if (pct(g, 25))
        return rnd(g, 80); /* shift counts */
    uint64_t v = 0;
    for (unsigned k = 0; k < 4; k++)
        v |= (uint64_t)interesting(g, 2) << (16 * k);
    return pct(g, 50) ? v : (uint64_t)r32(g) << 32 | r32(g);
}

/* MMX without 66/F2/F3 prefixes: later processors read those as SSE forms. */
static void g_mmx(struct gen *g)
{
    struct asmb a;
    struct eop e;
    a_init(&a);
    a_op(&a, 0x0F);
    unsigned p = rnd(g, 100);
    if (p < 4) {
        a_op(&a, 0x77); /* EMMS */
        a_emit(g, &a, GRP_mmx);
        return;
    }
    a.e = &e;
    if (p < 18) { /* PSRLx/PSRAx/PSLLx mm, imm8 */
        unsigned o = rnd(g, 3);
        a_op(&a, (uint8_t)(0x71 + o));
        e.mem = false;
        e.reg = rnd(g, 8);
        a.reg = (int)(o == 2 ? (unsigned[]){2, 6}[rnd(g, 2)] : (unsigned[]){2, 4, 6}[rnd(g, 3)]);
        a.imm_size = 1;
        a.imm = pct(g, 70) ? rnd(g, 70) : rnd(g, 256);
        a_emit(g, &a, GRP_mmx);
        return;
    }
    uint8_t op = mmx_ops[rnd(g, sizeof(mmx_ops))];
    a_op(&a, op);
    a.reg = (int)rnd(g, 8);
    bool movd = op == 0x6E || op == 0x7E, store = op == 0x7E || op == 0x7F;
    unsigned size = movd ? 4 : 8;
    e.mem = pct(g, 40);
    if (e.mem) {
        choose_mem(g, &e.m, 0, size, store);
        if (!store && pct(g, 70)) {
            uint64_t v = rand_q(g);
            uint8_t bytes[8];
            memcpy(bytes, &v, 8);
            patch_bytes(g, &e.m, 0, bytes, size);
        }
    } else if (op == 0x7E) {
        e.reg = pick_reg(g, 4, true);
        wr(g, e.reg);
    } else {
        e.reg = rnd(g, 8);
    }
    a_emit(g, &a, GRP_mmx);
}

/* ---- cases ---- */
typedef void (*group_fn)(struct gen *g);

static const struct {
    group_fn fn;
    unsigned weight;
    bool moves_esp; /* not allowed inside a branch skip window */
} groups[GRP_COUNT] = {
    [GRP_alu] = {g_alu, 16, false},
    [GRP_unary] = {g_unary, 5, false},
    [GRP_muldiv] = {g_muldiv, 9, false},
    [GRP_shift] = {g_shift, 11, false},
    [GRP_shxd] = {g_shxd, 4, false},
    [GRP_bitop] = {g_bitop, 6, false},
    [GRP_bsf_bsr] = {g_bsf_bsr, 3, false},
    [GRP_bswap] = {g_bswap, 1, false},
    [GRP_setcc] = {g_setcc, 3, false},
    [GRP_cmov] = {g_cmov, 3, false},
    [GRP_xchg] = {g_xchg, 4, false},
    [GRP_cmpxchg] = {g_cmpxchg, 4, false},
    [GRP_mov] = {g_mov, 7, false},
    [GRP_movx] = {g_movx, 3, false},
    [GRP_lea] = {g_lea, 3, false},
    [GRP_stack] = {g_stack, 7, true},
    [GRP_enter_leave] = {g_enter_leave, 2, true},
    [GRP_flags] = {g_flags, 3, false},
    [GRP_cbw_cwd] = {g_cbw_cwd, 1, false},
    [GRP_string] = {g_string, 6, false},
    [GRP_xlat] = {g_xlat, 1, false},
    [GRP_bound] = {g_bound, 2, false},
    [GRP_arpl] = {g_arpl, 1, false},
    [GRP_bcd] = {g_bcd, 4, false},
    [GRP_branch] = {g_branch, 4, false},
    [GRP_nop] = {g_nop, 1, false},
    [GRP_trap] = {g_trap, 1, false},
    [GRP_priv] = {g_priv, 2, false},
    [GRP_ud] = {g_ud, 1, false},
    [GRP_x87] = {g_x87, 10, false},
    [GRP_x87ctl] = {g_x87ctl, 3, false},
    [GRP_mmx] = {g_mmx, 5, false},
};

static uint64_t only_groups;

void gen_only_groups(uint64_t mask) { only_groups = mask; }

static uint32_t initial_reg(struct gen *g)
{
    unsigned p = rnd(g, 100);
    if (p < 35)
        return region_addr(g, 0x100, 0x100);
    if (p < 60)
        return r32(g);
    if (p < 75)
        return pct(g, 50) ? rnd(g, 256) : rnd(g, 0x10000);
    return interesting(g, 4);
}

void gen_pattern(uint8_t *out, uint64_t seed)
{
    struct gen g;
    memset(&g, 0, sizeof(g));
    g.rs = mix64(seed ^ 0x5061747465726E00ull);
    for (uint32_t off = 0; off < ORC_DATA_SIZE; off += 64) {
        unsigned style = rnd(&g, 100);
        for (uint32_t i = 0; i < 64; i += 4) {
            uint32_t v = style < 60 ? r32(&g)
                         : style < 75 ? 0
                         : style < 85 ? 0xFFFFFFFFu
                                      : interesting(&g, 4);
            memcpy(out + off + i, &v, 4);
        }
    }
}

void gen_case(struct gen_case *gc, uint64_t seed, uint64_t index)
{
    struct gen g;
    memset(&g, 0, sizeof(g));
    memset(gc, 0, sizeof(*gc));
    g.gc = gc;
    g.rs = mix64(seed * 0x9E3779B97F4A7C15ull + index) ^ index;

    gc->es_ldt = pct(&g, 15);
    for (unsigned r = 0; r < 8; r++) {
        gc->regs[r] = initial_reg(&g);
        g.known[r] = true;
        g.val[r] = gc->regs[r];
    }
    uint32_t esp = ORC_DATA_BASE + 0x4000 + rnd(&g, 0x8000);
    gc->regs[ESP] = g.val[ESP] = pct(&g, 90) ? esp & ~3u : esp;
    uint32_t fl = 0x202 | (r32(&g) & FL_ARITH);
    if (pct(&g, 25))
        fl |= FL_DF;
    if (pct(&g, 3))
        fl |= FL_AC;
    if (pct(&g, 3))
        fl |= FL_NT;
    if (pct(&g, 20))
        fl |= FL_ID;
    gc->eflags = fl;
    gen_fpu_state(&g, gc->fpu);

    unsigned target = 1 + rnd(&g, 8);
    unsigned units = 0;
    while (units < target && gc->n_insns + 8 <= ORC_MAX_INSNS &&
           gc->code_len + 120 < ORC_MAX_CODE) {
        g.unit_start[g.n_units] = gc->code_len;
        g.locked = 0;
        g.unit_written = 0;
        g.new_window = 0;
        unsigned total = 0, weight[GRP_COUNT];
        for (unsigned k = 0; k < GRP_COUNT; k++) {
            weight[k] = !only_groups || ((only_groups >> k) & 1) ? groups[k].weight : 0;
            total += weight[k];
        }
        unsigned grp;
        for (;;) {
            unsigned pick = rnd(&g, total);
            for (grp = 0; pick >= weight[grp]; grp++)
                pick -= weight[grp];
            if (!(g.window && groups[grp].moves_esp))
                break;
        }
        bool in_window = g.window > 0;
        unsigned before = gc->n_insns;
        groups[grp].fn(&g);
        if (gc->n_insns == before)
            continue; /* the group declined; pick again */
        g.n_units++;
        units++;
        if (in_window)
            for (unsigned r = 0; r < 8; r++)
                if (g.unit_written & (1u << r))
                    g.known[r] = false;
        if (g.window)
            g.window--;
        if (g.new_window > g.window)
            g.window = g.new_window;
    }
    g.unit_start[g.n_units] = gc->code_len;

    /* Resolve forward branches to unit boundaries (the end of the block at most). */
    for (unsigned i = 0; i < g.n_fix; i++) {
        struct fixup *f = &g.fix[i];
        if (!f->disp_size)
            continue;
        unsigned tu = f->target_unit <= g.n_units ? f->target_unit : g.n_units;
        uint32_t target_off = g.unit_start[tu];
        if (target_off < f->next)
            target_off = f->next;
        if (f->disp_size == 1) {
            while (target_off - f->next > 127) {
                tu--;
                target_off = g.unit_start[tu] < f->next ? f->next : g.unit_start[tu];
            }
        }
        uint32_t d = target_off - f->next;
        for (unsigned k = 0; k < f->disp_size; k++)
            gc->code[f->disp_at + k] = (uint8_t)(d >> (8 * k));
    }
}
