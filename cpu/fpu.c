/* x87 state helpers, the environment and save-area formats, and the host x87 runner. */
#include "cpu/fpu.h"

#include <string.h>

#include "cpu/mem.h"

uint16_t fpu_full_tag(const struct cpu *c)
{
    uint16_t tw = 0;
    for (unsigned i = 0; i < 8; i++) {
        unsigned t = (c->fpu.tag_valid >> i) & 1 ? fpu_tag_of(&c->fpu.r[i]) : FTAG_EMPTY;
        tw |= (uint16_t)(t << (2 * i));
    }
    return tw;
}

static void set_ferr(struct cpu *c, bool level)
{
    if (c->fpu.ferr == level)
        return;
    c->fpu.ferr = level;
    if (c->ferr)
        c->ferr(c->ferr_opaque, level);
}

void fpu_update_sw(struct cpu *c, uint16_t sw)
{
    c->fpu.sw = fpu_sw_summary(sw, c->fpu.cw);
    if (!(c->fpu.sw & FSW_ES)) {
        /* No error pending: FERR# goes inactive, and the chipset drops IGNNE# with it. */
        set_ferr(c, false);
        c->fpu.ignne = false;
    }
}

void fpu_finit(struct cpu *c)
{
    c->fpu.cw = FCW_DEFAULT;
    c->fpu.tag_valid = 0;
    c->fpu.fop = 0;
    c->fpu.fip = c->fpu.fdp = 0;
    c->fpu.fcs = c->fpu.fds = 0;
    fpu_update_sw(c, 0);
}

void fpu_reset(struct cpu *c)
{
    memset(c->fpu.r, 0, sizeof(c->fpu.r)); /* +0.0 */
    fpu_finit(c);
    c->fpu.cw = FCW_RESET;
    c->fpu.tag_valid = 0xFF; /* tag word 5555h: every register holds zero */
    c->fpu.ferr = false;
    c->fpu.ignne = false;
}

void cpu_fpu_ignne(struct cpu *c)
{
    if (c->fpu.ferr) {
        set_ferr(c, false);
        c->fpu.ignne = true;
    }
}

bool fpu_check_pending(struct cpu *c)
{
    if (likely(!(c->fpu.sw & FSW_ES)))
        return true;
    if (c->cr0 & CR0_NE)
        cpu_fault(c, EXC_MF);
    /* MS-DOS compatible reporting: FERR# goes to the interrupt controller and the processor
     * waits at this instruction for the interrupt, unless IGNNE# tells it to go on. */
    if (c->fpu.ignne || !c->ferr)
        return true;
    set_ferr(c, true);
    c->eip = c->insn_eip;
    c->halted = true;
    return false;
}

/* ---- guest memory of any length ---- */

static uint32_t fpu_linear(struct cpu *c, int sreg, uint32_t off, unsigned len, unsigned rights,
                           unsigned align)
{
    uint32_t lin = seg_linear(c, sreg, off, len, rights);
    if (unlikely(c->align_check) && align > 1 && (lin & (align - 1)))
        cpu_fault_err(c, EXC_AC, 0);
    return lin;
}

void fpu_mem_read(struct cpu *c, int sreg, uint32_t off, void *buf, unsigned len, unsigned align)
{
    uint32_t lin = fpu_linear(c, sreg, off, len, SEGR_READ, align);
    uint8_t *p = buf;
    uint32_t last = lin + len - 1;
    /* One page the TLB maps for reading: the bytes at once, as lin_read()'s fast path. */
    const struct tlb_entry *e = &c->tlb.e[cpu_priv(c)][tlb_index(lin)];
    if (likely((last & PAGE_MASK) == (lin & PAGE_MASK) && e->tag[TLB_READ] == (lin & PAGE_MASK))) {
        memcpy(p, (const uint8_t *)(uintptr_t)(lin + e->addend), len);
        return;
    }
    /* Both pages of a straddling operand are translated before anything is read. */
    if ((last & PAGE_MASK) != (lin & PAGE_MASK)) {
        lin_read(c, lin, 1);
        lin_read(c, last & PAGE_MASK, 1); /* CR2 = the first byte on the second page */
    }
    for (unsigned k = 0; k < len;) {
        unsigned n = len - k >= 4 ? 4 : len - k >= 2 ? 2 : 1;
        uint32_t v = lin_read(c, lin + k, n);
        memcpy(p + k, &v, n);
        k += n;
    }
}

void fpu_mem_probe_write(struct cpu *c, int sreg, uint32_t off, unsigned len, unsigned align)
{
    uint32_t lin = fpu_linear(c, sreg, off, len, SEGR_WRITE, align);
    mem_probe_write_slow(c, lin, len, cpu_priv(c));
}

void fpu_mem_write(struct cpu *c, int sreg, uint32_t off, const void *buf, unsigned len)
{
    uint32_t lin = c->seg[sreg].base + off;
    const uint8_t *p = buf;
    const struct tlb_entry *e = &c->tlb.e[cpu_priv(c)][tlb_index(lin)];
    if (likely(((lin + len - 1) & PAGE_MASK) == (lin & PAGE_MASK) &&
               e->tag[TLB_WRITE] == (lin & PAGE_MASK))) {
        memcpy((uint8_t *)(uintptr_t)(lin + e->addend), p, len);
        return;
    }
    for (unsigned k = 0; k < len;) {
        unsigned n = len - k >= 4 ? 4 : len - k >= 2 ? 2 : 1;
        uint32_t v = 0;
        memcpy(&v, p + k, n);
        lin_write(c, lin + k, v, n);
        k += n;
    }
}

/* ---- environment and save-area formats ---- */

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v), put16(p + 2, v >> 16); }
static uint32_t get16(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const uint8_t *p) { return get16(p) | get16(p + 2) << 16; }

/* Real-mode and v8086 formats hold linear pointers instead of selector:offset. */
static bool env_real(const struct cpu *c) { return !cpu_protected(c) || cpu_v86(c); }

unsigned fpu_env_size(const struct cpu *c, unsigned osize)
{
    (void)c;
    return osize == 4 ? 28 : 14;
}

void fpu_store_env(struct cpu *c, uint8_t *o, unsigned osize)
{
    const struct x87 *f = &c->fpu;
    uint16_t tw = fpu_full_tag(c);
    bool real = env_real(c);
    uint32_t ip = real ? ((uint32_t)f->fcs << 4) + f->fip : f->fip;
    uint32_t dp = real ? ((uint32_t)f->fds << 4) + f->fdp : f->fdp;
    if (osize == 4) {
        /* The reserved upper halves read as ones, as Intel's processors store them. */
        put32(o + 0, 0xFFFF0000u | f->cw);
        put32(o + 4, 0xFFFF0000u | f->sw);
        put32(o + 8, 0xFFFF0000u | tw);
        if (real) {
            put32(o + 12, 0xFFFF0000u | (ip & 0xFFFF));
            put32(o + 16, ((ip >> 16) << 12) | (f->fop & 0x7FF));
            put32(o + 20, 0xFFFF0000u | (dp & 0xFFFF));
            put32(o + 24, (dp >> 16) << 12);
        } else {
            put32(o + 12, ip);
            put32(o + 16, f->fcs | (uint32_t)(f->fop & 0x7FF) << 16);
            put32(o + 20, dp);
            put32(o + 24, 0xFFFF0000u | f->fds);
        }
    } else {
        put16(o + 0, f->cw);
        put16(o + 2, f->sw);
        put16(o + 4, tw);
        if (real) {
            put16(o + 6, ip);
            put16(o + 8, ((ip >> 16) & 0xF) << 12 | (f->fop & 0x7FF));
            put16(o + 10, dp);
            put16(o + 12, ((dp >> 16) & 0xF) << 12);
        } else {
            put16(o + 6, ip);
            put16(o + 8, f->fcs);
            put16(o + 10, dp);
            put16(o + 12, f->fds);
        }
    }
}

void fpu_load_env(struct cpu *c, const uint8_t *in, unsigned osize)
{
    struct x87 *f = &c->fpu;
    bool real = env_real(c);
    uint16_t cw, sw, tw;
    if (osize == 4) {
        cw = fpu_cw_load_value(get16(in + 0));
        sw = (uint16_t)get16(in + 4);
        tw = (uint16_t)get16(in + 8);
        if (real) {
            f->fip = get16(in + 12) | ((get32(in + 16) >> 12) & 0xFFFF) << 16;
            f->fop = (uint16_t)(get32(in + 16) & 0x7FF);
            f->fdp = get16(in + 20) | ((get32(in + 24) >> 12) & 0xFFFF) << 16;
            f->fcs = f->fds = 0;
        } else {
            f->fip = get32(in + 12);
            f->fcs = (uint16_t)get16(in + 16);
            f->fop = (uint16_t)((get32(in + 16) >> 16) & 0x7FF);
            f->fdp = get32(in + 20);
            f->fds = (uint16_t)get16(in + 24);
        }
    } else {
        cw = fpu_cw_load_value(get16(in + 0));
        sw = (uint16_t)get16(in + 2);
        tw = (uint16_t)get16(in + 4);
        if (real) {
            f->fip = get16(in + 6) | (get16(in + 8) >> 12) << 16;
            f->fop = (uint16_t)(get16(in + 8) & 0x7FF);
            f->fdp = get16(in + 10) | (get16(in + 12) >> 12) << 16;
            f->fcs = f->fds = 0;
        } else {
            f->fip = get16(in + 6);
            f->fcs = (uint16_t)get16(in + 8);
            f->fop = 0; /* not part of this format */
            f->fdp = get16(in + 10);
            f->fds = (uint16_t)get16(in + 12);
        }
    }
    f->cw = cw;
    f->tag_valid = fpu_abridge_tag(tw); /* the contents decide zero/special/valid */
    fpu_update_sw(c, sw);
}

void fpu_store_save_area(struct cpu *c, uint8_t *out, unsigned osize)
{
    unsigned n = fpu_env_size(c, osize), top = fpu_top(c);
    fpu_store_env(c, out, osize);
    for (unsigned k = 0; k < 8; k++) {
        const struct fpreg *r = &c->fpu.r[(top + k) & 7];
        memcpy(out + n + 10 * k, &r->mant, 8);
        put16(out + n + 10 * k + 8, r->sexp);
    }
}

void fpu_load_save_area(struct cpu *c, const uint8_t *in, unsigned osize)
{
    unsigned n = fpu_env_size(c, osize);
    fpu_load_env(c, in, osize);
    unsigned top = fpu_top(c);
    for (unsigned k = 0; k < 8; k++) {
        struct fpreg *r = &c->fpu.r[(top + k) & 7];
        memcpy(&r->mant, in + n + 10 * k, 8);
        r->sexp = (uint16_t)get16(in + n + 10 * k + 8);
    }
}

void fpu_fxsave_image(const struct cpu *c, uint8_t o[160])
{
    const struct x87 *f = &c->fpu;
    memset(o, 0, 160);
    put16(o + 0, f->cw);
    put16(o + 2, f->sw);
    o[4] = f->tag_valid;
    put16(o + 6, f->fop & 0x7FF);
    put32(o + 8, f->fip);
    put16(o + 12, f->fcs);
    put32(o + 16, f->fdp);
    put16(o + 20, f->fds);
    /* 24-31: MXCSR and its mask, zero: this processor has no SSE. */
    unsigned top = (f->sw >> 11) & 7;
    for (unsigned i = 0; i < 8; i++) {
        const struct fpreg *r = &f->r[(top + i) & 7];
        memcpy(o + 32 + 16 * i, &r->mant, 8);
        put16(o + 32 + 16 * i + 8, r->sexp);
    }
}

void fpu_fxrstor_image(struct cpu *c, const uint8_t in[160])
{
    struct x87 *f = &c->fpu;
    uint16_t sw = (uint16_t)get16(in + 2);
    unsigned top = (sw >> 11) & 7;
    f->cw = fpu_cw_load_value(get16(in + 0));
    f->tag_valid = in[4];
    f->fop = (uint16_t)(get16(in + 6) & 0x7FF);
    f->fip = get32(in + 8);
    f->fcs = (uint16_t)get16(in + 12);
    f->fdp = get32(in + 16);
    f->fds = (uint16_t)get16(in + 20);
    for (unsigned i = 0; i < 8; i++) {
        struct fpreg *r = &f->r[(top + i) & 7];
        memcpy(&r->mant, in + 32 + 16 * i, 8);
        r->sexp = (uint16_t)get16(in + 32 + 16 * i + 8);
    }
    fpu_update_sw(c, sw);
}

/* ---- the host x87 ----
 *
 * One 4-byte stub per x87 encoding: the instruction, then JMP RDX back into fpu_host_run.
 * Register forms (mod = 3) are indexed by (opcode - D8h) * 64 + (ModRM & 3Fh); memory forms
 * follow, indexed by (opcode - D8h) * 8 + reg, with the operand at [RDI]. The stubs never
 * touch the stack, so the red zone of the C caller is safe. */
__asm__(".pushsection .text\n"
        ".p2align 4\n"
        ".globl bt86_fpu_stubs\n"
        ".hidden bt86_fpu_stubs\n"
        "bt86_fpu_stubs:\n"
        ".set bt86_fpu_i, 0\n"
        ".rept 512\n"
        ".byte 0xD8 + (bt86_fpu_i >> 6), 0xC0 + (bt86_fpu_i & 63), 0xFF, 0xE2\n"
        ".set bt86_fpu_i, bt86_fpu_i + 1\n"
        ".endr\n"
        ".set bt86_fpu_i, 0\n"
        ".rept 64\n"
        ".byte 0xD8 + (bt86_fpu_i >> 3), ((bt86_fpu_i & 7) << 3) | 7, 0xFF, 0xE2\n"
        ".set bt86_fpu_i, bt86_fpu_i + 1\n"
        ".endr\n"
        ".popsection\n");
extern const uint8_t bt86_fpu_stubs[] __attribute__((visibility("hidden")));

void fpu_host_run(const struct cpu *c, uint8_t opcode, uint8_t modrm, void *mem,
                  uint32_t *eflags, struct fpu_host_state *out)
{
    const struct x87 *f = &c->fpu;
    /* The 108-byte FSAVE image (32-bit format). The exception flags are left out, so that
     * the host raises nothing for errors the guest already has pending; the caller merges
     * them back (they are sticky). */
    uint8_t img[108] __attribute__((aligned(16)));
    memset(img, 0, sizeof(img));
    put16(img + 0, f->cw);
    put16(img + 4, f->sw & (FSW_CC | FSW_TOP));
    uint16_t tw = 0;
    for (unsigned i = 0; i < 8; i++)
        if (!((f->tag_valid >> i) & 1))
            tw |= (uint16_t)(FTAG_EMPTY << (2 * i));
    put16(img + 8, tw);
    unsigned top = (f->sw >> 11) & 7;
    for (unsigned i = 0; i < 8; i++) {
        const struct fpreg *r = &f->r[(top + i) & 7];
        memcpy(img + 28 + 10 * i, &r->mant, 8);
        put16(img + 28 + 10 * i + 8, r->sexp);
    }
    unsigned idx = (modrm >> 6) == 3 ? (unsigned)(opcode - 0xD8) * 64 + (modrm & 63)
                                      : 512 + (unsigned)(opcode - 0xD8) * 8 + ((modrm >> 3) & 7);
    const uint8_t *stub = bt86_fpu_stubs + 4 * idx;
    uint16_t hcw;
    uint64_t ax = (uint64_t)(((*eflags & (FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)) | 2) << 8);
    /* FRSTOR, the guest's instruction, FNSAVE (which also empties the host x87 again), and
     * the host's own control word back. Nothing between the instruction and FNSAVE waits, so
     * an unmasked error the guest instruction raised stays pending in the image only. */
    __asm__ volatile("fnstcw %[hcw]\n\t"
                     "frstor %[img]\n\t"
                     "leaq 1f(%%rip), %%rdx\n\t"
                     "sahf\n\t"
                     "jmp *%[stub]\n"
                     "1:\n\t"
                     "lahf\n\t"
                     "fnsave %[img]\n\t"
                     "fldcw %[hcw]\n\t"
                     : [img] "+m"(img), [hcw] "+m"(hcw), "+a"(ax)
                     : [stub] "r"(stub), "D"(mem)
                     : "rdx", "cc", "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)",
                       "st(6)", "st(7)");
    *eflags = (uint32_t)(ax >> 8) & 0xFF;
    out->cw = (uint16_t)get16(img + 0);
    out->sw = (uint16_t)get16(img + 4);
    out->tw = (uint16_t)get16(img + 8);
    for (unsigned i = 0; i < 8; i++) {
        memcpy(&out->st[i].mant, img + 28 + 10 * i, 8);
        out->st[i].sexp = (uint16_t)get16(img + 28 + 10 * i + 8);
        memset(out->st[i].pad, 0, sizeof(out->st[i].pad));
    }
}
