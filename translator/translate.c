/* Block translation: struct insn sequences (from the interpreter's block former) to x86-64.
 *
 * Generated code runs as `void block(struct cpu *c)` with the cpu pointer pinned in RBX.
 * Register-only instructions that cannot fault are generated inline; every other one is a
 * call of its interpreter handler, preceded by the stores the precise-fault contract needs
 * (insn_eip, insn_esp, eip = next) and followed by the checks the interpreter's block loop
 * makes (a taken branch, pending events, a write to the block's own code page). */
#include "translator/translator.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/exec.h"
#include "cpu/flags.h"
#include "cpu/icache.h"
#include "translator/codecache.h"
#include "translator/x64.h"

#define DEFAULT_CACHE_BYTES (64u << 20)
/* Upper bound of host code per guest instruction: an inline memory access with its slow-path
 * stub is ~250 bytes, a handler call with its checks ~80. */
#define MAX_HOST_PER_INSN 320u
#define MAX_HOST_FIXED 320u /* entry, chain entry (~130), the final exit, epilogue */

struct translator {
    struct codecache cc;
    struct cpu_block_engine engine;
    struct translator_stats st;
    bool chaining; /* indirect exits jump to the next block themselves (not in compare mode) */
};

/* Where a block's chain entry starts (see gen_chain_entry()). */
#define CHAIN_ENTRY 9u

#define CPU_OFF(field) ((int32_t)offsetof(struct cpu, field))
#define REG_OFF(r) (CPU_OFF(regs) + 4 * (int32_t)(r))
#define LF32(kind) ((uint32_t)(kind) << 2 | 2u)

/* Operations whose handler may move EIP somewhere else and still let the block go on when it
 * does not (they are on the interpreter's continue-block list). */
static bool may_branch(unsigned op)
{
    return op == OP_JCC || op == OP_LOOP || op == OP_LOOPE || op == OP_LOOPNE || op == OP_JCXZ;
}

/* ---- inline generation ---- */

static bool reg_form32(const struct insn *i)
{
    return i->osize == 4 && !(i->flags & INSN_F_MEM);
}

/* Guest register `r` of `size` bytes as a host memory operand offset (AH..BH are byte 1). */
static int32_t greg_off(unsigned r, unsigned size)
{
    if (size == 1 && r >= 4)
        return REG_OFF(r - 4) + 1;
    return REG_OFF(r);
}

/* MOV r32, r32 / MOV r32, imm32. */
static bool gen_mov(struct x64buf *b, const struct insn *i)
{
    if (!reg_form32(i))
        return false;
    switch (i->form) {
    case FORM_EI:
        x64_store32_imm(b, X_RBX, REG_OFF(i->rm), i->imm);
        return true;
    case FORM_EG:
    case FORM_GE: {
        unsigned dst = i->form == FORM_EG ? i->rm : i->reg;
        unsigned src = i->form == FORM_EG ? i->reg : i->rm;
        x64_load32(b, X_RAX, X_RBX, REG_OFF(src));
        x64_store32(b, X_RBX, REG_OFF(dst), X_RAX);
        return true;
    }
    default:
        return false;
    }
}

/* 32-bit ALU operations on registers and immediates, recording the lazy flags exactly as
 * the interpreter's alu32() does: lf_a, lf_b, lf_res and lf_op. ADC/SBB read CF: handler. */
static bool gen_alu(struct x64buf *b, const struct insn *i, bool flags_dead)
{
    if (!reg_form32(i))
        return false;
    enum x64_alu hop;
    unsigned kind;
    bool writes = true;
    switch (i->op) {
    case OP_ADD: hop = XA_ADD; kind = LF_ADD; break;
    case OP_SUB: hop = XA_SUB; kind = LF_SUB; break;
    case OP_CMP: hop = XA_SUB; kind = LF_SUB; writes = false; break;
    case OP_AND: hop = XA_AND; kind = LF_LOGIC; break;
    case OP_TEST: hop = XA_AND; kind = LF_LOGIC; writes = false; break;
    case OP_OR: hop = XA_OR; kind = LF_LOGIC; break;
    case OP_XOR: hop = XA_XOR; kind = LF_LOGIC; break;
    default: return false;
    }
    unsigned a, dst;
    switch (i->form) {
    case FORM_EG: a = dst = i->rm; x64_load32(b, X_RCX, X_RBX, REG_OFF(i->reg)); break;
    case FORM_GE: a = dst = i->reg; x64_load32(b, X_RCX, X_RBX, REG_OFF(i->rm)); break;
    case FORM_EI: a = dst = i->rm; x64_mov_imm64(b, X_RCX, i->imm); break;
    default: return false;
    }
    if (flags_dead && !writes)
        return true; /* a CMP/TEST whose flags nobody can see: nothing to do */
    x64_load32(b, X_RAX, X_RBX, REG_OFF(a));
    if (!flags_dead) {
        x64_store32(b, X_RBX, CPU_OFF(lf_a), X_RAX);
        x64_store32(b, X_RBX, CPU_OFF(lf_b), X_RCX);
    }
    x64_alu_rr32(b, hop, X_RAX, X_RCX);
    if (!flags_dead) {
        x64_store32(b, X_RBX, CPU_OFF(lf_res), X_RAX);
        x64_store32_imm(b, X_RBX, CPU_OFF(lf_op), LF32(kind));
    }
    if (writes)
        x64_store32(b, X_RBX, REG_OFF(dst), X_RAX);
    return true;
}

/* What the flags are known to come from at a point of a block: an inline 32-bit operation's
 * lazy record (ADD/SUB/LOGIC kinds), INC/DEC's (CF in EFLAGS), EFLAGS itself (an inline
 * shift), or unknown (a handler ran). */
enum flags_src { FS_UNKNOWN, FS_ADD, FS_SUB, FS_LOGIC, FS_INCDEC, FS_EAGER };

/* Called by generated code (plain functions: they cannot fault). */
static void tr_keep_cf(struct cpu *c) { flags_keep_cf(c); }
static uint32_t tr_carry(struct cpu *c) { return flags_cf(c); }

static void gen_call_helper(struct x64buf *b, const void *fn)
{
    x64_mov_rr64(b, X_RDI, X_RBX);
    x64_mov_imm64(b, X_RAX, (uint64_t)(uintptr_t)fn);
    x64_call_reg(b, X_RAX);
}

/* CF of the lazy record into EFLAGS before an INC/DEC record replaces it: inline when the
 * producer is known, else through tr_keep_cf(). */
static void gen_keep_cf(struct x64buf *b, enum flags_src fs)
{
    switch (fs) {
    case FS_ADD:
    case FS_SUB:
        x64_load32(b, X_RCX, X_RBX, CPU_OFF(eflags));
        x64_alu_ri32(b, XA_AND, X_RCX, ~FL_CF);
        x64_load32(b, X_RAX, X_RBX, CPU_OFF(lf_a));
        x64_alu_rm32(b, fs == FS_ADD ? XA_ADD : XA_CMP, X_RAX, X_RBX, CPU_OFF(lf_b));
        x64_alu_ri32(b, XA_ADC, X_RCX, 0); /* CF of the recorded operation */
        x64_store32(b, X_RBX, CPU_OFF(eflags), X_RCX);
        break;
    case FS_LOGIC:
        x64_load32(b, X_RCX, X_RBX, CPU_OFF(eflags));
        x64_alu_ri32(b, XA_AND, X_RCX, ~FL_CF);
        x64_store32(b, X_RBX, CPU_OFF(eflags), X_RCX);
        break;
    case FS_INCDEC:
    case FS_EAGER:
        break; /* CF is in EFLAGS already */
    default:
        gen_call_helper(b, (const void *)tr_keep_cf);
        break;
    }
}

/* INC/DEC r32. Its lazy record keeps CF in EFLAGS, so CF of the record before it is stored
 * there first, as flags_keep_cf() does. */
static bool gen_incdec(struct x64buf *b, const struct insn *i, bool flags_dead,
                       enum flags_src fs)
{
    if ((i->op != OP_INC && i->op != OP_DEC) || i->osize != 4 || i->form != FORM_E ||
        (i->flags & INSN_F_MEM))
        return false;
    const bool inc = i->op == OP_INC;
    if (flags_dead) {
        x64_load32(b, X_RAX, X_RBX, REG_OFF(i->rm));
        x64_alu_ri32(b, inc ? XA_ADD : XA_SUB, X_RAX, 1);
        x64_store32(b, X_RBX, REG_OFF(i->rm), X_RAX);
        return true;
    }
    gen_keep_cf(b, fs);
    x64_load32(b, X_RAX, X_RBX, REG_OFF(i->rm));
    x64_store32(b, X_RBX, CPU_OFF(lf_a), X_RAX);
    x64_store32_imm(b, X_RBX, CPU_OFF(lf_b), 1);
    x64_alu_ri32(b, inc ? XA_ADD : XA_SUB, X_RAX, 1);
    x64_store32(b, X_RBX, CPU_OFF(lf_res), X_RAX);
    x64_store32_imm(b, X_RBX, CPU_OFF(lf_op), LF32(inc ? LF_INC : LF_DEC));
    x64_store32(b, X_RBX, REG_OFF(i->rm), X_RAX);
    return true;
}

/* Whether `next` replaces all six arithmetic flags without reading them and cannot fault, so
 * the flags of the instruction before it are dead: nothing, not even a fault, can see them. */
static bool overwrites_flags(const struct insn *next)
{
    if (!reg_form32(next))
        return false;
    switch (next->op) {
    case OP_ADD: case OP_SUB: case OP_CMP: case OP_AND: case OP_TEST: case OP_OR: case OP_XOR:
        return next->form == FORM_EG || next->form == FORM_GE || next->form == FORM_EI;
    case OP_SHL: case OP_SAL: case OP_SHR: case OP_SAR:
        return next->form == FORM_EI && (next->imm & 31) != 0; /* inline, eager flags */
    default:
        return false;
    }
}

/* Generated inline, cannot fault, and neither reads nor writes the flags. */
static bool flags_transparent(const struct insn *i)
{
    if (i->flags & INSN_F_MEM)
        return false;
    switch (i->op) {
    case OP_NOP: return true;
    case OP_MOV: return reg_form32(i) && (i->form == FORM_EG || i->form == FORM_GE || i->form == FORM_EI);
    case OP_LEA: return i->osize == 4 && i->asize == 4;
    default: return false;
    }
}

/* Whether the flags instruction k of `blk` produces are dead: an instruction after it
 * replaces all six (see overwrites_flags()) with only flag-transparent ones in between, so
 * nothing -- no fault, no exit, no reader -- sees them. */
static bool flags_dead_after(const struct iblock *blk, uint32_t k)
{
    for (uint32_t j = k + 1; j < blk->n; j++) {
        const struct insn *n = &blk->ins[j].insn;
        if (overwrites_flags(n))
            return true;
        if (!flags_transparent(n))
            return false;
    }
    return false;
}

/* LEA r32 with a 32-bit address: the sum wraps at 32 bits; no memory is touched. */
static bool gen_lea(struct x64buf *b, const struct insn *i)
{
    if (i->osize != 4 || i->asize != 4)
        return false;
    int base = -1, index = -1;
    if (i->base != INSN_NO_REG) {
        x64_load32(b, X_RAX, X_RBX, REG_OFF(i->base));
        base = X_RAX;
    }
    if (i->index != INSN_NO_REG) {
        x64_load32(b, X_RCX, X_RBX, REG_OFF(i->index));
        index = X_RCX;
    }
    x64_lea32(b, X_RDX, base, index, i->scale, i->disp);
    x64_store32(b, X_RBX, REG_OFF(i->reg), X_RDX);
    return true;
}

/* SHL/SHR/SAR on a register, flags as cpu/exec_shift.c computes them eagerly: CF, SF, ZF, PF
 * from the host's shift, AF 0, OF by the count-1 formula for every count, and no lazy record
 * afterwards. A count of 0 does nothing at all. Forms: 32-bit by an immediate or by CL (the
 * count known only when it runs), 8-bit by an immediate 1..7 (counts up to the operand size,
 * for which the host's CF is the architectural one). */
static bool gen_shift(struct x64buf *b, const struct insn *i)
{
    if (i->op != OP_SHL && i->op != OP_SAL && i->op != OP_SHR && i->op != OP_SAR)
        return false;
    if (i->flags & INSN_F_MEM)
        return false;
    const unsigned sz = i->osize;
    const bool by_cl = i->form == FORM_ECL;
    const uint8_t n = i->imm & 31;
    if (by_cl ? sz != 4 : i->form != FORM_EI || (sz != 4 && (sz != 1 || n > 7)))
        return false;
    if (!by_cl && n == 0)
        return true;
    const unsigned ext = i->op == OP_SHR ? 5 : i->op == OP_SAR ? 7 : 4;
    size_t zero_count = 0;
    if (by_cl) {
        x64_load32(b, X_RCX, X_RBX, REG_OFF(R_ECX));
        x64_alu_ri32(b, XA_AND, X_RCX, 31);
        zero_count = x64_jcc32(b, XC_E);
    }
    const int32_t dst = sz == 4 ? REG_OFF(i->rm) : greg_off(i->rm, 1);
    if (sz == 4)
        x64_load32(b, X_RAX, X_RBX, dst);
    else
        x64_load8zx(b, X_RAX, X_RBX, dst);
    x64_mov_rr32(b, X_RDX, X_RAX); /* the operand, for SHR's OF */
    if (by_cl)
        x64_shift_cl32(b, ext, X_RAX);
    else if (sz == 1)
        x64_shift_al_imm(b, ext, n);
    else if (ext == 5)
        x64_shr_ri32(b, X_RAX, n);
    else if (ext == 7)
        x64_sar_ri32(b, X_RAX, n);
    else
        x64_shl_ri32(b, X_RAX, n);
    if (sz == 4) /* MOV keeps the host flags */
        x64_store32(b, X_RBX, dst, X_RAX);
    else
        x64_store8(b, X_RBX, dst, X_RAX);
    x64_lahf_to_ecx(b);
    x64_alu_ri32(b, XA_AND, X_RCX, FL_SF | FL_ZF | FL_PF | FL_CF);
    const uint8_t top = (uint8_t)(sz * 8 - 1);
    if (ext == 4) { /* OF = top bit of the result ^ CF (8-bit: EAX holds the byte alone) */
        x64_mov_rr32(b, X_RDX, X_RAX);
        if (sz == 1)
            x64_alu_ri32(b, XA_AND, X_RDX, 0xFF);
        x64_shr_ri32(b, X_RDX, top);
        x64_mov_rr32(b, X_RAX, X_RCX);
        x64_alu_ri32(b, XA_AND, X_RAX, FL_CF);
        x64_alu_rr32(b, XA_XOR, X_RDX, X_RAX);
        x64_shl_ri32(b, X_RDX, 11);
        x64_alu_rr32(b, XA_OR, X_RCX, X_RDX);
    } else if (ext == 5) { /* OF = top bit of the operand */
        x64_shr_ri32(b, X_RDX, top);
        x64_shl_ri32(b, X_RDX, 11);
        x64_alu_rr32(b, XA_OR, X_RCX, X_RDX);
    }
    x64_load32(b, X_RAX, X_RBX, CPU_OFF(eflags));
    x64_alu_ri32(b, XA_AND, X_RAX, ~FL_ARITH);
    x64_alu_rr32(b, XA_OR, X_RAX, X_RCX);
    x64_store32(b, X_RBX, CPU_OFF(eflags), X_RAX);
    x64_store32_imm(b, X_RBX, CPU_OFF(lf_op), LF_NONE);
    if (by_cl)
        x64_patch_here(b, zero_count);
    return true;
}

/* NOT r32: no flags. */
static bool gen_not(struct x64buf *b, const struct insn *i)
{
    if (i->op != OP_NOT || !reg_form32(i) || i->form != FORM_E)
        return false;
    x64_load32(b, X_RAX, X_RBX, REG_OFF(i->rm));
    x64_alu_ri32(b, XA_XOR, X_RAX, 0xFFFFFFFFu);
    x64_store32(b, X_RBX, REG_OFF(i->rm), X_RAX);
    return true;
}

/* Emit `i` inline if it has an inline form; false: it needs its handler. */
static bool gen_inline(struct x64buf *b, const struct insn *i, bool flags_dead)
{
    if (gen_not(b, i))
        return true;
    switch (i->op) {
    case OP_NOP: return true;
    case OP_MOV: return gen_mov(b, i);
    case OP_LEA: return gen_lea(b, i);
    case OP_SHL: case OP_SAL: case OP_SHR: case OP_SAR: return gen_shift(b, i);
    default: return gen_alu(b, i, flags_dead);
    }
}

/* ---- handler calls ---- */

/* Register-only operations that cannot fault, read no memory and look at neither EIP nor the
 * instruction count: their handlers are called without the precise-fault bookkeeping. */
static bool pure_register_op(const struct insn *i)
{
    if (i->flags & INSN_F_MEM)
        return false;
    switch (i->op) {
    case OP_ADD: case OP_OR: case OP_ADC: case OP_SBB: case OP_AND: case OP_SUB: case OP_XOR:
    case OP_CMP: case OP_TEST: case OP_ROL: case OP_ROR: case OP_RCL: case OP_RCR: case OP_SHL:
    case OP_SHR: case OP_SAL: case OP_SAR: case OP_SHLD: case OP_SHRD: case OP_INC: case OP_DEC:
    case OP_NOT: case OP_NEG: case OP_MUL: case OP_IMUL1: case OP_IMUL: case OP_IMUL3:
    case OP_DAA: case OP_DAS: case OP_AAA: case OP_AAS: case OP_SALC: case OP_BT: case OP_BTS:
    case OP_BTR: case OP_BTC: case OP_BSF: case OP_BSR: case OP_BSWAP: case OP_MOV: case OP_MOVZX:
    case OP_MOVSX: case OP_LEA: case OP_XCHG: case OP_CMPXCHG: case OP_XADD: case OP_CMOV:
    case OP_SETCC: case OP_CBW: case OP_CWD: case OP_SAHF: case OP_LAHF: case OP_CLC: case OP_STC:
    case OP_CMC: case OP_CLD: case OP_STD:
        return true;
    default:
        return false;
    }
}

static void gen_call_pure(struct x64buf *b, const struct iblock_insn *bi)
{
    x64_mov_rr64(b, X_RDI, X_RBX);
    x64_mov_imm64(b, X_RSI, (uint64_t)(uintptr_t)&bi->insn);
    x64_mov_imm64(b, X_RAX, (uint64_t)(uintptr_t)bi->fn);
    x64_call_reg(b, X_RAX);
}

static void gen_sync_icount(struct x64buf *b, unsigned *pending)
{
    if (*pending) {
        x64_add_m64_imm8(b, X_RBX, CPU_OFF(icount), (int8_t)*pending);
        *pending = 0;
    }
}

static void gen_call_handler(struct x64buf *b, const struct iblock_insn *bi, uint32_t eip,
                             unsigned *pending)
{
    const uint32_t next = eip + bi->insn.len;
    x64_store32_imm(b, X_RBX, CPU_OFF(insn_eip), eip);
    x64_load32(b, X_RAX, X_RBX, REG_OFF(R_ESP));
    x64_store32(b, X_RBX, CPU_OFF(insn_esp), X_RAX);
    x64_store32_imm(b, X_RBX, CPU_OFF(eip), next);
    gen_sync_icount(b, pending);
    x64_mov_rr64(b, X_RDI, X_RBX);
    x64_mov_imm64(b, X_RSI, (uint64_t)(uintptr_t)&bi->insn);
    x64_mov_imm64(b, X_RAX, (uint64_t)(uintptr_t)bi->fn);
    x64_call_reg(b, X_RAX);
    x64_add_m64_imm8(b, X_RBX, CPU_OFF(icount), 1);
}

/* ---- memory operands inline ----
 *
 * 32-bit loads and stores with a 32-bit address: the segment check of seg_linear() (rights,
 * range, wrap), the alignment-check flag, then the TLB tag compare and a page-crossing test,
 * as lin_read_priv()/lin_write_priv() do; a hit is one host load or store. Anything else jumps
 * out of line to a stub that calls the instruction's handler, which takes the slow path and
 * raises the fault if there is one. */

#define SEG_OFF(s, field) (CPU_OFF(seg) + (int32_t)((s) * sizeof(struct seg) + offsetof(struct seg, field)))
_Static_assert(sizeof(struct tlb_entry) == 32, "the TLB index is scaled by a shift");

#define MAX_SLOW_JUMPS 12 /* CALL: CS limit, 16-bit stack, and the 7 checks of an access */
struct slow_path {
    size_t jumps[MAX_SLOW_JUMPS];
    unsigned njumps;
    size_t join;      /* where the inline path continues */
    const struct iblock_insn *bi;
    uint32_t eip;
    unsigned pending; /* instructions completed inline but not yet counted */
    uint8_t flat;     /* segments flat when translated (bit per SR_*): range checks skipped */
    bool store;       /* a store: after the handler, also check for self-modifying code */
    bool terminal;    /* the block's last instruction: after the handler, leave the block */
};

static void slow_jump(struct x64buf *b, struct slow_path *sp, enum x64_cc cc)
{
    if (sp->njumps < MAX_SLOW_JUMPS)
        sp->jumps[sp->njumps++] = x64_jcc32(b, cc);
    else
        b->overflow = true; /* more checks than MAX_SLOW_JUMPS: the block is not translated */
}

/* RCX = linear address of the E operand after the segment checks; RAX = TLB entry address. */
static void gen_checked_linear(struct x64buf *b, unsigned sr, unsigned kind, unsigned priv,
                               unsigned size, struct slow_path *sp);

static void gen_address(struct x64buf *b, const struct insn *i, unsigned kind, unsigned priv,
                        unsigned size, struct slow_path *sp)
{
    int base = -1, index = -1;
    if (i->base != INSN_NO_REG) {
        x64_load32(b, X_RAX, X_RBX, REG_OFF(i->base));
        base = X_RAX;
    }
    if (i->index != INSN_NO_REG) {
        x64_load32(b, X_RDX, X_RBX, REG_OFF(i->index));
        index = X_RDX;
    }
    x64_lea32(b, X_RCX, base, index, i->scale, i->disp);
    gen_checked_linear(b, i->seg, kind, priv, size, sp);
}

/* ECX = offset in segment `sr` -> RCX = host address, or a jump to the slow path. */
static void gen_checked_linear(struct x64buf *b, unsigned sr, unsigned kind, unsigned priv,
                               unsigned size, struct slow_path *sp)
{
    if (sp->flat & (1u << sr)) {
        /* Flat when translated, and still (SEGR_FLAT): only the offset's 4 GiB wrap. */
        x64_test_m8_imm(b, X_RBX, SEG_OFF(sr, rights), SEGR_FLAT);
        slow_jump(b, sp, XC_E);
        if (size > 1) {
            x64_alu_ri32(b, XA_CMP, X_RCX, (uint32_t)(0x100000000ull - size));
            slow_jump(b, sp, XC_A);
        }
    } else {
        x64_test_m8_imm(b, X_RBX, SEG_OFF(sr, rights),
                        kind == TLB_WRITE ? SEGR_WRITE : SEGR_READ);
        slow_jump(b, sp, XC_E);
        x64_alu_rm32(b, XA_CMP, X_RCX, X_RBX, SEG_OFF(sr, valid_lo));
        slow_jump(b, sp, XC_B);
        x64_lea32(b, X_RAX, X_RCX, -1, 0, (int32_t)size - 1); /* last byte */
        x64_alu_rr32(b, XA_CMP, X_RAX, X_RCX);
        slow_jump(b, sp, XC_B); /* wrapped */
        x64_alu_rm32(b, XA_CMP, X_RAX, X_RBX, SEG_OFF(sr, valid_hi));
        slow_jump(b, sp, XC_A);
        x64_alu_rm32(b, XA_ADD, X_RCX, X_RBX, SEG_OFF(sr, base));
    }
    /* A byte is never misaligned, and alignment checks apply at CPL 3 only. */
    if (size > 1 && priv) {
        x64_cmp_m32_imm(b, X_RBX, CPU_OFF(align_check), 0);
        slow_jump(b, sp, XC_NE);
    }
    /* TLB entry: tlb.e[priv][(lin >> 12) & (TLB_SIZE - 1)] */
    x64_mov_rr32(b, X_RAX, X_RCX);
    x64_shr_ri32(b, X_RAX, PAGE_SHIFT - 5); /* (lin >> 12 & (TLB_SIZE - 1)) << 5 */
    x64_alu_ri32(b, XA_AND, X_RAX, (TLB_SIZE - 1) << 5);
    x64_add_rr64(b, X_RAX, X_RBX);
    const int32_t e0 = CPU_OFF(tlb) + (int32_t)(offsetof(struct tlb, e) + priv * TLB_SIZE * sizeof(struct tlb_entry));
    /* The tag is compared with the page of the access's last byte: an access crossing into
     * the next page never matches (that page has the next index), so one compare does both. */
    x64_lea32(b, X_RDX, X_RCX, -1, 0, (int32_t)size - 1);
    x64_alu_ri32(b, XA_AND, X_RDX, PAGE_MASK);
    x64_alu_rm32(b, XA_CMP, X_RDX, X_RAX, e0 + (int32_t)(offsetof(struct tlb_entry, tag) + 4 * kind));
    slow_jump(b, sp, XC_NE);
    x64_add_rm64(b, X_RCX, X_RAX, e0 + (int32_t)offsetof(struct tlb_entry, addend));
}

/* IMUL r32, r32 and IMUL r32, r32, imm: without overflow the flags are those of a logic
 * result (SF/ZF/PF of the low half, CF = OF = AF = 0); an overflow goes to the handler,
 * which records CF = OF = 1. */
static bool gen_imul(struct x64buf *b, const struct insn *i, bool flags_dead,
                     struct slow_path *sp)
{
    if ((i->op != OP_IMUL && i->op != OP_IMUL3) || i->osize != 4 || i->form != FORM_GE ||
        (i->flags & INSN_F_MEM))
        return false;
    x64_load32(b, X_RAX, X_RBX, REG_OFF(i->rm));
    if (i->op == OP_IMUL) {
        x64_load32(b, X_RCX, X_RBX, REG_OFF(i->reg));
        x64_imul_rr32(b, X_RAX, X_RCX);
    } else {
        x64_imul_rri32(b, X_RAX, X_RAX, i->imm);
    }
    slow_jump(b, sp, XC_O);
    x64_store32(b, X_RBX, REG_OFF(i->reg), X_RAX);
    if (!flags_dead) {
        x64_store32(b, X_RBX, CPU_OFF(lf_res), X_RAX);
        x64_store32_imm(b, X_RBX, CPU_OFF(lf_op), LF32(LF_LOGIC));
    }
    return true;
}

/* ---- the stack: PUSH/POP r32, PUSH imm, CALL rel32, RET (32-bit stack only) ---- */

static void gen_stack32_check(struct x64buf *b, struct slow_path *sp)
{
    x64_cmp_m8_imm(b, X_RBX, CPU_OFF(stack32), 1);
    slow_jump(b, sp, XC_NE); /* a 16-bit stack: SP wraps at 64 KiB, the handler does it */
}

/* PUSH r32 / PUSH imm: the store first; ESP changes only once nothing can fault. */
static bool gen_push(struct x64buf *b, const struct insn *i, unsigned priv, struct slow_path *sp)
{
    if (i->op != OP_PUSH || i->osize != 4 || (i->flags & INSN_F_MEM))
        return false;
    if (i->form != FORM_E && i->form != FORM_I)
        return false;
    sp->store = true;
    gen_stack32_check(b, sp);
    x64_load32(b, X_RCX, X_RBX, REG_OFF(R_ESP));
    x64_alu_ri32(b, XA_SUB, X_RCX, 4);
    gen_checked_linear(b, SR_SS, TLB_WRITE, priv, 4, sp);
    if (i->form == FORM_I) {
        x64_store32_imm(b, X_RCX, 0, i->imm);
    } else {
        x64_load32(b, X_RAX, X_RBX, REG_OFF(i->rm)); /* PUSH ESP: the old value */
        x64_store32(b, X_RCX, 0, X_RAX);
    }
    x64_load32(b, X_RAX, X_RBX, REG_OFF(R_ESP));
    x64_alu_ri32(b, XA_SUB, X_RAX, 4);
    x64_store32(b, X_RBX, REG_OFF(R_ESP), X_RAX);
    return true;
}

/* POP r32: ESP is incremented before the register is written (POP ESP keeps the value). */
static bool gen_pop(struct x64buf *b, const struct insn *i, unsigned priv, struct slow_path *sp)
{
    if (i->op != OP_POP || i->osize != 4 || (i->flags & INSN_F_MEM) || i->form != FORM_E)
        return false;
    gen_stack32_check(b, sp);
    x64_load32(b, X_RCX, X_RBX, REG_OFF(R_ESP));
    gen_checked_linear(b, SR_SS, TLB_READ, priv, 4, sp);
    x64_load32(b, X_RDX, X_RCX, 0);
    x64_load32(b, X_RAX, X_RBX, REG_OFF(R_ESP));
    x64_alu_ri32(b, XA_ADD, X_RAX, 4);
    x64_store32(b, X_RBX, REG_OFF(R_ESP), X_RAX);
    x64_store32(b, X_RBX, REG_OFF(i->rm), X_RDX);
    return true;
}

static bool mem32(const struct insn *i)
{
    return (i->flags & INSN_F_MEM) && i->osize == 4 && i->asize == 4;
}

static void gen_alu_flags_and_result(struct x64buf *b, enum x64_alu hop, unsigned kind)
{
    /* EAX = a, ECX = b */
    x64_store32(b, X_RBX, CPU_OFF(lf_a), X_RAX);
    x64_store32(b, X_RBX, CPU_OFF(lf_b), X_RCX);
    x64_alu_rr32(b, hop, X_RAX, X_RCX);
    x64_store32(b, X_RBX, CPU_OFF(lf_res), X_RAX);
    x64_store32_imm(b, X_RBX, CPU_OFF(lf_op), LF32(kind));
}

static bool alu_kind(unsigned op, enum x64_alu *hop, unsigned *kind, bool *writes)
{
    *writes = true;
    switch (op) {
    case OP_ADD: *hop = XA_ADD; *kind = LF_ADD; return true;
    case OP_SUB: *hop = XA_SUB; *kind = LF_SUB; return true;
    case OP_CMP: *hop = XA_SUB; *kind = LF_SUB; *writes = false; return true;
    case OP_AND: *hop = XA_AND; *kind = LF_LOGIC; return true;
    case OP_TEST: *hop = XA_AND; *kind = LF_LOGIC; *writes = false; return true;
    case OP_OR: *hop = XA_OR; *kind = LF_LOGIC; return true;
    case OP_XOR: *hop = XA_XOR; *kind = LF_LOGIC; return true;
    default: return false;
    }
}

/* Narrow register moves and the widening moves (MOVZX/MOVSX), register and memory sources,
 * and 8/16-bit MOV loads and stores. */
static bool gen_narrow(struct x64buf *b, const struct insn *i, unsigned priv, struct slow_path *sp)
{
    const bool mem = i->flags & INSN_F_MEM;
    if (mem && i->asize != 4)
        return false;
    if (i->op == OP_MOVZX || i->op == OP_MOVSX) {
        if (i->osize != 4 && i->osize != 2)
            return false;
        const unsigned ss = i->ssize;
        const bool zx = i->op == OP_MOVZX;
        enum x64_reg from = X_RBX;
        int32_t off;
        if (mem) {
            gen_address(b, i, TLB_READ, priv, ss, sp);
            from = X_RCX;
            off = 0;
        } else {
            off = greg_off(i->rm, ss);
        }
        if (ss == 1)
            (zx ? x64_load8zx : x64_load8sx)(b, X_RAX, from, off);
        else
            (zx ? x64_load16zx : x64_load16sx)(b, X_RAX, from, off);
        if (i->osize == 4)
            x64_store32(b, X_RBX, REG_OFF(i->reg), X_RAX);
        else
            x64_store16(b, X_RBX, REG_OFF(i->reg), X_RAX);
        return true;
    }
    if (i->op != OP_MOV || (i->osize != 1 && i->osize != 2))
        return false;
    const unsigned sz = i->osize;
    if (i->form == FORM_EI) {
        enum x64_reg base = X_RBX;
        int32_t off = greg_off(i->rm, sz);
        if (mem) {
            sp->store = true;
            gen_address(b, i, TLB_WRITE, priv, sz, sp);
            base = X_RCX;
            off = 0;
        }
        if (sz == 1)
            x64_store8_imm(b, base, off, (uint8_t)i->imm);
        else
            x64_store16_imm(b, base, off, (uint16_t)i->imm);
        return true;
    }
    if (i->form != FORM_EG && i->form != FORM_GE)
        return false;
    const bool to_e = i->form == FORM_EG;
    if (!mem) { /* register to register: source into AL/AX */
        unsigned src = to_e ? i->reg : i->rm;
        if (sz == 1)
            x64_load8zx(b, X_RAX, X_RBX, greg_off(src, 1));
        else
            x64_load16zx(b, X_RAX, X_RBX, REG_OFF(src));
    }
    if (mem) {
        if (to_e) {
            sp->store = true;
            gen_address(b, i, TLB_WRITE, priv, sz, sp);
            if (sz == 1)
                x64_load8zx(b, X_RAX, X_RBX, greg_off(i->reg, 1));
            else
                x64_load16zx(b, X_RAX, X_RBX, REG_OFF(i->reg));
            if (sz == 1)
                x64_store8(b, X_RCX, 0, X_RAX);
            else
                x64_store16(b, X_RCX, 0, X_RAX);
            return true;
        }
        gen_address(b, i, TLB_READ, priv, sz, sp);
        if (sz == 1)
            x64_load8zx(b, X_RAX, X_RCX, 0);
        else
            x64_load16zx(b, X_RAX, X_RCX, 0);
    }
    unsigned dst = to_e ? i->rm : i->reg;
    if (sz == 1)
        x64_store8(b, X_RBX, greg_off(dst, 1), X_RAX);
    else
        x64_store16(b, X_RBX, REG_OFF(dst), X_RAX);
    return true;
}

/* Inline forms with a memory operand: loads into a register (MOV, ALU), compares and tests of
 * memory, and register/immediate stores (MOV). False, with nothing emitted: use the handler. */
static bool gen_mem(struct x64buf *b, const struct insn *i, unsigned priv, struct slow_path *sp)
{
    if (!mem32(i) || (i->flags & INSN_F_LOCK))
        return false;
    enum x64_alu hop = XA_ADD;
    unsigned kind = 0;
    bool writes = false;
    if (i->op == OP_MOV && (i->form == FORM_EG || i->form == FORM_EI)) {
        sp->store = true;
        gen_address(b, i, TLB_WRITE, priv, 4, sp);
        if (i->form == FORM_EI) {
            x64_store32_imm(b, X_RCX, 0, i->imm);
        } else {
            x64_load32(b, X_RAX, X_RBX, REG_OFF(i->reg));
            x64_store32(b, X_RCX, 0, X_RAX);
        }
        return true;
    }
    if (i->op == OP_MOV && i->form == FORM_GE) {
        gen_address(b, i, TLB_READ, priv, 4, sp);
        x64_load32(b, X_RAX, X_RCX, 0);
        x64_store32(b, X_RBX, REG_OFF(i->reg), X_RAX);
        return true;
    }
    if (!alu_kind(i->op, &hop, &kind, &writes))
        return false;
    if (i->form == FORM_GE) { /* reg OP= mem */
        gen_address(b, i, TLB_READ, priv, 4, sp);
        x64_load32(b, X_RCX, X_RCX, 0);
        x64_load32(b, X_RAX, X_RBX, REG_OFF(i->reg));
        gen_alu_flags_and_result(b, hop, kind);
        if (writes)
            x64_store32(b, X_RBX, REG_OFF(i->reg), X_RAX);
        return true;
    }
    if (!writes && (i->form == FORM_EG || i->form == FORM_EI)) { /* CMP/TEST mem, reg/imm */
        gen_address(b, i, TLB_READ, priv, 4, sp);
        x64_load32(b, X_RAX, X_RCX, 0);
        if (i->form == FORM_EG)
            x64_load32(b, X_RCX, X_RBX, REG_OFF(i->reg));
        else
            x64_mov_imm64(b, X_RCX, i->imm);
        gen_alu_flags_and_result(b, hop, kind);
        return true;
    }
    return false;
}

/* Read-modify-write and carry-using 32-bit forms: ADD/SUB/AND/OR/XOR mem, reg/imm; ADC/SBB in
 * every form (carry-in from tr_carry(), kept in R8 across the address computation); INC/DEC
 * mem. Lazy records as the interpreter's alu32() and incdec_record() make them. */
static bool gen_rmw(struct x64buf *b, const struct insn *i, unsigned priv, enum flags_src fs,
                    struct slow_path *sp)
{
    if (i->osize != 4 || (i->flags & INSN_F_LOCK))
        return false;
    const bool mem = i->flags & INSN_F_MEM;
    if (mem && !mem32(i))
        return false;
    if (i->op == OP_INC || i->op == OP_DEC) {
        if (!mem || i->form != FORM_E)
            return false;
        const bool inc = i->op == OP_INC;
        gen_keep_cf(b, fs);
        sp->store = true;
        gen_address(b, i, TLB_WRITE, priv, 4, sp);
        x64_load32(b, X_RAX, X_RCX, 0);
        x64_store32(b, X_RBX, CPU_OFF(lf_a), X_RAX);
        x64_store32_imm(b, X_RBX, CPU_OFF(lf_b), 1);
        x64_alu_ri32(b, inc ? XA_ADD : XA_SUB, X_RAX, 1);
        x64_store32(b, X_RBX, CPU_OFF(lf_res), X_RAX);
        x64_store32_imm(b, X_RBX, CPU_OFF(lf_op), LF32(inc ? LF_INC : LF_DEC));
        x64_store32(b, X_RCX, 0, X_RAX);
        return true;
    }
    enum x64_alu hop;
    unsigned kind;
    bool writes;
    const bool carry = i->op == OP_ADC || i->op == OP_SBB;
    if (carry) {
        hop = i->op == OP_ADC ? XA_ADC : XA_SBB;
        kind = i->op == OP_ADC ? LF_ADD : LF_SUB;
        writes = true;
    } else if (!mem || !alu_kind(i->op, &hop, &kind, &writes) || !writes) {
        return false; /* register forms and CMP/TEST mem: gen_alu() and gen_mem() */
    }
    if (i->form != FORM_EG && i->form != FORM_GE && i->form != FORM_EI)
        return false;
    if (carry) {
        gen_call_helper(b, (const void *)tr_carry);
        x64_mov_rr32(b, X_R8, X_RAX);
    }
    /* EAX = first operand (the destination), EDX = second; RCX = host address if memory. */
    const bool dst_mem = mem && i->form != FORM_GE;
    if (mem) {
        if (dst_mem)
            sp->store = true;
        gen_address(b, i, dst_mem ? TLB_WRITE : TLB_READ, priv, 4, sp);
    }
    const unsigned dst_reg = i->form == FORM_GE ? i->reg : i->rm;
    if (dst_mem)
        x64_load32(b, X_RAX, X_RCX, 0);
    else
        x64_load32(b, X_RAX, X_RBX, REG_OFF(dst_reg));
    if (i->form == FORM_EI)
        x64_mov_imm64(b, X_RDX, i->imm);
    else if (i->form == FORM_GE && mem)
        x64_load32(b, X_RDX, X_RCX, 0);
    else
        x64_load32(b, X_RDX, X_RBX, REG_OFF(i->form == FORM_GE ? i->rm : i->reg));
    x64_store32(b, X_RBX, CPU_OFF(lf_a), X_RAX);
    x64_store32(b, X_RBX, CPU_OFF(lf_b), X_RDX);
    if (carry)
        x64_alu_ri32(b, XA_ADD, X_R8, 0xFFFFFFFFu); /* host CF = the guest's carry-in */
    x64_alu_rr32(b, hop, X_RAX, X_RDX);
    x64_store32(b, X_RBX, CPU_OFF(lf_res), X_RAX);
    x64_store32_imm(b, X_RBX, CPU_OFF(lf_op), LF32(kind));
    if (dst_mem)
        x64_store32(b, X_RCX, 0, X_RAX);
    else
        x64_store32(b, X_RBX, REG_OFF(dst_reg), X_RAX);
    return true;
}

/* 8-bit ADD/SUB/CMP/AND/OR/XOR/TEST, register and memory forms (32-bit addresses): the
 * lazy record of an 8-bit operation (operands and result truncated to a byte). */
static bool gen_alu8(struct x64buf *b, const struct insn *i, unsigned priv, struct slow_path *sp)
{
    enum x64_alu hop;
    unsigned kind;
    bool writes;
    if (i->osize != 1 || (i->flags & INSN_F_LOCK) || !alu_kind(i->op, &hop, &kind, &writes))
        return false;
    if (i->form != FORM_EG && i->form != FORM_GE && i->form != FORM_EI)
        return false;
    const bool mem = i->flags & INSN_F_MEM;
    if (mem && i->asize != 4)
        return false;
    const bool dst_mem = mem && i->form != FORM_GE;
    if (mem) {
        if (dst_mem && writes)
            sp->store = true;
        gen_address(b, i, dst_mem && writes ? TLB_WRITE : TLB_READ, priv, 1, sp);
    }
    if (dst_mem)
        x64_load8zx(b, X_RAX, X_RCX, 0);
    else
        x64_load8zx(b, X_RAX, X_RBX, greg_off(i->form == FORM_GE ? i->reg : i->rm, 1));
    if (i->form == FORM_EI)
        x64_mov_imm64(b, X_RDX, i->imm & 0xFF);
    else if (i->form == FORM_GE && mem)
        x64_load8zx(b, X_RDX, X_RCX, 0);
    else
        x64_load8zx(b, X_RDX, X_RBX, greg_off(i->form == FORM_GE ? i->rm : i->reg, 1));
    x64_store32(b, X_RBX, CPU_OFF(lf_a), X_RAX);
    x64_store32(b, X_RBX, CPU_OFF(lf_b), X_RDX);
    x64_alu_rr32(b, hop, X_RAX, X_RDX);
    if (kind != LF_LOGIC)
        x64_alu_ri32(b, XA_AND, X_RAX, 0xFF);
    x64_store32(b, X_RBX, CPU_OFF(lf_res), X_RAX);
    x64_store32_imm(b, X_RBX, CPU_OFF(lf_op), kind << 2 | lf_size_index(1));
    if (writes) {
        if (dst_mem)
            x64_store8(b, X_RCX, 0, X_RAX);
        else
            x64_store8(b, X_RBX, greg_off(i->form == FORM_GE ? i->reg : i->rm, 1), X_RAX);
    }
    return true;
}

#define MAX_EXITS (IBLOCK_MAX_INSNS * 3)

/* What the lazy-flags record holds at a point of a block, when the translator knows it: the
 * last flag-setting instruction was an inline 32-bit ALU operation (its slow-path handler
 * records the same kind), so a Jcc can redo that operation on the host and branch on the
 * host's own flags, which are the guest's for these operations. */
static enum flags_src flags_after_inline(const struct insn *i, enum flags_src before)
{
    if (i->op == OP_SHL || i->op == OP_SAL || i->op == OP_SHR || i->op == OP_SAR) {
        if (i->form == FORM_ECL)
            return FS_UNKNOWN; /* eager, or untouched when CL is 0 */
        return (i->imm & 31) ? FS_EAGER : before;
    }
    if (i->op == OP_INC || i->op == OP_DEC)
        return FS_INCDEC;
    if (i->op == OP_IMUL || i->op == OP_IMUL3)
        return FS_UNKNOWN; /* a logic record inline, the handler's eager flags on overflow */
    if (i->op == OP_ADC || i->op == OP_SBB)
        return FS_UNKNOWN; /* an ADD/SUB record whose result includes the carry-in */
    enum x64_alu hop;
    unsigned kind;
    bool writes;
    if (!alu_kind(i->op, &hop, &kind, &writes))
        return before; /* MOV, LEA, NOP, MOVZX/MOVSX, NOT: flags untouched */
    if (i->osize != 4)
        return FS_UNKNOWN; /* an 8-bit record: Jcc asks cpu_cond() */
    return kind == LF_ADD ? FS_ADD : kind == LF_SUB ? FS_SUB : FS_LOGIC;
}

/* Jcc rel (32-bit operand size) after a known flag producer. Taken: EIP = target and the
 * block ends (through `exits`); the CS limit check goes to the handler's slow path, which
 * raises the #GP. Not taken: the block goes on. */
static void gen_static_exit(struct x64buf *b, uint32_t target, uint32_t lin_base,
                            unsigned pending, uintptr_t exec_base, size_t *exits,
                            unsigned *nexits);

/* Host code that branches when condition `cond` (0..15, as Jcc) is false: returns the jump
 * to patch. With a known inline producer the host redoes the operation from the lazy record
 * and uses its own flags (after INC/DEC the result alone gives ZF, SF and PF); otherwise
 * cpu_cond() decides (it cannot fault: no fault bookkeeping). Clobbers the scratch registers. */
static size_t gen_cond_false_jump(struct x64buf *b, enum flags_src fs, unsigned cond)
{
    if (fs == FS_UNKNOWN || fs == FS_EAGER ||
        (fs == FS_INCDEC && (cond >> 1) != 2 && (cond >> 1) != 4 && (cond >> 1) != 5)) {
        x64_mov_rr64(b, X_RDI, X_RBX);
        x64_mov_imm64(b, X_RSI, cond);
        x64_mov_imm64(b, X_RAX, (uint64_t)(uintptr_t)cpu_cond);
        x64_call_reg(b, X_RAX);
        x64_test_al(b);
        return x64_jcc32(b, XC_E);
    }
    if (fs == FS_LOGIC || fs == FS_INCDEC) {
        x64_load32(b, X_RAX, X_RBX, CPU_OFF(lf_res));
        x64_test_rr32(b, X_RAX, X_RAX);
    } else {
        x64_load32(b, X_RAX, X_RBX, CPU_OFF(lf_a));
        x64_alu_rm32(b, fs == FS_ADD ? XA_ADD : XA_CMP, X_RAX, X_RBX, CPU_OFF(lf_b));
    }
    return x64_jcc32(b, (enum x64_cc)(cond ^ 1));
}

static bool gen_jcc(struct x64buf *b, const struct insn *i, uint32_t eip, enum flags_src fs,
                    bool last, unsigned pending, size_t *exits, unsigned *nexits,
                    struct slow_path *sp, uint32_t lin_base, uintptr_t exec_base)
{
    if (i->op != OP_JCC || i->osize != 4)
        return false;
    const uint32_t target = eip + i->len + (uint32_t)i->disp;
    /* A branch to the next instruction changes nothing, and the block goes on either way as
     * the interpreter's does (that instruction is in the block, so within the CS limit). */
    if (target == eip + i->len && !last)
        return true;
    size_t not_taken = gen_cond_false_jump(b, fs, i->cond);
    x64_cmp_m32_imm(b, X_RBX, SEG_OFF(SR_CS, limit), target);
    slow_jump(b, sp, XC_B); /* limit < target: #GP(0) from the handler */
    gen_static_exit(b, target, lin_base, pending + 1, exec_base, exits, nexits);
    x64_patch_here(b, not_taken);
    return true;
}

/* CMOVcc r32, r32 and SETcc r8: the condition as for Jcc, then a register move. */
static bool gen_cmov_setcc(struct x64buf *b, const struct insn *i, enum flags_src fs)
{
    if (i->flags & INSN_F_MEM)
        return false;
    if (i->op == OP_CMOV && i->osize == 4 && i->form == FORM_GE) {
        size_t skip = gen_cond_false_jump(b, fs, i->cond);
        x64_load32(b, X_RAX, X_RBX, REG_OFF(i->rm));
        x64_store32(b, X_RBX, REG_OFF(i->reg), X_RAX);
        x64_patch_here(b, skip);
        return true;
    }
    if (i->op == OP_SETCC && i->form == FORM_E) {
        size_t skip = gen_cond_false_jump(b, fs, i->cond);
        x64_store8_imm(b, X_RBX, greg_off(i->rm, 1), 1);
        size_t done = x64_jmp32(b);
        x64_patch_here(b, skip);
        x64_store8_imm(b, X_RBX, greg_off(i->rm, 1), 0);
        x64_patch_here(b, done);
        return true;
    }
    return false;
}

/* CALL rel32: CS limit check of the target first, as the SDM orders it, then the push; a
 * static exit to the target. */
static bool gen_call(struct x64buf *b, const struct insn *i, uint32_t eip, unsigned priv,
                     unsigned pending, size_t *exits, unsigned *nexits, struct slow_path *sp,
                     uint32_t lin_base, uintptr_t exec_base)
{
    if (i->op != OP_CALL || i->osize != 4)
        return false;
    const uint32_t next = eip + i->len, target = next + (uint32_t)i->disp;
    sp->store = true;
    x64_cmp_m32_imm(b, X_RBX, SEG_OFF(SR_CS, limit), target);
    slow_jump(b, sp, XC_B);
    gen_stack32_check(b, sp);
    x64_load32(b, X_RCX, X_RBX, REG_OFF(R_ESP));
    x64_alu_ri32(b, XA_SUB, X_RCX, 4);
    gen_checked_linear(b, SR_SS, TLB_WRITE, priv, 4, sp);
    x64_store32_imm(b, X_RCX, 0, next);
    x64_load32(b, X_RAX, X_RBX, REG_OFF(R_ESP));
    x64_alu_ri32(b, XA_SUB, X_RAX, 4);
    x64_store32(b, X_RBX, REG_OFF(R_ESP), X_RAX);
    gen_static_exit(b, target, lin_base, pending + 1, exec_base, exits, nexits);
    return true;
}

/* RET / RET imm16 (near, 32-bit): the popped target is checked against the CS limit before
 * anything changes; a dynamic exit. */
/* An exit to the EIP in EDX (stored and counted already): when the block table holds a
 * current translation for it, jump to that block's chain entry, which checks everything else
 * the run loop would; otherwise leave through the epilogue. `cache_gen` is the code cache's
 * generation, current while this code runs. */
static void gen_indirect_exit(struct x64buf *b, const struct cpu *c, uint32_t lin_base,
                              uint32_t cache_gen, size_t *exits, unsigned *nexits)
{
    x64_lea32(b, X_RCX, X_RDX, -1, 0, (int32_t)lin_base); /* linear address */
    x64_mov_rr32(b, X_RAX, X_RCX);                          /* iblock_slot_of() */
    x64_shr_ri32(b, X_RAX, IBLOCK_BITS);
    x64_alu_rr32(b, XA_XOR, X_RAX, X_RCX);
    x64_alu_ri32(b, XA_AND, X_RAX, IBLOCK_SIZE - 1);
    x64_shl_ri32(b, X_RAX, 6);
    x64_mov_imm64(b, X_RSI, (uint64_t)(uintptr_t)c->icache->blocks);
    x64_add_rr64(b, X_RAX, X_RSI);
    x64_alu_rm32(b, XA_CMP, X_RCX, X_RAX, (int32_t)offsetof(struct iblock, lin));
    exits[(*nexits)++] = x64_jcc32(b, XC_NE);
    x64_alu_rm32(b, XA_CMP, X_RDX, X_RAX, (int32_t)offsetof(struct iblock, host_eip));
    exits[(*nexits)++] = x64_jcc32(b, XC_NE);
    x64_cmp_m32_imm(b, X_RAX, (int32_t)offsetof(struct iblock, host_gen), cache_gen);
    exits[(*nexits)++] = x64_jcc32(b, XC_NE);
    x64_load64(b, X_RAX, X_RAX, (int32_t)offsetof(struct iblock, host));
    x64_add_ri64(b, X_RAX, CHAIN_ENTRY);
    x64_jmp_reg(b, X_RAX);
}

static bool gen_ret(struct x64buf *b, const struct insn *i, unsigned priv, unsigned pending,
                    size_t *exits, unsigned *nexits, struct slow_path *sp,
                    const struct cpu *c, uint32_t lin_base, uint32_t indirect_gen)
{
    if (i->op != OP_RET || i->osize != 4)
        return false;
    gen_stack32_check(b, sp);
    x64_load32(b, X_RCX, X_RBX, REG_OFF(R_ESP));
    gen_checked_linear(b, SR_SS, TLB_READ, priv, 4, sp);
    x64_load32(b, X_RDX, X_RCX, 0);
    x64_alu_rm32(b, XA_CMP, X_RDX, X_RBX, SEG_OFF(SR_CS, limit));
    slow_jump(b, sp, XC_A); /* beyond the limit: #GP(0) from the handler */
    x64_load32(b, X_RAX, X_RBX, REG_OFF(R_ESP));
    x64_alu_ri32(b, XA_ADD, X_RAX, 4 + (i->form == FORM_I ? (i->imm & 0xFFFF) : 0));
    x64_store32(b, X_RBX, REG_OFF(R_ESP), X_RAX);
    x64_store32(b, X_RBX, CPU_OFF(eip), X_RDX);
    x64_add_m64_imm8(b, X_RBX, CPU_OFF(icount), (int8_t)(pending + 1));
    if (indirect_gen)
        gen_indirect_exit(b, c, lin_base, indirect_gen, exits, nexits);
    else
        exits[(*nexits)++] = x64_jmp32(b);
    return true;
}

/* JMP rel with a 32-bit operand size: a static exit (the CS limit check as for Jcc). */
static bool gen_jmp(struct x64buf *b, const struct insn *i, uint32_t eip, unsigned pending,
                    size_t *exits, unsigned *nexits, struct slow_path *sp, uint32_t lin_base,
                    uintptr_t exec_base)
{
    if (i->op != OP_JMP || i->osize != 4)
        return false;
    const uint32_t target = eip + i->len + (uint32_t)i->disp;
    x64_cmp_m32_imm(b, X_RBX, SEG_OFF(SR_CS, limit), target);
    slow_jump(b, sp, XC_B);
    gen_static_exit(b, target, lin_base, pending + 1, exec_base, exits, nexits);
    return true;
}

/* The stub behind an inline memory access: the handler does the whole instruction (slow path
 * or fault). Afterwards the block goes on where the inline path would have, unless the
 * handler raised an event or wrote this block's code. */
static void gen_slow_stub(struct x64buf *b, const struct slow_path *sp, const uint32_t *pgen,
                          uint32_t gen, size_t epilogue)
{
    for (unsigned k = 0; k < sp->njumps; k++)
        x64_patch_here(b, sp->jumps[k]);
    unsigned pending = sp->pending;
    gen_call_handler(b, sp->bi, sp->eip, &pending); /* counts it: pending + 1 */
    if (sp->terminal) { /* the handler set EIP: the block ends here, counted */
        x64_patch_to(b, x64_jmp32(b), epilogue);
        return;
    }
    x64_cmp_m64_imm8(b, X_RBX, CPU_OFF(events), 0);
    x64_patch_to(b, x64_jcc32(b, XC_NE), epilogue);
    if (sp->store) {
        x64_mov_imm64(b, X_RAX, (uint64_t)(uintptr_t)pgen);
        x64_cmp_m32_imm(b, X_RAX, 0, gen);
        x64_patch_to(b, x64_jcc32(b, XC_NE), epilogue);
    }
    /* Back to the inline accounting: this instruction and those before it are counted again
     * at the next synchronisation point. */
    int back = -(int)sp->pending - 1;
    x64_add_m64_imm8(b, X_RBX, CPU_OFF(icount), (int8_t)back);
    x64_patch_to(b, x64_jmp32(b), sp->join);
}

/* Block layout: the entry from the run loop, then the chain entry (CHAIN_ENTRY bytes in),
 * which another block's exit jumps to once chained, then the body:
 *   entry:  push rbx; mov rbx, rdi; jmp body
 *   chain:  what the run loop would check before entering (events, budget, mode, the block
 *           still current and its code unwritten); any failure returns to the loop
 *   body:   ...; exits store EIP and return through the epilogue (pop rbx; ret).
 * A static exit (a known next EIP) records itself in cpu->chain_site/chain_lin before it
 * returns; when the run loop next enters the block at that address, it patches the exit's
 * jump to that block's chain entry (translator_chain()). */

static void gen_chain_entry(struct x64buf *b, const struct cpu *c, const struct iblock *blk,
                            uint32_t eip, uint32_t cache_gen, uintptr_t exec_base,
                            size_t *fails, unsigned *nfails)
{
    x64_cmp_m64_imm8(b, X_RBX, CPU_OFF(events), 0);
    fails[(*nfails)++] = x64_jcc32(b, XC_NE);
    x64_load64(b, X_RAX, X_RBX, CPU_OFF(icount));
    x64_add_ri64(b, X_RAX, (int32_t)blk->n);
    x64_cmp_rm64(b, X_RAX, X_RBX, CPU_OFF(icount_end));
    fails[(*nfails)++] = x64_jcc32(b, XC_A);
    x64_cmp_m8_imm(b, X_RBX, CPU_OFF(cpl), c->cpl);
    fails[(*nfails)++] = x64_jcc32(b, XC_NE);
    x64_cmp_m8_imm(b, X_RBX, CPU_OFF(code32), c->code32);
    fails[(*nfails)++] = x64_jcc32(b, XC_NE);
    x64_cmp_m32_imm(b, X_RBX, SEG_OFF(SR_CS, limit), eip + blk->span - 1);
    fails[(*nfails)++] = x64_jcc32(b, XC_B);
    /* The TLB still maps the block's page where it was (blocks outlive TLB flushes). */
    const int32_t te = CPU_OFF(tlb) +
                       (int32_t)(offsetof(struct tlb, e) +
                                 ((c->cpl == 3) * TLB_SIZE + tlb_index(blk->lin)) *
                                     sizeof(struct tlb_entry));
    x64_cmp_m32_imm(b, X_RBX, te + (int32_t)offsetof(struct tlb_entry, tag[TLB_EXEC]),
                    blk->lin & PAGE_MASK);
    fails[(*nfails)++] = x64_jcc32(b, XC_NE);
    x64_cmp_m32_imm(b, X_RBX, te + (int32_t)offsetof(struct tlb_entry, phys_page),
                    blk->ppage << PAGE_SHIFT);
    fails[(*nfails)++] = x64_jcc32(b, XC_NE);
    /* No change of the memory map or of the instruction breakpoints since (blocks end before
     * breakpoint addresses). */
    x64_mov_imm64(b, X_RAX, (uint64_t)(uintptr_t)&c->icache->map_epoch);
    x64_cmp_m32_imm(b, X_RAX, 0, blk->key >> 2);
    fails[(*nfails)++] = x64_jcc32(b, XC_NE);
    x64_mov_imm64(b, X_RAX, (uint64_t)(uintptr_t)blk);
    x64_cmp_m32_imm(b, X_RAX, (int32_t)offsetof(struct iblock, lin), blk->lin);
    fails[(*nfails)++] = x64_jcc32(b, XC_NE);
    x64_cmp_m32_imm(b, X_RAX, (int32_t)offsetof(struct iblock, key), blk->key);
    fails[(*nfails)++] = x64_jcc32(b, XC_NE);
    x64_cmp_m32_imm(b, X_RAX, (int32_t)offsetof(struct iblock, host_gen), cache_gen);
    fails[(*nfails)++] = x64_jcc32(b, XC_NE);
    x64_cmp_m32_imm(b, X_RAX, (int32_t)offsetof(struct iblock, host_eip), eip);
    fails[(*nfails)++] = x64_jcc32(b, XC_NE);
    x64_mov_imm64(b, X_RDX, exec_base);
    x64_cmp_rm64(b, X_RDX, X_RAX, (int32_t)offsetof(struct iblock, host));
    fails[(*nfails)++] = x64_jcc32(b, XC_NE);
    x64_mov_imm64(b, X_RAX, (uint64_t)(uintptr_t)&c->icache->page_gen[blk->ppage]);
    x64_cmp_m32_imm(b, X_RAX, 0, blk->gen);
    fails[(*nfails)++] = x64_jcc32(b, XC_NE);
}

/* An exit to a known EIP: store it, count, record the exit for chaining, leave. */
static void gen_static_exit(struct x64buf *b, uint32_t target, uint32_t lin_base,
                            unsigned pending, uintptr_t exec_base, size_t *exits,
                            unsigned *nexits)
{
    x64_store32_imm(b, X_RBX, CPU_OFF(eip), target);
    if (pending)
        x64_add_m64_imm8(b, X_RBX, CPU_OFF(icount), (int8_t)pending);
    size_t imm = x64_mov_imm64_patchable(b, X_RAX);
    x64_store64(b, X_RBX, CPU_OFF(chain_site), X_RAX);
    x64_store32_imm(b, X_RBX, CPU_OFF(chain_lin), lin_base + target);
    size_t site = x64_jmp32(b);
    exits[(*nexits)++] = site;
    x64_patch_u64(b, imm, (uint64_t)exec_base + site);
}

size_t translator_emit_block(const struct cpu *c, const struct iblock *blk, uint32_t eip,
                             uint8_t *w, size_t cap, unsigned *inlined_out)
{
    return translator_emit_chained(c, blk, eip, w, cap, inlined_out, 0, (uintptr_t)w, false);
}

size_t translator_emit_chained(const struct cpu *c, const struct iblock *blk, uint32_t eip,
                               uint8_t *w, size_t cap, unsigned *inlined_out,
                               uint32_t cache_gen, uintptr_t exec_base, bool indirect)
{
    /* Indirect exits look blocks up only in a real code cache (generation nonzero). */
    const uint32_t indirect_gen = indirect ? cache_gen : 0;
    struct x64buf b;
    x64_init(&b, w, cap);
    size_t exits[MAX_EXITS];
    unsigned nexits = 0;
    struct slow_path slows[IBLOCK_MAX_INSNS];
    unsigned nslows = 0;
    const uint32_t *pgen = &c->icache->page_gen[blk->ppage];
    const unsigned priv = c->cpl == 3;

    const uint32_t lin_base = blk->lin - eip; /* CS base */
    uint8_t flat = 0;
    for (unsigned sr = 0; sr < SR_COUNT; sr++)
        if (c->seg[sr].rights & SEGR_FLAT)
            flat |= (uint8_t)(1u << sr);
    size_t fails[24];
    unsigned nfails = 0;
    x64_push(&b, X_RBX);
    x64_mov_rr64(&b, X_RBX, X_RDI);
    size_t to_body = x64_jmp32(&b);
    if (x64_ok(&b) && x64_used(&b) != CHAIN_ENTRY)
        return 0;
    gen_chain_entry(&b, c, blk, eip, cache_gen, exec_base, fails, &nfails);
    x64_patch_here(&b, to_body);
    unsigned pending = 0;
    bool last_inline = false;
    unsigned inlined = 0;
    enum flags_src fs = FS_UNKNOWN;
    for (uint32_t k = 0; k < blk->n; k++) {
        const struct iblock_insn *bi = &blk->ins[k];
        const bool last = k + 1 == blk->n;
        struct slow_path *sp = &slows[nslows];
        *sp = (struct slow_path){.bi = bi, .eip = eip, .pending = pending, .flat = flat};
        const bool flags_dead = flags_dead_after(blk, k);
        if (last && (gen_jmp(&b, &bi->insn, eip, pending, exits, &nexits, sp, lin_base,
                             exec_base) ||
                     gen_call(&b, &bi->insn, eip, priv, pending, exits, &nexits, sp, lin_base,
                              exec_base) ||
                     gen_ret(&b, &bi->insn, priv, pending, exits, &nexits, sp, c, lin_base,
                             indirect_gen))) {
            /* Leaves the block: nothing after it. */
            sp->terminal = true;
            sp->join = x64_used(&b);
            nslows++;
            pending = 0;
            inlined++;
            last_inline = false;
            eip += bi->insn.len;
            continue;
        }
        if (gen_mem(&b, &bi->insn, priv, sp) || gen_narrow(&b, &bi->insn, priv, sp) ||
            gen_push(&b, &bi->insn, priv, sp) || gen_pop(&b, &bi->insn, priv, sp) ||
            gen_imul(&b, &bi->insn, flags_dead, sp) ||
            gen_rmw(&b, &bi->insn, priv, fs, sp) || gen_alu8(&b, &bi->insn, priv, sp) ||
            gen_cmov_setcc(&b, &bi->insn, fs) ||
            gen_jcc(&b, &bi->insn, eip, fs, last, pending, exits, &nexits, sp, lin_base,
                    exec_base)) {
            sp->join = x64_used(&b);
            if (sp->njumps) /* a register-only narrow move has no slow path */
                nslows++;
            fs = flags_after_inline(&bi->insn, fs);
            pending++;
            inlined++;
            last_inline = true;
        } else if (gen_incdec(&b, &bi->insn, flags_dead, fs) ||
                   gen_inline(&b, &bi->insn, flags_dead)) {
            fs = flags_after_inline(&bi->insn, fs);
            pending++;
            inlined++;
            last_inline = true;
        } else if (pure_register_op(&bi->insn)) {
            gen_call_pure(&b, bi);
            fs = FS_UNKNOWN;
            pending++;
            last_inline = true;
        } else {
            fs = FS_UNKNOWN;
            last_inline = false;
            gen_call_handler(&b, bi, eip, &pending);
            if (!last) {
                if (may_branch(bi->insn.op)) {
                    x64_cmp_m32_imm(&b, X_RBX, CPU_OFF(eip), eip + bi->insn.len);
                    exits[nexits++] = x64_jcc32(&b, XC_NE);
                }
                x64_cmp_m64_imm8(&b, X_RBX, CPU_OFF(events), 0);
                exits[nexits++] = x64_jcc32(&b, XC_NE);
                /* A store into this block's page (self-modifying code) ends it. */
                x64_mov_imm64(&b, X_RAX, (uint64_t)(uintptr_t)pgen);
                x64_cmp_m32_imm(&b, X_RAX, 0, blk->gen);
                exits[nexits++] = x64_jcc32(&b, XC_NE);
            }
        }
        eip += bi->insn.len;
    }
    if (last_inline) {
        gen_static_exit(&b, eip, lin_base, pending, exec_base, exits, &nexits);
        pending = 0;
    }
    gen_sync_icount(&b, &pending);
    const size_t epilogue = x64_used(&b);
    for (unsigned k = 0; k < nexits; k++)
        x64_patch_here(&b, exits[k]);
    for (unsigned k = 0; k < nfails; k++)
        x64_patch_here(&b, fails[k]);
    x64_pop(&b, X_RBX);
    x64_ret(&b);
    for (unsigned k = 0; k < nslows; k++)
        gen_slow_stub(&b, &slows[k], pgen, blk->gen, epilogue);
    if (inlined_out)
        *inlined_out = inlined;
    return x64_ok(&b) ? x64_used(&b) : 0;
}

size_t translator_block_bound(const struct iblock *blk)
{
    return MAX_HOST_FIXED + (size_t)blk->n * MAX_HOST_PER_INSN;
}

static cpu_host_block translate(void *ctx, struct cpu *c, struct iblock *blk, uint32_t eip)
{
    struct translator *t = ctx;
    const size_t need = translator_block_bound(blk);
    uint8_t *w = codecache_reserve(&t->cc, need);
    if (!w) {
        codecache_flush(&t->cc);
        t->st.flushes++;
        w = codecache_reserve(&t->cc, need);
        if (!w)
            return NULL;
    }
    unsigned inlined;
    size_t used = translator_emit_chained(c, blk, eip, w, need, &inlined, t->cc.gen,
                                          (uintptr_t)codecache_exec_addr(&t->cc, w),
                                          t->chaining);
    if (!used) {
        t->st.failures++; /* the bound above is too small: counted, and interpreted */
        return NULL;
    }
    t->st.blocks++;
    t->st.guest_insns += blk->n;
    t->st.inline_insns += inlined;
    t->st.host_bytes += used;
    return (cpu_host_block)codecache_commit(&t->cc, used);
}

cpu_host_block translator_translate(struct translator *t, struct cpu *c, struct iblock *b,
                                    uint32_t eip)
{
    return translate(t, c, b, eip);
}

/* Point the static exit at exec address `site` (its jmp's rel32) to b's chain entry. */
static void chain(void *ctx, struct cpu *c, void *site, struct iblock *b)
{
    (void)c;
    struct translator *t = ctx;
    uint8_t *x = site;
    if (x < t->cc.rx || x + 4 > t->cc.rx + t->cc.used || !b->host)
        return;
    int64_t rel = (int64_t)((uintptr_t)b->host + CHAIN_ENTRY) - (int64_t)(uintptr_t)(x + 4);
    if (rel < INT32_MIN || rel > INT32_MAX)
        return;
    int32_t r32 = (int32_t)rel;
    memcpy(t->cc.rw + (x - t->cc.rx), &r32, 4);
    t->st.chains++;
}

struct translator *translator_create(size_t cache_bytes)
{
    struct translator *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    /* BT86_CODE_CACHE_KB: a smaller cache, so tests can make it overflow. */
    const char *kb = getenv("BT86_CODE_CACHE_KB");
    if (!cache_bytes && kb && strtoul(kb, NULL, 10) >= 16)
        cache_bytes = (size_t)strtoul(kb, NULL, 10) << 10;
    if (codecache_init(&t->cc, cache_bytes ? cache_bytes : DEFAULT_CACHE_BYTES) != 0) {
        int e = errno;
        free(t);
        errno = e;
        return NULL;
    }
    t->engine.ctx = t;
    t->engine.gen = &t->cc.gen;
    t->engine.translate = translate;
    t->engine.chain = chain;
    t->chaining = true;
    /* Code that runs a few times (BIOS set-up, boot code, pages whose code and data share
     * lines and are retranslated after every store) is not worth translating: a block is
     * translated on its 8th run (FreeDOS boot: 58,509 translations at 2 runs, 9,272 at 8).
     * BT86_TRANSLATE_AT_ONCE=1 translates every block before its first run, so tests put
     * faults and one-off code through translated code too. */
    const char *now = getenv("BT86_TRANSLATE_AT_ONCE");
    t->engine.hot_runs = now && !strcmp(now, "1") ? 1 : 8;
    return t;
}

void translator_destroy(struct translator *t)
{
    if (!t)
        return;
    codecache_destroy(&t->cc);
    free(t);
}

void translator_attach(struct translator *t, struct cpu *c)
{
    c->engine = t ? &t->engine : NULL;
}

const uint32_t *translator_generation(const struct translator *t) { return &t->cc.gen; }

void translator_set_chaining(struct translator *t, bool on) { t->chaining = on; }

void translator_set_hot_runs(struct translator *t, uint32_t runs)
{
    t->engine.hot_runs = runs ? runs : 1;
}

void translator_get_stats(const struct translator *t, struct translator_stats *out)
{
    *out = t->st;
}
