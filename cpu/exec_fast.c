/* Specialised handlers for the commonest shapes of hot instructions (32-bit register,
 * immediate and memory forms of the ALU group, MOV, INC/DEC, Jcc). The run loop resolves one
 * per cached instruction with exec_fast_handler(), so kind, form and size are decided once at
 * decode instead of on every execution. Semantics are those of the generic handlers, which
 * every other shape (and every slow memory path) still goes through. */
#include "cpu/exec.h"
#include "cpu/exec_rmw.h"
#include "cpu/flags.h"
#include "cpu/mem.h"

#define LF32(kind) ((kind) << 2 | 2u)

/* Host address of a 32-bit read-modify-write operand at sreg:off, or NULL when it needs the
 * generic path (TLB miss, page crossing, MMIO, watched page). One segment check and one TLB
 * lookup serve the read and the write: a writable segment is readable, and a TLB write tag
 * is installed only together with the read tag of the same page. */
static inline uint8_t *rmw_host32(struct cpu *c, int sreg, uint32_t off)
{
    uint32_t lin = seg_linear(c, sreg, off, 4, SEGR_WRITE);
    align_check(c, lin, 4);
    const struct tlb_entry *e = &c->tlb.e[cpu_priv(c)][tlb_index(lin)];
    if (likely(e->tag[TLB_WRITE] == (lin & PAGE_MASK) && (lin & ~PAGE_MASK) <= PAGE_SIZE - 4))
        return (uint8_t *)(uintptr_t)(lin + e->addend);
    return NULL;
}

static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void store32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

enum fk { F_ADD, F_OR, F_ADC, F_SBB, F_AND, F_SUB, F_XOR, F_CMP, F_TEST };

/* a OP b (with carry-in for ADC/SBB), recording the lazy flags. */
static inline __attribute__((always_inline)) uint32_t alu32(struct cpu *c, enum fk k, uint32_t a,
                                                            uint32_t b, uint32_t cin)
{
    uint32_t r;
    unsigned lf;
    switch (k) {
    case F_ADD: r = a + b; lf = LF_ADD; break;
    case F_ADC: r = a + b + cin; lf = LF_ADD; break;
    case F_SUB: case F_CMP: r = a - b; lf = LF_SUB; break;
    case F_SBB: r = a - b - cin; lf = LF_SUB; break;
    case F_OR: r = a | b; lf = LF_LOGIC; break;
    case F_XOR: r = a ^ b; lf = LF_LOGIC; break;
    default: r = a & b; lf = LF_LOGIC; break;
    }
    c->lf_op = LF32(lf);
    c->lf_a = a;
    c->lf_b = b;
    c->lf_res = r;
    return r;
}

static inline uint32_t carry_in(const struct cpu *c, enum fk k)
{
    return (k == F_ADC || k == F_SBB) ? flags_cf(c) : 0;
}

static inline bool alu_writes(enum fk k) { return k != F_CMP && k != F_TEST; }

/* E (register) OP= G */
#define ALU_FAST(NAME, K) \
    static void fast_##NAME##_EG_r(struct cpu *c, const struct insn *i) \
    { \
        uint32_t cin = carry_in(c, K); \
        uint32_t r = alu32(c, K, c->regs[i->rm], c->regs[i->reg], cin); \
        if (alu_writes(K)) \
            c->regs[i->rm] = r; \
    } \
    static void fast_##NAME##_GE_r(struct cpu *c, const struct insn *i) \
    { \
        uint32_t cin = carry_in(c, K); \
        uint32_t r = alu32(c, K, c->regs[i->reg], c->regs[i->rm], cin); \
        if (alu_writes(K)) \
            c->regs[i->reg] = r; \
    } \
    static void fast_##NAME##_EI_r(struct cpu *c, const struct insn *i) \
    { \
        uint32_t cin = carry_in(c, K); \
        uint32_t r = alu32(c, K, c->regs[i->rm], i->imm, cin); \
        if (alu_writes(K)) \
            c->regs[i->rm] = r; \
    } \
    static void fast_##NAME##_GE_m(struct cpu *c, const struct insn *i) \
    { \
        uint32_t cin = carry_in(c, K); \
        uint32_t b = mem_read(c, i->seg, insn_ea(c, i), 4); \
        uint32_t r = alu32(c, K, c->regs[i->reg], b, cin); \
        if (alu_writes(K)) \
            c->regs[i->reg] = r; \
    } \
    static inline __attribute__((always_inline)) void fast_##NAME##_Em(struct cpu *c, \
                                                                       const struct insn *i, \
                                                                       uint32_t b) \
    { \
        uint32_t cin = carry_in(c, K); \
        uint32_t ea = insn_ea(c, i); \
        if (!alu_writes(K)) { \
            alu32(c, K, mem_read(c, i->seg, ea, 4), b, cin); \
            return; \
        } \
        uint8_t *p = rmw_host32(c, i->seg, ea); \
        if (likely(p != NULL)) { \
            store32(p, alu32(c, K, load32(p), b, cin)); \
            return; \
        } \
        exec_table[i->op](c, i); /* the generic path faults and records as it must */ \
    } \
    static void fast_##NAME##_EG_m(struct cpu *c, const struct insn *i) \
    { \
        fast_##NAME##_Em(c, i, c->regs[i->reg]); \
    } \
    static void fast_##NAME##_EI_m(struct cpu *c, const struct insn *i) \
    { \
        fast_##NAME##_Em(c, i, i->imm); \
    }

ALU_FAST(ADD, F_ADD)
ALU_FAST(OR, F_OR)
ALU_FAST(ADC, F_ADC)
ALU_FAST(SBB, F_SBB)
ALU_FAST(AND, F_AND)
ALU_FAST(SUB, F_SUB)
ALU_FAST(XOR, F_XOR)
ALU_FAST(CMP, F_CMP)
ALU_FAST(TEST, F_TEST)

#define ALU_ROW(NAME) \
    {fast_##NAME##_EG_r, fast_##NAME##_GE_r, fast_##NAME##_EI_r, fast_##NAME##_EG_m, \
     fast_##NAME##_GE_m, fast_##NAME##_EI_m}
enum { S_EG_R, S_GE_R, S_EI_R, S_EG_M, S_GE_M, S_EI_M };
static const exec_fn alu_fast[9][6] = {
    ALU_ROW(ADD), ALU_ROW(OR), ALU_ROW(ADC), ALU_ROW(SBB), ALU_ROW(AND),
    ALU_ROW(SUB), ALU_ROW(XOR), ALU_ROW(CMP), ALU_ROW(TEST),
};

static void fast_MOV_GE_r(struct cpu *c, const struct insn *i) { c->regs[i->reg] = c->regs[i->rm]; }
static void fast_MOV_EG_r(struct cpu *c, const struct insn *i) { c->regs[i->rm] = c->regs[i->reg]; }
static void fast_MOV_EI_r(struct cpu *c, const struct insn *i) { c->regs[i->rm] = i->imm; }
static void fast_MOV_GE_m(struct cpu *c, const struct insn *i)
{
    c->regs[i->reg] = mem_read(c, i->seg, insn_ea(c, i), 4);
}
static void fast_MOV_EG_m(struct cpu *c, const struct insn *i)
{
    mem_write(c, i->seg, insn_ea(c, i), c->regs[i->reg], 4);
}
static void fast_MOV_EI_m(struct cpu *c, const struct insn *i)
{
    mem_write(c, i->seg, insn_ea(c, i), i->imm, 4);
}

/* INC/DEC: CF stays in eflags; it is already there unless the record is ADD/SUB/LOGIC. */
static inline void incdec_record(struct cpu *c, unsigned lf, uint32_t a, uint32_t r)
{
    c->lf_op = LF32(lf);
    c->lf_a = a;
    c->lf_b = 1;
    c->lf_res = r;
}

static void fast_INC_r(struct cpu *c, const struct insn *i)
{
    uint32_t a = c->regs[i->rm];
    c->regs[i->rm] = a + 1;
    flags_keep_cf(c);
    incdec_record(c, LF_INC, a, a + 1);
}

static void fast_DEC_r(struct cpu *c, const struct insn *i)
{
    uint32_t a = c->regs[i->rm];
    c->regs[i->rm] = a - 1;
    flags_keep_cf(c);
    incdec_record(c, LF_DEC, a, a - 1);
}

static inline void incdec_m(struct cpu *c, const struct insn *i, unsigned lf)
{
    uint32_t ea = insn_ea(c, i);
    uint8_t *p = rmw_host32(c, i->seg, ea);
    if (unlikely(p == NULL)) {
        exec_table[i->op](c, i);
        return;
    }
    uint32_t a = load32(p), r = lf == LF_INC ? a + 1 : a - 1;
    store32(p, r);
    flags_keep_cf(c);
    incdec_record(c, lf, a, r);
}

static void fast_INC_m(struct cpu *c, const struct insn *i) { incdec_m(c, i, LF_INC); }
static void fast_DEC_m(struct cpu *c, const struct insn *i) { incdec_m(c, i, LF_DEC); }

/* Jcc on Z/NZ and B/NB (the compare-and-branch cases) without the call into cpu_cond(). */
static inline void jcc_take(struct cpu *c, const struct insn *i)
{
    uint32_t t = c->eip + (uint32_t)i->disp;
    if (i->osize == 2)
        t &= 0xFFFF;
    jump_near(c, t);
}

static void fast_JZ(struct cpu *c, const struct insn *i)
{
    bool z = c->lf_op >> 2 == LF_NONE ? (c->eflags & FL_ZF) != 0 : c->lf_res == 0;
    if (z ^ (i->cond & 1))
        jcc_take(c, i);
}

static void fast_JB(struct cpu *c, const struct insn *i)
{
    if (flags_cf(c) ^ (i->cond & 1))
        jcc_take(c, i);
}

exec_fn exec_fast_handler(const struct insn *i)
{
    const bool mem = i->flags & INSN_F_MEM;
    switch (i->op) {
    case OP_ADD: case OP_OR: case OP_ADC: case OP_SBB: case OP_AND: case OP_SUB: case OP_XOR:
    case OP_CMP: case OP_TEST: {
        if (i->osize != 4)
            break;
        unsigned shape;
        switch (i->form) {
        case FORM_EG: shape = mem ? S_EG_M : S_EG_R; break;
        case FORM_GE: shape = mem ? S_GE_M : S_GE_R; break;
        case FORM_EI: shape = mem ? S_EI_M : S_EI_R; break;
        default: return exec_table[i->op];
        }
        return alu_fast[i->op - OP_ADD][shape];
    }
    case OP_MOV:
        if (i->osize != 4)
            break;
        switch (i->form) {
        case FORM_EG: return mem ? fast_MOV_EG_m : fast_MOV_EG_r;
        case FORM_GE: return mem ? fast_MOV_GE_m : fast_MOV_GE_r;
        case FORM_EI: return mem ? fast_MOV_EI_m : fast_MOV_EI_r;
        default: break;
        }
        break;
    case OP_INC:
        if (i->osize == 4 && i->form == FORM_E)
            return mem ? fast_INC_m : fast_INC_r;
        break;
    case OP_DEC:
        if (i->osize == 4 && i->form == FORM_E)
            return mem ? fast_DEC_m : fast_DEC_r;
        break;
    case OP_JCC:
        if ((i->cond >> 1) == 2)
            return fast_JZ;
        if ((i->cond >> 1) == 1)
            return fast_JB;
        break;
    default:
        break;
    }
    return exec_table[i->op];
}
