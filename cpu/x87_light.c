/* The light host path for x87 arithmetic.
 *
 * fpu_host_run() moves the whole guest state through FRSTOR and FNSAVE, about 100 ns per
 * instruction on the hosts we measured. When every exception is masked in the guest's CW --
 * the usual state: masked responses never trap -- an instruction that pushes nothing only
 * needs the registers it reads: ST(0)..ST(d-1) are loaded with FLDT, the guest's own
 * instruction runs (the same stub), FNSTSW takes its status, and what is left on the host
 * stack is stored back with FSTPT. The host's CW is the guest's while it runs.
 *
 * The condition codes the instruction defines come from the host; those it leaves undefined
 * keep the guest's values, as the hardware keeps them (checked by native_diff against the
 * host). Registers that FLDT might not load bit for bit (SNaNs, pseudo-denormals, unsupported
 * encodings) and every other case go to fpu_host_run(). */
#include "cpu/fpu.h"

#include "cpu/flags.h"

extern const uint8_t bt86_fpu_stubs[] __attribute__((visibility("hidden")));

struct light_op {
    uint8_t depth;  /* registers read: ST(0)..ST(depth - 1); 0: not for this path */
    uint8_t pops;
    uint16_t cc;    /* condition codes the instruction defines */
};

#define CC_C1 FSW_C1
#define CC_C12 (FSW_C1 | FSW_C2)
#define CC_ALL FSW_CC

static struct light_op reg_op(unsigned op, unsigned modrm)
{
    const unsigned sub = (modrm >> 3) & 7, i = modrm & 7;
    const uint8_t d = (uint8_t)(i + 1);
    switch (op) {
    case 0: /* D8: FADD FMUL FCOM FCOMP FSUB FSUBR FDIV FDIVR ST(0), ST(i) */
    case 4: /* DC: the same on ST(i), ST(0) */
        return (struct light_op){d, sub == 3, (sub == 2 || sub == 3) ? CC_ALL : CC_C1};
    case 6: /* DE: the popping forms; DE D9 is FCOMPP */
        if (sub == 3)
            return modrm == 0xD9 ? (struct light_op){2, 2, CC_ALL} : (struct light_op){0, 0, 0};
        /* DE xx with ST(0) as the destination writes the register it then pops: the host
         * keeps that value in the emptied register, which FSTPT cannot fetch. */
        if (i == 0 && sub != 2)
            return (struct light_op){0, 0, 0};
        return (struct light_op){d, 1, sub == 2 ? CC_ALL : CC_C1};
    case 1:
        switch (modrm) {
        case 0xE4: return (struct light_op){1, 0, CC_ALL}; /* FTST */
        case 0xE5: return (struct light_op){1, 0, CC_ALL}; /* FXAM */
        case 0xF0: return (struct light_op){1, 0, CC_C1};  /* F2XM1 */
        case 0xF1: return (struct light_op){2, 1, CC_C1};  /* FYL2X */
        case 0xF3: return (struct light_op){2, 1, CC_C1};  /* FPATAN */
        /* FPREM/FPREM1 keep C0, C1, C3 for some operands (NaNs): not here. */
        case 0xF9: return (struct light_op){2, 1, CC_C1};  /* FYL2XP1 */
        case 0xFA: return (struct light_op){1, 0, CC_C1};  /* FSQRT */
        case 0xFC: return (struct light_op){1, 0, CC_C1};  /* FRNDINT */
        case 0xFD: return (struct light_op){2, 0, CC_C1};  /* FSCALE */
        case 0xFE: return (struct light_op){1, 0, CC_C12}; /* FSIN */
        case 0xFF: return (struct light_op){1, 0, CC_C12}; /* FCOS */
        default: return (struct light_op){0, 0, 0};
        }
    case 5: /* DD: FUCOM, FUCOMP ST(i) */
        if (sub == 4 || sub == 5)
            return (struct light_op){d, sub == 5, CC_ALL};
        return (struct light_op){0, 0, 0};
    case 2: /* DA: FCMOVB/E/BE/U (C1 changes only on a stack fault), FUCOMPP */
        if (sub < 4)
            return (struct light_op){d, 0, 0};
        return modrm == 0xE9 ? (struct light_op){2, 2, CC_ALL} : (struct light_op){0, 0, 0};
    case 3: /* DB: FCMOVNB/NE/NBE/NU, FUCOMI, FCOMI (EFLAGS; C1 kept, as the host keeps it) */
        if (sub < 4 || sub == 5 || sub == 6)
            return (struct light_op){d, 0, 0};
        return (struct light_op){0, 0, 0};
    case 7: /* DF: FUCOMIP, FCOMIP */
        if (sub == 5 || sub == 6)
            return (struct light_op){d, 1, 0};
        return (struct light_op){0, 0, 0};
    default:
        return (struct light_op){0, 0, 0};
    }
}

/* Memory forms: arithmetic with a memory operand, and the stores that convert. */
static struct light_op mem_op(unsigned op, unsigned sub)
{
    switch (op) {
    case 0: case 2: case 4: case 6: /* m32real, m32int, m64real, m16int arithmetic */
        return (struct light_op){1, sub == 3, (sub == 2 || sub == 3) ? CC_ALL : CC_C1};
    case 1: case 3: case 5: /* FST/FSTP m32, FIST/FISTP m32, FST/FSTP m64 */
        if (sub == 2 || sub == 3)
            return (struct light_op){1, sub == 3, CC_C1};
        return (struct light_op){0, 0, 0};
    case 7: /* FIST/FISTP m16, FBSTP, FISTP m64 */
        if (sub == 2 || sub == 3 || sub == 6 || sub == 7)
            return (struct light_op){1, sub != 2, CC_C1};
        return (struct light_op){0, 0, 0};
    default:
        return (struct light_op){0, 0, 0};
    }
}

/* What FLDT loads bit for bit: zero, normal, infinity, QNaN, denormal. */
static bool fldt_exact(const struct fpreg *r)
{
    unsigned e = r->sexp & 0x7FFF;
    bool j = r->mant >> 63;
    if (e == 0)
        return !j; /* zero or denormal; J set is a pseudo-denormal */
    if (!j)
        return false; /* unnormal, pseudo-infinity, pseudo-NaN */
    if (e == 0x7FFF && (r->mant << 1) != 0)
        return (r->mant >> 62) & 1; /* QNaN yes, SNaN no */
    return true;
}

bool fpu_light_run(struct cpu *c, uint8_t opcode, uint8_t modrm, void *mem, uint32_t *eflags)
{
    struct x87 *f = &c->fpu;
    if ((f->cw & FCW_MASKS) != FCW_MASKS)
        return false; /* an unmasked error would stay pending in the host x87 */
    const unsigned op = opcode & 7;
    const bool reg_form = (modrm >> 6) == 3;
    const struct light_op lo = reg_form ? reg_op(op, modrm) : mem_op(op, (modrm >> 3) & 7);
    if (lo.depth == 0)
        return false;
    const unsigned top = fpu_top(c);
    /* In load order: ST(depth-1) first, ST(0) last. */
    struct fpreg in[8];
    for (unsigned k = 0; k < lo.depth; k++) {
        const unsigned phys = (top + k) & 7;
        if (!((f->tag_valid >> phys) & 1) || !fldt_exact(&f->r[phys]))
            return false;
        in[lo.depth - 1 - k] = f->r[phys];
    }
    const unsigned left = lo.depth - lo.pops;
    struct fpreg out[8];
    const unsigned idx = reg_form ? op * 64 + (modrm & 63) : 512 + op * 8 + ((modrm >> 3) & 7);
    const uint8_t *stub = bt86_fpu_stubs + 4 * idx;
    uint16_t hcw, gcw = f->cw, sw;
    uint64_t ax = (uint64_t)(((*eflags & (FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)) | 2) << 8);
    uint64_t nload = lo.depth, nstore = left;
    const struct fpreg *lp = in;
    struct fpreg *sp = out;
    __asm__ volatile("fnstcw %[hcw]\n\t"
                     "fldcw %[gcw]\n"
                     "2:\n\t"
                     "fldt (%[lp])\n\t"
                     "addq $16, %[lp]\n\t"
                     "decq %[nload]\n\t"
                     "jnz 2b\n\t"
                     "leaq 1f(%%rip), %%rdx\n\t"
                     "sahf\n\t"
                     "jmp *%[stub]\n"
                     "1:\n\t"
                     "lahf\n\t"
                     "fnstsw %[sw]\n\t"
                     "fnclex\n\t"
                     "testq %[nstore], %[nstore]\n\t"
                     "jz 4f\n"
                     "3:\n\t"
                     "fstpt (%[sp])\n\t"
                     "addq $16, %[sp]\n\t"
                     "decq %[nstore]\n\t"
                     "jnz 3b\n"
                     "4:\n\t"
                     "fldcw %[hcw]\n\t"
                     : [hcw] "=m"(hcw), [sw] "=m"(sw), "+a"(ax), [lp] "+r"(lp), [sp] "+r"(sp),
                       [nload] "+r"(nload), [nstore] "+r"(nstore)
                     : [gcw] "m"(gcw), [stub] "r"(stub), "D"(mem)
                     : "rdx", "cc", "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)",
                       "st(5)", "st(6)", "st(7)");
    *eflags = (uint32_t)(ax >> 8) & 0xFF;
    const unsigned ntop = (top + lo.pops) & 7;
    for (unsigned k = 0; k < lo.pops; k++)
        f->tag_valid &= (uint8_t)~(1u << ((top + k) & 7));
    for (unsigned k = 0; k < left; k++) {
        struct fpreg *r = &f->r[(ntop + k) & 7];
        r->mant = out[k].mant;
        r->sexp = out[k].sexp;
    }
    uint16_t nsw = (uint16_t)((f->sw & ~(FSW_TOP | lo.cc)) | (sw & lo.cc) | (sw & FSW_STICKY));
    nsw = (uint16_t)((nsw & ~FSW_TOP) | ntop << 11);
    fpu_update_sw(c, nsw);
    return true;
}
