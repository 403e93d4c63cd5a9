/* x87 FPU and MMX: state helpers shared by cpu/exec_x87.c, cpu/exec_mmx.c and tests.
 *
 * The guest's x87 state lives in cpu->fpu (struct x87, cpu/cpu.h): physical registers, CW, SW
 * (with TOP), the abridged tag (the P6 keeps only empty/valid; full tags are computed from the
 * contents when stored) and the last-instruction pointers. Computational instructions run on
 * the host's own x87 (cpu/fpu.c, fpu_host_run): the guest state is loaded with FRSTOR, the
 * guest's instruction bytes run natively from a table of stubs, and FNSAVE takes the state
 * back, so results, flags and unmasked-exception responses are those of a real x87. The
 * control instructions (environment, save/restore formats, FINIT, FCLEX, FSTSW/FSTCW/FLDCW)
 * and MMX are written in C. */
#ifndef BT86_FPU_H
#define BT86_FPU_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"

/* Status word */
#define FSW_IE 0x0001u
#define FSW_DE 0x0002u
#define FSW_ZE 0x0004u
#define FSW_OE 0x0008u
#define FSW_UE 0x0010u
#define FSW_PE 0x0020u
#define FSW_SF 0x0040u
#define FSW_ES 0x0080u
#define FSW_C0 0x0100u
#define FSW_C1 0x0200u
#define FSW_C2 0x0400u
#define FSW_TOP 0x3800u
#define FSW_C3 0x4000u
#define FSW_B 0x8000u
#define FSW_EXC 0x003Fu    /* the six exception flags */
#define FSW_STICKY 0x007Fu /* flags plus SF: only FCLEX/FINIT/loads clear them */
#define FSW_CC (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)

/* Control word */
#define FCW_MASKS 0x003Fu
#define FCW_DEFAULT 0x037Fu /* after FINIT */
#define FCW_RESET 0x0040u   /* after RESET (SDM table 9-1) */

/* Full tag values */
#define FTAG_VALID 0u
#define FTAG_ZERO 1u
#define FTAG_SPECIAL 2u
#define FTAG_EMPTY 3u

static inline unsigned fpu_top(const struct cpu *c) { return (c->fpu.sw >> 11) & 7; }
static inline void fpu_set_top(struct cpu *c, unsigned top)
{
    c->fpu.sw = (uint16_t)((c->fpu.sw & ~FSW_TOP) | ((top & 7) << 11));
}

/* SW with ES and B recomputed from the flags and the CW masks. The SW also summarises a
 * stack fault (SF only ever comes with IE, so ES already covers it). */
static inline uint16_t fpu_sw_summary(uint16_t sw, uint16_t cw)
{
    sw &= (uint16_t)~(FSW_ES | FSW_B);
    if (sw & ~cw & FSW_EXC)
        sw |= FSW_ES | FSW_B;
    return sw;
}

/* Full 2-bit tag of a (non-empty) register from its contents. */
static inline unsigned fpu_tag_of(const struct fpreg *r)
{
    unsigned e = r->sexp & 0x7FFF;
    if (e == 0x7FFF)
        return FTAG_SPECIAL;
    if (e == 0)
        return r->mant ? FTAG_SPECIAL : FTAG_ZERO;
    return (r->mant >> 63) ? FTAG_VALID : FTAG_SPECIAL; /* unnormals are special */
}

/* The 16-bit tag word, physical register order. */
uint16_t fpu_full_tag(const struct cpu *c);
/* Abridged tag (FXSAVE) from a full tag word, and back is fpu_full_tag(). */
static inline uint8_t fpu_abridge_tag(uint16_t tw)
{
    uint8_t t = 0;
    for (unsigned i = 0; i < 8; i++)
        if (((tw >> (2 * i)) & 3) != FTAG_EMPTY)
            t |= (uint8_t)(1u << i);
    return t;
}

/* Power-on state (SDM table 9-1) and FNINIT. */
void fpu_reset(struct cpu *c);
void fpu_finit(struct cpu *c);

/* Set the SW (recomputing ES/B) and follow it with FERR#: a cleared ES releases FERR# and
 * IGNNE#. Every change of SW or CW goes through here. */
void fpu_update_sw(struct cpu *c, uint16_t sw);

/* #NM for ESC instructions when CR0.EM or CR0.TS is set. */
static inline void fpu_check_nm(struct cpu *c)
{
    if (c->cr0 & (CR0_EM | CR0_TS))
        cpu_fault(c, EXC_NM);
}

/* The pending-error check of a waiting instruction (all but FNINIT, FNCLEX, FNSTSW, FNSTCW,
 * FNSTENV, FNSAVE): #MF with CR0.NE, else FERR# and a freeze until an interrupt (IRQ 13)
 * comes, unless IGNNE# is asserted. Returns false when the instruction must not run now
 * (frozen: EIP is back at it). */
bool fpu_check_pending(struct cpu *c);

/* Guest memory of any length (x87 operands, environments, save areas). The whole range is
 * checked (segment, pages) before the first byte moves. */
void fpu_mem_read(struct cpu *c, int sreg, uint32_t off, void *buf, unsigned len, unsigned align);
void fpu_mem_probe_write(struct cpu *c, int sreg, uint32_t off, unsigned len, unsigned align);
void fpu_mem_write(struct cpu *c, int sreg, uint32_t off, const void *buf, unsigned len);

/* Environment (FLDENV/FSTENV) and save area (FSAVE/FRSTOR) in the four formats picked by
 * the operand size and the mode (real/v8086 or protected). */
unsigned fpu_env_size(const struct cpu *c, unsigned osize);
void fpu_store_env(struct cpu *c, uint8_t *out, unsigned osize);
void fpu_load_env(struct cpu *c, const uint8_t *in, unsigned osize);

/* The whole save area (environment, then ST(0)..ST(7) as 10-byte values): FNSAVE without
 * the re-initialisation, and FRSTOR. */
void fpu_store_save_area(struct cpu *c, uint8_t *out, unsigned osize);
void fpu_load_save_area(struct cpu *c, const uint8_t *in, unsigned osize);

/* FLDCW: bit 6 reads as 1, bits 7 and 13-15 as 0 (bit 12, the 287's infinity control, is
 * kept, as real processors keep it). */
static inline uint16_t fpu_cw_load_value(uint32_t v) { return (uint16_t)((v & 0x1F3Fu) | 0x40u); }

/* The 512-byte FXSAVE image (bytes 0-159: no SSE state) and its inverse. */
void fpu_fxsave_image(const struct cpu *c, uint8_t out[160]);
void fpu_fxrstor_image(struct cpu *c, const uint8_t in[160]);

/* Run one x87 instruction on the host x87. `modrm` selects the stub (with `opcode` D8-DF);
 * for memory forms `mem` points at a buffer the instruction reads or writes. The guest state
 * is loaded, the instruction executed with the guest's CW, and the state stored back into
 * `out` (a copy of the guest's state: the caller commits it). `*eflags` carries ZF/PF/CF in
 * (FCMOV) and out (FCOMI). */
struct fpu_host_state {
    struct fpreg st[8]; /* stack order: ST(0)..ST(7) */
    uint16_t cw, sw, tw;
};
void fpu_host_run(const struct cpu *c, uint8_t opcode, uint8_t modrm, void *mem,
                  uint32_t *eflags, struct fpu_host_state *out);
/* The same instruction with only the registers it reads loaded (cpu/x87_light.c), the guest
 * state updated in place; false, having changed nothing, when it needs fpu_host_run(). */
bool fpu_light_run(struct cpu *c, uint8_t opcode, uint8_t modrm, void *mem, uint32_t *eflags);

/* MMX transitions: any MMX instruction but EMMS sets TOP = 0 and every tag valid. */
static inline void mmx_enter(struct cpu *c)
{
    fpu_set_top(c, 0);
    c->fpu.tag_valid = 0xFF;
}

#endif
