/* x87 instructions (D8-DF), WAIT, FXSAVE/FXRSTOR.
 *
 * Computational instructions run on the host x87 (fpu_host_run, cpu/fpu.c); this file does
 * what is the guest's own business: CR0.EM/TS, the pending-error check of waiting
 * instructions, memory operands with their faults before any state changes, the instruction
 * and data pointers, and the control instructions in C. */
#include <string.h>

#include "cpu/exec.h"
#include "cpu/flags.h"
#include "cpu/fpu.h"
#include "cpu/mem.h"
#include "cpu/x87_moves.h"

/* Memory forms by (opcode - D8h) * 8 + ModRM.reg. */
enum { MF_UD, MF_LOAD, MF_STORE, MF_LDENV, MF_LDCW, MF_STENV, MF_STCW, MF_RSTOR, MF_SAVE, MF_STSW };

struct mform {
    uint8_t kind, size;
};

#define L(n) {MF_LOAD, n}
#define S(n) {MF_STORE, n}
#define U {MF_UD, 0}
static const struct mform mforms[64] = {
    /* D8 m32real arithmetic */ L(4), L(4), L(4), L(4), L(4), L(4), L(4), L(4),
    /* D9 FLD FISTTP? FST FSTP FLDENV FLDCW FNSTENV FNSTCW */
    L(4), U, S(4), S(4), {MF_LDENV, 0}, {MF_LDCW, 2}, {MF_STENV, 0}, {MF_STCW, 2},
    /* DA m32int arithmetic */ L(4), L(4), L(4), L(4), L(4), L(4), L(4), L(4),
    /* DB FILD, FISTTP (SSE3: #UD here), FIST, FISTP, -, FLD m80, -, FSTP m80 */
    L(4), U, S(4), S(4), U, L(10), U, S(10),
    /* DC m64real arithmetic */ L(8), L(8), L(8), L(8), L(8), L(8), L(8), L(8),
    /* DD FLD, FISTTP, FST, FSTP, FRSTOR, -, FNSAVE, FNSTSW */
    L(8), U, S(8), S(8), {MF_RSTOR, 0}, U, {MF_SAVE, 0}, {MF_STSW, 2},
    /* DE m16int arithmetic */ L(2), L(2), L(2), L(2), L(2), L(2), L(2), L(2),
    /* DF FILD, FISTTP, FIST, FISTP, FBLD, FILD m64, FBSTP, FISTP m64 */
    L(2), U, S(2), S(2), L(10), L(8), S(10), S(8),
};
#undef L
#undef S
#undef U

/* #AC alignment of an x87 memory operand: its size, 8 for the 10-byte forms. */
static unsigned op_align(unsigned size) { return size == 10 ? 8 : size; }

/* Register forms (ModRM C0-FF) a Pentium II executes, by (opcode - D8h) and ModRM & 3Fh;
 * the reserved aliases (FSTP1, FCOM2, FCOMP3, FXCH4, FCOMP5, FFREEP, FXCH7, FSTP8/9) work. */
static bool reg_form_valid(unsigned op, unsigned m)
{
    switch (op) {
    case 1:
        return !((m >= 0x11 && m <= 0x17) || m == 0x22 || m == 0x23 || m == 0x26 || m == 0x27 ||
                 m == 0x2F);
    case 2: return m < 0x20 || m == 0x29;
    case 3: return m < 0x25 || (m >= 0x28 && m < 0x38);
    case 5: return m < 0x30;
    case 6: return m != 0x18 && !(m >= 0x1A && m <= 0x1F);
    case 7: return m < 0x21 || (m >= 0x28 && m < 0x38);
    default: return true;
    }
}

/* Record the instruction (and data) pointer of a non-control instruction. */
static void record_pointers(struct cpu *c, const struct insn *i, bool mem, uint32_t ea)
{
    c->fpu.fip = c->insn_eip;
    c->fpu.fcs = c->seg[SR_CS].sel;
    c->fpu.fop = (uint16_t)(((i->opcode & 7u) << 8) | i->modrm);
    if (mem) {
        c->fpu.fdp = ea;
        c->fpu.fds = c->seg[i->seg].sel;
    }
}

/* Take the host's result as the guest's new state. */
static void commit(struct cpu *c, const struct fpu_host_state *h)
{
    unsigned top = (h->sw >> 11) & 7;
    for (unsigned k = 0; k < 8; k++)
        c->fpu.r[(top + k) & 7] = h->st[k];
    c->fpu.tag_valid = fpu_abridge_tag(h->tw);
    fpu_update_sw(c, (uint16_t)((h->sw & ~(FSW_ES | FSW_B)) | (c->fpu.sw & FSW_STICKY)));
}

static bool is_fcomi(unsigned op, unsigned modrm)
{
    return (op == 3 || op == 7) && modrm >= 0xE8 && modrm < 0xF8;
}

static void exec_reg_form(struct cpu *c, const struct insn *i)
{
    unsigned op = i->opcode & 7, m = i->modrm & 0x3F;
    if (!reg_form_valid(op, m))
        cpu_fault(c, EXC_UD);
    /* Non-waiting control instructions. */
    if (op == 3 && m >= 0x20 && m <= 0x24) {
        if (m == 0x22) /* FNCLEX */
            fpu_update_sw(c, c->fpu.sw & (uint16_t)~(FSW_STICKY | FSW_ES | FSW_B));
        else if (m == 0x23) /* FNINIT */
            fpu_finit(c);
        /* E0/E1/E4: FENI, FDISI, FSETPM of the 8087/287: no operation on a 387 and later. */
        return;
    }
    if (op == 7 && m == 0x20) { /* FNSTSW AX */
        reg_set(c, R_EAX, 2, c->fpu.sw);
        return;
    }
    if (!fpu_check_pending(c))
        return;
    if (x87_move_reg(c, op, m)) {
        record_pointers(c, i, false, 0);
        fpu_update_sw(c, c->fpu.sw & (uint16_t)~FSW_C1);
        return;
    }
    uint32_t fl = cpu_get_eflags(c);
    if (fpu_light_run(c, i->opcode, i->modrm, NULL, &fl)) {
        record_pointers(c, i, false, 0);
        if (is_fcomi(op, i->modrm))
            flags_set_arith(c, fl & (FL_ZF | FL_PF | FL_CF));
        return;
    }
    struct fpu_host_state h;
    fpu_host_run(c, i->opcode, i->modrm, NULL, &fl, &h);
    record_pointers(c, i, false, 0);
    commit(c, &h);
    if (is_fcomi(op, i->modrm))
        flags_set_arith(c, fl & (FL_ZF | FL_PF | FL_CF));
}

static void exec_mem_form(struct cpu *c, const struct insn *i)
{
    unsigned op = i->opcode & 7;
    const struct mform mf = mforms[op * 8 + i->reg];
    uint32_t ea = insn_ea(c, i);
    int seg = i->seg;
    switch (mf.kind) {
    case MF_UD:
        cpu_fault(c, EXC_UD);
    case MF_STCW:
        fpu_mem_probe_write(c, seg, ea, 2, 2);
        fpu_mem_write(c, seg, ea, &c->fpu.cw, 2);
        return;
    case MF_STSW:
        fpu_mem_probe_write(c, seg, ea, 2, 2);
        fpu_mem_write(c, seg, ea, &c->fpu.sw, 2);
        return;
    case MF_STENV: {
        uint8_t env[28];
        unsigned n = fpu_env_size(c, i->osize);
        fpu_mem_probe_write(c, seg, ea, n, i->osize);
        fpu_store_env(c, env, i->osize);
        fpu_mem_write(c, seg, ea, env, n);
        /* FSTENV leaves every exception masked (SDM: it masks them after storing). */
        c->fpu.cw |= FCW_MASKS;
        fpu_update_sw(c, c->fpu.sw);
        return;
    }
    case MF_SAVE: {
        uint8_t area[108];
        unsigned n = fpu_env_size(c, i->osize) + 80;
        fpu_mem_probe_write(c, seg, ea, n, i->osize);
        fpu_store_save_area(c, area, i->osize);
        fpu_mem_write(c, seg, ea, area, n);
        fpu_finit(c);
        return;
    }
    default:
        break;
    }
    /* Everything else waits for pending errors first. */
    if (!fpu_check_pending(c))
        return;
    switch (mf.kind) {
    case MF_LDCW: {
        uint8_t b[2];
        fpu_mem_read(c, seg, ea, b, 2, 2);
        c->fpu.cw = fpu_cw_load_value(b[0] | (uint32_t)b[1] << 8);
        fpu_update_sw(c, c->fpu.sw);
        return;
    }
    case MF_LDENV: {
        uint8_t env[28];
        fpu_mem_read(c, seg, ea, env, fpu_env_size(c, i->osize), i->osize);
        fpu_load_env(c, env, i->osize);
        return;
    }
    case MF_RSTOR: {
        uint8_t area[108];
        fpu_mem_read(c, seg, ea, area, fpu_env_size(c, i->osize) + 80, i->osize);
        fpu_load_save_area(c, area, i->osize);
        return;
    }
    case MF_LOAD: {
        uint8_t buf[16] = {0};
        fpu_mem_read(c, seg, ea, buf, mf.size, op_align(mf.size));
        if (x87_move_load(c, op, i->reg, buf)) {
            record_pointers(c, i, true, ea);
            fpu_update_sw(c, c->fpu.sw & (uint16_t)~FSW_C1);
            return;
        }
        uint32_t fl = 0;
        if (fpu_light_run(c, i->opcode, i->modrm, buf, &fl)) {
            record_pointers(c, i, true, ea);
            return;
        }
        struct fpu_host_state h;
        fpu_host_run(c, i->opcode, i->modrm, buf, &fl, &h);
        record_pointers(c, i, true, ea);
        commit(c, &h);
        return;
    }
    default: { /* MF_STORE */
        fpu_mem_probe_write(c, seg, ea, mf.size, op_align(mf.size));
        /* Whether the instruction stored (an unmasked error can suppress it) shows in the
         * buffer; a result that happens to equal the filler is told apart by a second run. */
        uint8_t buf[16], fill = 0xA5;
        if (x87_move_store(c, op, i->reg, buf)) {
            fpu_mem_write(c, seg, ea, buf, mf.size);
            record_pointers(c, i, true, ea);
            fpu_update_sw(c, c->fpu.sw & (uint16_t)~FSW_C1);
            return;
        }
        uint32_t fl = 0;
        if (fpu_light_run(c, i->opcode, i->modrm, buf, &fl)) {
            fpu_mem_write(c, seg, ea, buf, mf.size); /* masked responses always store */
            record_pointers(c, i, true, ea);
            return;
        }
        struct fpu_host_state h;
        bool stored = false;
        for (int pass = 0; pass < 2 && !stored; pass++, fill = 0x5A) {
            memset(buf, fill, sizeof(buf));
            fpu_host_run(c, i->opcode, i->modrm, buf, &fl, &h);
            for (unsigned k = 0; k < mf.size; k++)
                stored |= buf[k] != fill;
        }
        if (stored)
            fpu_mem_write(c, seg, ea, buf, mf.size);
        record_pointers(c, i, true, ea);
        commit(c, &h);
        return;
    }
    }
}

void exec_FPU(struct cpu *c, const struct insn *i)
{
    fpu_check_nm(c);
    if (i->flags & INSN_F_MEM)
        exec_mem_form(c, i);
    else
        exec_reg_form(c, i);
}

void exec_WAIT(struct cpu *c, const struct insn *i)
{
    (void)i;
    if ((c->cr0 & (CR0_TS | CR0_MP)) == (CR0_TS | CR0_MP))
        cpu_fault(c, EXC_NM);
    fpu_check_pending(c);
}

/* FXSAVE/FXRSTOR: a 512-byte area, 16-byte aligned (#GP otherwise, whatever AC says). Only
 * bytes 0-159 hold state on a processor without SSE; the rest is left alone. */
static uint32_t fx_area(struct cpu *c, const struct insn *i, unsigned rights)
{
    if (c->cr0 & (CR0_EM | CR0_TS))
        cpu_fault(c, EXC_NM);
    uint32_t ea = insn_ea(c, i);
    if ((c->seg[i->seg].base + ea) & 15)
        cpu_fault_err(c, EXC_GP, 0);
    seg_linear(c, i->seg, ea, 512, rights);
    return ea;
}

void exec_FXSAVE(struct cpu *c, const struct insn *i)
{
    uint32_t ea = fx_area(c, i, SEGR_WRITE);
    uint8_t img[160];
    fpu_mem_probe_write(c, i->seg, ea, sizeof(img), 1);
    fpu_fxsave_image(c, img);
    fpu_mem_write(c, i->seg, ea, img, sizeof(img));
}

void exec_FXRSTOR(struct cpu *c, const struct insn *i)
{
    uint32_t ea = fx_area(c, i, SEGR_READ);
    uint8_t img[160];
    fpu_mem_read(c, i->seg, ea, img, sizeof(img), 1);
    fpu_fxrstor_image(c, img);
}
