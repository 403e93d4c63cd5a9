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

#include "cpu/exec.h"
#include "cpu/flags.h"
#include "cpu/icache.h"
#include "translator/codecache.h"
#include "translator/x64.h"

#define DEFAULT_CACHE_BYTES (32u << 20)
/* Upper bound of host code per guest instruction (a handler call with its checks is ~80). */
#define MAX_HOST_PER_INSN 128u
#define MAX_HOST_FIXED 64u

struct translator {
    struct codecache cc;
    struct cpu_block_engine engine;
    struct translator_stats st;
};

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
static bool gen_alu(struct x64buf *b, const struct insn *i)
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
    x64_load32(b, X_RAX, X_RBX, REG_OFF(a));
    x64_store32(b, X_RBX, CPU_OFF(lf_a), X_RAX);
    x64_store32(b, X_RBX, CPU_OFF(lf_b), X_RCX);
    x64_alu_rr32(b, hop, X_RAX, X_RCX);
    x64_store32(b, X_RBX, CPU_OFF(lf_res), X_RAX);
    x64_store32_imm(b, X_RBX, CPU_OFF(lf_op), LF32(kind));
    if (writes)
        x64_store32(b, X_RBX, REG_OFF(dst), X_RAX);
    return true;
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

/* Emit `i` inline if it has an inline form; false: it needs its handler. */
static bool gen_inline(struct x64buf *b, const struct insn *i)
{
    switch (i->op) {
    case OP_NOP: return true;
    case OP_MOV: return gen_mov(b, i);
    case OP_LEA: return gen_lea(b, i);
    default: return gen_alu(b, i);
    }
}

/* ---- handler calls ---- */

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

#define MAX_EXITS (IBLOCK_MAX_INSNS * 3)

size_t translator_emit_block(const struct cpu *c, const struct iblock *blk, uint32_t eip,
                             uint8_t *w, size_t cap, unsigned *inlined_out)
{
    struct x64buf b;
    x64_init(&b, w, cap);
    size_t exits[MAX_EXITS];
    unsigned nexits = 0;
    const uint32_t *pgen = &c->icache->page_gen[blk->ppage];

    x64_push(&b, X_RBX);
    x64_mov_rr64(&b, X_RBX, X_RDI);
    unsigned pending = 0;
    bool last_inline = false;
    unsigned inlined = 0;
    for (uint32_t k = 0; k < blk->n; k++) {
        const struct iblock_insn *bi = &blk->ins[k];
        const bool last = k + 1 == blk->n;
        if (gen_inline(&b, &bi->insn)) {
            pending++;
            inlined++;
            last_inline = true;
        } else {
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
    if (last_inline)
        x64_store32_imm(&b, X_RBX, CPU_OFF(eip), eip);
    gen_sync_icount(&b, &pending);
    for (unsigned k = 0; k < nexits; k++)
        x64_patch_here(&b, exits[k]);
    x64_pop(&b, X_RBX);
    x64_ret(&b);
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
    size_t used = translator_emit_block(c, blk, eip, w, need, &inlined);
    if (!used)
        return NULL; /* cannot happen with the bound above; interpret rather than guess */
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

struct translator *translator_create(size_t cache_bytes)
{
    struct translator *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    if (codecache_init(&t->cc, cache_bytes ? cache_bytes : DEFAULT_CACHE_BYTES) != 0) {
        int e = errno;
        free(t);
        errno = e;
        return NULL;
    }
    t->engine.ctx = t;
    t->engine.gen = &t->cc.gen;
    t->engine.translate = translate;
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

void translator_get_stats(const struct translator *t, struct translator_stats *out)
{
    *out = t->st;
}
