/* MMX (Pentium MMX / Pentium II): 0F 60-7F and 0F D1-FE. MMX register i is the significand
 * of x87 physical register i; writing one sets its exponent field to all ones, and any MMX
 * instruction (not EMMS) makes TOP 0 and every tag valid. The 66/F2/F3 prefixes, which later
 * processors use for SSE forms, are ignored here, as on a Pentium II. */
#include <string.h>

#include "cpu/exec.h"
#include "cpu/fpu.h"
#include "cpu/mem.h"

/* CR0.EM: #UD; CR0.TS: #NM; then a pending x87 error (MMX instructions wait). */
static bool mmx_prologue(struct cpu *c)
{
    if (c->cr0 & CR0_EM)
        cpu_fault(c, EXC_UD);
    if (c->cr0 & CR0_TS)
        cpu_fault(c, EXC_NM);
    return fpu_check_pending(c);
}

static void mm_write(struct cpu *c, unsigned r, uint64_t v)
{
    c->fpu.r[r].mant = v;
    c->fpu.r[r].sexp = 0xFFFF;
}

/* Source operand Qq: an MMX register or 64 bits of memory (32 for the PUNPCKLxx forms,
 * which only use the low half). */
static uint64_t read_q(struct cpu *c, const struct insn *i)
{
    if (!(i->flags & INSN_F_MEM))
        return c->fpu.r[i->rm].mant;
    uint64_t v = 0;
    unsigned n = i->opcode >= 0x60 && i->opcode <= 0x62 ? 4 : 8;
    fpu_mem_read(c, i->seg, insn_ea(c, i), &v, n, n);
    return v;
}

/* ---- lane helpers ---- */

static int64_t sat(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static uint64_t lane_get(uint64_t v, unsigned bits, unsigned k)
{
    return (v >> (k * bits)) & (bits == 64 ? ~0ull : (1ull << bits) - 1);
}

static int64_t lane_sget(uint64_t v, unsigned bits, unsigned k)
{
    uint64_t u = lane_get(v, bits, k);
    return bits == 64 ? (int64_t)u : (int64_t)(u << (64 - bits)) >> (64 - bits);
}

static uint64_t lane_put(uint64_t acc, unsigned bits, unsigned k, uint64_t x)
{
    uint64_t m = (bits == 64 ? ~0ull : (1ull << bits) - 1) << (k * bits);
    return (acc & ~m) | ((x << (k * bits)) & m);
}

enum lane_op { LO_ADD, LO_ADDS, LO_ADDUS, LO_SUB, LO_SUBS, LO_SUBUS, LO_CMPEQ, LO_CMPGT };

static uint64_t lanes(uint64_t a, uint64_t b, unsigned bits, enum lane_op op)
{
    uint64_t r = 0;
    int64_t smin = -(1ll << (bits - 1)), smax = (1ll << (bits - 1)) - 1;
    int64_t umax = (1ll << bits) - 1;
    for (unsigned k = 0; k < 64 / bits; k++) {
        int64_t sa = lane_sget(a, bits, k), sb = lane_sget(b, bits, k);
        int64_t ua = (int64_t)lane_get(a, bits, k), ub = (int64_t)lane_get(b, bits, k);
        int64_t x;
        switch (op) {
        case LO_ADD: x = ua + ub; break;
        case LO_ADDS: x = sat(sa + sb, smin, smax); break;
        case LO_ADDUS: x = sat(ua + ub, 0, umax); break;
        case LO_SUB: x = ua - ub; break;
        case LO_SUBS: x = sat(sa - sb, smin, smax); break;
        case LO_SUBUS: x = sat(ua - ub, 0, umax); break;
        case LO_CMPEQ: x = ua == ub ? -1 : 0; break;
        default: x = sa > sb ? -1 : 0; break;
        }
        r = lane_put(r, bits, k, (uint64_t)x);
    }
    return r;
}

/* Shifts: a count above the lane width gives 0 (or all sign bits for PSRA). */
static uint64_t shift(uint64_t a, uint64_t count, unsigned bits, int kind /* 0 srl, 1 sra, 2 sll */)
{
    uint64_t r = 0;
    for (unsigned k = 0; k < 64 / bits; k++) {
        uint64_t x;
        if (kind == 1) {
            int64_t s = lane_sget(a, bits, k);
            x = (uint64_t)(s >> (count >= bits ? bits - 1 : count));
        } else if (count >= bits) {
            x = 0;
        } else if (kind == 0) {
            x = lane_get(a, bits, k) >> count;
        } else {
            x = lane_get(a, bits, k) << count;
        }
        r = lane_put(r, bits, k, x);
    }
    return r;
}

/* Interleave the low (hi = false) or high halves of a and b, lanes of `bits`. */
static uint64_t unpack(uint64_t a, uint64_t b, unsigned bits, bool hi)
{
    unsigned n = 32 / bits, base = hi ? n : 0;
    uint64_t r = 0;
    for (unsigned k = 0; k < n; k++) {
        r = lane_put(r, bits, 2 * k, lane_get(a, bits, base + k));
        r = lane_put(r, bits, 2 * k + 1, lane_get(b, bits, base + k));
    }
    return r;
}

/* Pack lanes of `bits` from a (low half) and b (high half) into lanes of bits / 2. */
static uint64_t pack(uint64_t a, uint64_t b, unsigned bits, bool unsigned_sat)
{
    unsigned nb = bits / 2, n = 64 / bits;
    int64_t lo = unsigned_sat ? 0 : -(1ll << (nb - 1));
    int64_t hi = unsigned_sat ? (1ll << nb) - 1 : (1ll << (nb - 1)) - 1;
    uint64_t r = 0;
    for (unsigned k = 0; k < n; k++) {
        r = lane_put(r, nb, k, (uint64_t)sat(lane_sget(a, bits, k), lo, hi));
        r = lane_put(r, nb, n + k, (uint64_t)sat(lane_sget(b, bits, k), lo, hi));
    }
    return r;
}

static uint64_t pmul(uint64_t a, uint64_t b, int kind /* 0 low, 1 high, 2 madd */)
{
    uint64_t r = 0;
    if (kind == 2) {
        for (unsigned k = 0; k < 2; k++) {
            int64_t s = lane_sget(a, 16, 2 * k) * lane_sget(b, 16, 2 * k) +
                        lane_sget(a, 16, 2 * k + 1) * lane_sget(b, 16, 2 * k + 1);
            r = lane_put(r, 32, k, (uint64_t)s);
        }
        return r;
    }
    for (unsigned k = 0; k < 4; k++) {
        int64_t p = lane_sget(a, 16, k) * lane_sget(b, 16, k);
        r = lane_put(r, 16, k, (uint64_t)(kind ? p >> 16 : p));
    }
    return r;
}

void exec_MMX(struct cpu *c, const struct insn *i)
{
    if (!mmx_prologue(c))
        return;
    const unsigned g = i->reg;
    const uint8_t opc = i->opcode;
    uint64_t a = c->fpu.r[g].mant, r;

    /* Moves first: they have their own operand shapes. */
    switch (opc) {
    case 0x6E: { /* MOVD Pq, Ed */
        uint32_t v;
        if (i->flags & INSN_F_MEM)
            fpu_mem_read(c, i->seg, insn_ea(c, i), &v, 4, 4);
        else
            v = c->regs[i->rm];
        mmx_enter(c);
        mm_write(c, g, v);
        return;
    }
    case 0x7E: /* MOVD Ed, Pq */
        if (i->flags & INSN_F_MEM) {
            uint32_t ea = insn_ea(c, i), v = (uint32_t)a;
            fpu_mem_probe_write(c, i->seg, ea, 4, 4);
            fpu_mem_write(c, i->seg, ea, &v, 4);
        } else {
            c->regs[i->rm] = (uint32_t)a;
        }
        mmx_enter(c);
        return;
    case 0x6F: /* MOVQ Pq, Qq */
        r = read_q(c, i);
        mmx_enter(c);
        mm_write(c, g, r);
        return;
    case 0x7F: /* MOVQ Qq, Pq */
        if (i->flags & INSN_F_MEM) {
            uint32_t ea = insn_ea(c, i);
            fpu_mem_probe_write(c, i->seg, ea, 8, 8);
            fpu_mem_write(c, i->seg, ea, &a, 8);
            mmx_enter(c);
        } else {
            mmx_enter(c);
            mm_write(c, i->rm, a);
        }
        return;
    case 0x71: case 0x72: case 0x73: { /* shifts by immediate: E is the register shifted */
        unsigned bits = opc == 0x71 ? 16 : opc == 0x72 ? 32 : 64;
        int kind = g == 2 ? 0 : g == 4 ? 1 : 2;
        r = shift(c->fpu.r[i->rm].mant, i->imm & 0xFF, bits, kind);
        mmx_enter(c);
        mm_write(c, i->rm, r);
        return;
    }
    default:
        break;
    }

    uint64_t b = read_q(c, i);
    switch (opc) {
    case 0x60: r = unpack(a, b, 8, false); break;
    case 0x61: r = unpack(a, b, 16, false); break;
    case 0x62: r = unpack(a, b, 32, false); break;
    case 0x63: r = pack(a, b, 16, false); break;
    case 0x64: r = lanes(a, b, 8, LO_CMPGT); break;
    case 0x65: r = lanes(a, b, 16, LO_CMPGT); break;
    case 0x66: r = lanes(a, b, 32, LO_CMPGT); break;
    case 0x67: r = pack(a, b, 16, true); break;
    case 0x68: r = unpack(a, b, 8, true); break;
    case 0x69: r = unpack(a, b, 16, true); break;
    case 0x6A: r = unpack(a, b, 32, true); break;
    case 0x6B: r = pack(a, b, 32, false); break;
    case 0x74: r = lanes(a, b, 8, LO_CMPEQ); break;
    case 0x75: r = lanes(a, b, 16, LO_CMPEQ); break;
    case 0x76: r = lanes(a, b, 32, LO_CMPEQ); break;
    case 0xD1: r = shift(a, b, 16, 0); break;
    case 0xD2: r = shift(a, b, 32, 0); break;
    case 0xD3: r = shift(a, b, 64, 0); break;
    case 0xD5: r = pmul(a, b, 0); break;
    case 0xD8: r = lanes(a, b, 8, LO_SUBUS); break;
    case 0xD9: r = lanes(a, b, 16, LO_SUBUS); break;
    case 0xDB: r = a & b; break;
    case 0xDC: r = lanes(a, b, 8, LO_ADDUS); break;
    case 0xDD: r = lanes(a, b, 16, LO_ADDUS); break;
    case 0xDF: r = ~a & b; break;
    case 0xE1: r = shift(a, b, 16, 1); break;
    case 0xE2: r = shift(a, b, 32, 1); break;
    case 0xE5: r = pmul(a, b, 1); break;
    case 0xE8: r = lanes(a, b, 8, LO_SUBS); break;
    case 0xE9: r = lanes(a, b, 16, LO_SUBS); break;
    case 0xEB: r = a | b; break;
    case 0xEC: r = lanes(a, b, 8, LO_ADDS); break;
    case 0xED: r = lanes(a, b, 16, LO_ADDS); break;
    case 0xEF: r = a ^ b; break;
    case 0xF1: r = shift(a, b, 16, 2); break;
    case 0xF2: r = shift(a, b, 32, 2); break;
    case 0xF3: r = shift(a, b, 64, 2); break;
    case 0xF5: r = pmul(a, b, 2); break;
    case 0xF8: r = lanes(a, b, 8, LO_SUB); break;
    case 0xF9: r = lanes(a, b, 16, LO_SUB); break;
    case 0xFA: r = lanes(a, b, 32, LO_SUB); break;
    case 0xFC: r = lanes(a, b, 8, LO_ADD); break;
    case 0xFD: r = lanes(a, b, 16, LO_ADD); break;
    case 0xFE: r = lanes(a, b, 32, LO_ADD); break;
    default: cpu_fault(c, EXC_UD); /* the decoder lets no other opcode through */
    }
    mmx_enter(c);
    mm_write(c, g, r);
}

void exec_EMMS(struct cpu *c, const struct insn *i)
{
    (void)i;
    if (!mmx_prologue(c))
        return;
    fpu_set_top(c, 0);
    c->fpu.tag_valid = 0;
}
