/* The one decoded-instruction format (DESIGN decision 1). cpu/decode.c fills it from bytes and
 * the code size; the interpreter and the translator both consume it.
 *
 * Operand convention. Most instructions have an "E" operand (ModRM r/m: a register, or memory
 * when INSN_F_MEM is set) and a "G" operand (ModRM reg). `form` says which is the destination:
 *   FORM_EG   E is destination, G is source         (ADD Ev,Gv)
 *   FORM_GE   G is destination, E is source         (ADD Gv,Ev, MOVZX, LEA, CMOVcc, BSF)
 *   FORM_EI   E is destination, `imm` is the source (ADD Ev,Iz; MOV r,imm; shifts by imm/1)
 *   FORM_E    E is the only operand                 (NOT, MUL, INC, PUSH Ev, SETcc)
 *   FORM_ECL  E is destination, CL is the count     (shifts)
 *   FORM_EGI  E dst, G src, `imm` count             (SHLD/SHRD Ib)
 *   FORM_EGCL E dst, G src, CL count                (SHLD/SHRD CL)
 *   FORM_I    only an immediate                     (PUSH Iz, INT Ib, IN AL,Ib, RET Iw)
 *   FORM_DX   port in DX                            (IN/OUT with DX)
 * Accumulator and register-in-opcode encodings are normalised to register E operands: ADD AL,Ib
 * is FORM_EI with rm = 0; MOV r32,imm is FORM_EI with rm = r; INC r is FORM_E with rm = r;
 * XCHG eAX,r is FORM_EG with rm = r and reg = 0. The moffs forms of MOV (A0-A3) are memory E
 * operands with no base and no index. */
#ifndef BT86_INSN_H
#define BT86_INSN_H

#include <stdbool.h>
#include <stdint.h>

#define INSN_NO_REG 0xFF
#define INSN_MAX_LEN 15

/* insn.flags */
#define INSN_F_MEM 0x01      /* the E operand is memory */
#define INSN_F_LOCK 0x02     /* LOCK prefix (already validated by the decoder) */
#define INSN_F_SEGOVR 0x04   /* a segment override prefix was present */
#define INSN_F_P66 0x08      /* operand-size prefix seen */
#define INSN_F_P67 0x10      /* address-size prefix seen */

/* insn.rep */
#define REP_NONE 0
#define REP_Z 1   /* F3: REP / REPE */
#define REP_NZ 2  /* F2: REPNE */

enum insn_form {
    FORM_NONE, FORM_EG, FORM_GE, FORM_EI, FORM_E, FORM_ECL, FORM_EGI, FORM_EGCL, FORM_I, FORM_DX,
};

/* X-macro list of operations. Groups with a ModRM reg selector are listed in selector order
 * (OP_ADD..OP_CMP, OP_ROL..OP_SAR) so that op = first + reg. */
#define INSN_OPS(X) \
    X(UD) X(UD2) \
    X(ADD) X(OR) X(ADC) X(SBB) X(AND) X(SUB) X(XOR) X(CMP) X(TEST) \
    X(ROL) X(ROR) X(RCL) X(RCR) X(SHL) X(SHR) X(SAL) X(SAR) X(SHLD) X(SHRD) \
    X(INC) X(DEC) X(NOT) X(NEG) X(MUL) X(IMUL1) X(DIV) X(IDIV) X(IMUL) X(IMUL3) \
    X(DAA) X(DAS) X(AAA) X(AAS) X(AAM) X(AAD) X(SALC) \
    X(BT) X(BTS) X(BTR) X(BTC) X(BSF) X(BSR) X(BSWAP) \
    X(MOV) X(MOVZX) X(MOVSX) X(LEA) X(XCHG) X(CMPXCHG) X(CMPXCHG8B) X(XADD) X(CMOV) X(SETCC) \
    X(MOV_FROM_SEG) X(MOV_TO_SEG) X(LSEG) X(CBW) X(CWD) X(XLAT) X(NOP) X(BOUND) X(ARPL) \
    X(PUSH) X(POP) X(PUSH_SEG) X(POP_SEG) X(PUSHA) X(POPA) X(PUSHF) X(POPF) X(ENTER) X(LEAVE) \
    X(SAHF) X(LAHF) X(CLC) X(STC) X(CMC) X(CLD) X(STD) X(CLI) X(STI) \
    X(JCC) X(JMP) X(JMP_E) X(JMPF) X(JMPF_M) X(CALL) X(CALL_E) X(CALLF) X(CALLF_M) \
    X(RET) X(RETF) X(IRET) X(INT) X(INT3) X(INTO) X(INT1) X(LOOP) X(LOOPE) X(LOOPNE) X(JCXZ) \
    X(MOVS) X(CMPS) X(STOS) X(LODS) X(SCAS) X(INS) X(OUTS) X(IN) X(OUT) \
    X(HLT) X(WAIT) X(FPU) X(MMX) X(EMMS) X(FXSAVE) X(FXRSTOR) \
    X(SLDT) X(STR) X(LLDT) X(LTR) X(VERR) X(VERW) X(SGDT) X(SIDT) X(LGDT) X(LIDT) X(SMSW) \
    X(LMSW) X(INVLPG) X(LAR) X(LSL) X(CLTS) X(INVD) X(WBINVD) \
    X(MOV_FROM_CR) X(MOV_TO_CR) X(MOV_FROM_DR) X(MOV_TO_DR) \
    X(WRMSR) X(RDMSR) X(RDTSC) X(RDPMC) X(SYSENTER) X(SYSEXIT) X(CPUID) X(RSM)

enum insn_op {
#define INSN_ENUM(name) OP_##name,
    INSN_OPS(INSN_ENUM)
#undef INSN_ENUM
    OP_COUNT
};

struct insn {
    uint16_t op;      /* enum insn_op */
    uint8_t len;      /* total length, 1..15 */
    uint8_t osize;    /* operand size in bytes: 1, 2 or 4 */
    uint8_t asize;    /* address size in bytes: 2 or 4 */
    uint8_t seg;      /* segment of the memory operand / string source (SR_*), default applied */
    uint8_t rep;      /* REP_* */
    uint8_t flags;    /* INSN_F_* */

    uint8_t form;     /* enum insn_form */
    uint8_t reg;      /* ModRM.reg (G operand / group selector / CRn / DRn) */
    uint8_t rm;       /* register number of E when it is not memory */
    uint8_t base;     /* memory base register, INSN_NO_REG if none */
    uint8_t index;    /* memory index register, INSN_NO_REG if none */
    uint8_t scale;    /* index shift, 0..3 */
    uint8_t cond;     /* condition code 0..15 for Jcc/SETcc/CMOVcc */
    uint8_t ssize;    /* source size of MOVZX/MOVSX (1 or 2) */

    uint8_t sreg;     /* segment register operand (MOV Sreg, PUSH/POP Sreg, LxS) */
    uint8_t opcode;   /* last opcode byte */
    uint8_t map;      /* 0: one-byte map, 1: 0F map */
    uint8_t modrm;    /* raw ModRM byte, 0 if none */

    int32_t disp;     /* memory displacement; branch displacement for relative transfers */
    uint32_t imm;     /* immediate (sign-extended to osize where the encoding says so) */
    uint32_t imm2;    /* second immediate: ENTER nesting level, far pointer selector */
};

enum decode_status {
    DEC_OK = 0,
    DEC_UD = -1,        /* invalid encoding: #UD (insn.len holds the length consumed, if known) */
    DEC_TOO_LONG = -2,  /* longer than 15 bytes: #GP(0) */
    DEC_NEED_MORE = -3, /* `avail` ended inside the instruction */
};

/* Decode one instruction. A pure function of the bytes and the code size. */
int decode_insn(struct insn *out, const uint8_t *bytes, unsigned avail, bool code32);

const char *insn_op_name(unsigned op);

#endif
