/* Bit test/modify, bit scan, BSWAP.
 *
 * Undefined flags are left as they were: BT* change only CF, BSF/BSR only ZF. */
#include "cpu/exec.h"
#include "cpu/exec_rmw.h"
#include "cpu/flags.h"
#include "cpu/mem.h"

enum bt_kind { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT };

static void set_flag(struct cpu *c, uint32_t flag, bool on)
{
    flags_materialize(c);
    if (on)
        c->eflags |= flag;
    else
        c->eflags &= ~flag;
}

static void bit_op(struct cpu *c, const struct insn *i, enum bt_kind k)
{
    const unsigned sz = i->osize, bits = sz * 8;
    uint32_t offset = i->form == FORM_EI ? i->imm : reg_get(c, i->reg, sz);
    unsigned bit = offset & (bits - 1);
    struct insn at = *i; /* memory form with a register offset: the operand moves */

    if ((i->flags & INSN_F_MEM) && i->form != FORM_EI) {
        /* Signed bit offset: whole operands below or above the addressed one. The floor
         * division is written with complements so it does not rely on >> of negatives. */
        int32_t off = sext(offset, sz);
        unsigned sh = sz == 2 ? 4 : 5;
        uint32_t units = off >= 0 ? (uint32_t)off >> sh : ~(~(uint32_t)off >> sh);
        uint32_t ea = insn_ea(c, i) + units * sz;
        if (i->asize == 2)
            ea &= 0xFFFF;
        at.base = at.index = INSN_NO_REG;
        at.disp = (int32_t)ea;
    }

    uint32_t v, nv;
    struct rmw acc;
    if (k == BT_TEST) {
        v = e_read(c, &at);
        nv = v;
    } else {
        v = rmw_read(c, &at, &acc);
        uint32_t mask = 1u << bit;
        nv = k == BT_SET ? v | mask : k == BT_RESET ? v & ~mask : v ^ mask;
        rmw_write(c, &at, &acc, nv);
    }
    set_flag(c, FL_CF, (v >> bit) & 1);
}

void exec_BT(struct cpu *c, const struct insn *i) { bit_op(c, i, BT_TEST); }
void exec_BTS(struct cpu *c, const struct insn *i) { bit_op(c, i, BT_SET); }
void exec_BTR(struct cpu *c, const struct insn *i) { bit_op(c, i, BT_RESET); }
void exec_BTC(struct cpu *c, const struct insn *i) { bit_op(c, i, BT_COMPLEMENT); }

/* BSF/BSR G,E: a zero source sets ZF and leaves G unchanged (what Intel and AMD CPUs do). */
static void bit_scan(struct cpu *c, const struct insn *i, bool reverse)
{
    uint32_t src = e_read(c, i);
    if (src == 0) {
        set_flag(c, FL_ZF, true);
        return;
    }
    unsigned idx = reverse ? 31u - (unsigned)__builtin_clz(src) : (unsigned)__builtin_ctz(src);
    reg_set(c, i->reg, i->osize, idx);
    set_flag(c, FL_ZF, false);
}

void exec_BSF(struct cpu *c, const struct insn *i) { bit_scan(c, i, false); }
void exec_BSR(struct cpu *c, const struct insn *i) { bit_scan(c, i, true); }

/* BSWAP r16 is undefined; P6-class CPUs clear the low word, which is what we do. */
void exec_BSWAP(struct cpu *c, const struct insn *i)
{
    if (i->osize == 2) {
        reg_set(c, i->rm, 2, 0);
        return;
    }
    c->regs[i->rm] = __builtin_bswap32(c->regs[i->rm]);
}
