/* Table-driven decoder for the Pentium II integer, system, x87-escape and MMX opcode maps. */
#include "cpu/insn.h"

#include <string.h>

#include "cpu/cpu.h"

/* Attributes of an opcode table entry. */
#define A_MODRM 0x0001   /* a ModRM byte follows */
#define A_BYTE 0x0002    /* operand size is 8 bits */
#define A_LOCK 0x0004    /* LOCK allowed when E is memory */
#define A_MEM 0x0008     /* E must be memory (register form is #UD) */
#define A_REG 0x0010     /* E must be a register (memory form is #UD) */
#define A_GROUP 0x0020   /* op comes from a group table indexed by ModRM.reg */
#define A_ACC 0x0040     /* E is the accumulator (rm = 0) */
#define A_OPREG 0x0080   /* E is the register in the opcode's low three bits */
#define A_CRDR 0x0100    /* MOV CRn/DRn: ModRM always names registers, mod is ignored */
#define A_W16 0x0200     /* operand size is 16 bits whatever the prefixes */
#define A_COND 0x0400    /* condition code in the opcode's low nibble */
#define A_INVALID 0x8000

enum imm_kind {
    I_NONE, I_B, I_BS, I_W, I_Z, I_O, I_AP, I_JB, I_JZ, I_WB, I_ONE,
};

struct opdesc {
    uint16_t op;
    uint16_t attrs;
    uint8_t form;
    uint8_t imm;
    uint8_t group;  /* with A_GROUP: index into group_tables */
};

enum {
    G_1, G_1A, G_2, G_3B, G_3V, G_4, G_5, G_11, G_6, G_7, G_8, G_9, G_15, G_MMXSH, G_MMXSHQ,
    G_COUNT
};

#define D(op_, attrs_, form_, imm_) {OP_##op_, (attrs_), (form_), (imm_), 0}
#define GRP(g_, attrs_, form_, imm_) {0, (attrs_) | A_GROUP | A_MODRM, (form_), (imm_), (g_)}
#define BAD {OP_UD, A_INVALID, FORM_NONE, I_NONE, 0}

#define ALU6(op_, lk_) \
    D(op_, A_MODRM | A_BYTE | (lk_), FORM_EG, I_NONE), D(op_, A_MODRM | (lk_), FORM_EG, I_NONE), \
    D(op_, A_MODRM | A_BYTE, FORM_GE, I_NONE), D(op_, A_MODRM, FORM_GE, I_NONE), \
    D(op_, A_ACC | A_BYTE, FORM_EI, I_B), D(op_, A_ACC, FORM_EI, I_Z)

#define X8(...) __VA_ARGS__, __VA_ARGS__, __VA_ARGS__, __VA_ARGS__, __VA_ARGS__, __VA_ARGS__, __VA_ARGS__, __VA_ARGS__

static const struct opdesc map1[256] = {
    /* 00 */ ALU6(ADD, A_LOCK), D(PUSH_SEG, 0, FORM_NONE, I_NONE), D(POP_SEG, 0, FORM_NONE, I_NONE),
    /* 08 */ ALU6(OR, A_LOCK), D(PUSH_SEG, 0, FORM_NONE, I_NONE), BAD /* 0F escape */,
    /* 10 */ ALU6(ADC, A_LOCK), D(PUSH_SEG, 0, FORM_NONE, I_NONE), D(POP_SEG, 0, FORM_NONE, I_NONE),
    /* 18 */ ALU6(SBB, A_LOCK), D(PUSH_SEG, 0, FORM_NONE, I_NONE), D(POP_SEG, 0, FORM_NONE, I_NONE),
    /* 20 */ ALU6(AND, A_LOCK), BAD /* ES: */, D(DAA, 0, FORM_NONE, I_NONE),
    /* 28 */ ALU6(SUB, A_LOCK), BAD /* CS: */, D(DAS, 0, FORM_NONE, I_NONE),
    /* 30 */ ALU6(XOR, A_LOCK), BAD /* SS: */, D(AAA, 0, FORM_NONE, I_NONE),
    /* 38 */ ALU6(CMP, 0), BAD /* DS: */, D(AAS, 0, FORM_NONE, I_NONE),
    /* 40 */ X8(D(INC, A_OPREG, FORM_E, I_NONE)),
    /* 48 */ X8(D(DEC, A_OPREG, FORM_E, I_NONE)),
    /* 50 */ X8(D(PUSH, A_OPREG, FORM_E, I_NONE)),
    /* 58 */ X8(D(POP, A_OPREG, FORM_E, I_NONE)),
    /* 60 */ D(PUSHA, 0, FORM_NONE, I_NONE), D(POPA, 0, FORM_NONE, I_NONE),
    D(BOUND, A_MODRM | A_MEM, FORM_GE, I_NONE), D(ARPL, A_MODRM | A_W16, FORM_EG, I_NONE),
    BAD /* FS: */, BAD /* GS: */, BAD /* 66 */, BAD /* 67 */,
    /* 68 */ D(PUSH, 0, FORM_I, I_Z), D(IMUL3, A_MODRM, FORM_GE, I_Z),
    D(PUSH, 0, FORM_I, I_BS), D(IMUL3, A_MODRM, FORM_GE, I_BS),
    D(INS, A_BYTE, FORM_NONE, I_NONE), D(INS, 0, FORM_NONE, I_NONE),
    D(OUTS, A_BYTE, FORM_NONE, I_NONE), D(OUTS, 0, FORM_NONE, I_NONE),
    /* 70 */ X8(D(JCC, A_COND, FORM_NONE, I_JB)), X8(D(JCC, A_COND, FORM_NONE, I_JB)),
    /* 80 */ GRP(G_1, A_BYTE, FORM_EI, I_B), GRP(G_1, 0, FORM_EI, I_Z),
    GRP(G_1, A_BYTE, FORM_EI, I_B), GRP(G_1, 0, FORM_EI, I_BS),
    D(TEST, A_MODRM | A_BYTE, FORM_EG, I_NONE), D(TEST, A_MODRM, FORM_EG, I_NONE),
    D(XCHG, A_MODRM | A_BYTE | A_LOCK, FORM_EG, I_NONE), D(XCHG, A_MODRM | A_LOCK, FORM_EG, I_NONE),
    /* 88 */ D(MOV, A_MODRM | A_BYTE, FORM_EG, I_NONE), D(MOV, A_MODRM, FORM_EG, I_NONE),
    D(MOV, A_MODRM | A_BYTE, FORM_GE, I_NONE), D(MOV, A_MODRM, FORM_GE, I_NONE),
    D(MOV_FROM_SEG, A_MODRM, FORM_E, I_NONE), D(LEA, A_MODRM | A_MEM, FORM_GE, I_NONE),
    D(MOV_TO_SEG, A_MODRM | A_W16, FORM_E, I_NONE), GRP(G_1A, 0, FORM_E, I_NONE),
    /* 90 */ D(NOP, 0, FORM_NONE, I_NONE), D(XCHG, A_OPREG, FORM_EG, I_NONE),
    D(XCHG, A_OPREG, FORM_EG, I_NONE), D(XCHG, A_OPREG, FORM_EG, I_NONE),
    D(XCHG, A_OPREG, FORM_EG, I_NONE), D(XCHG, A_OPREG, FORM_EG, I_NONE),
    D(XCHG, A_OPREG, FORM_EG, I_NONE), D(XCHG, A_OPREG, FORM_EG, I_NONE),
    /* 98 */ D(CBW, 0, FORM_NONE, I_NONE), D(CWD, 0, FORM_NONE, I_NONE),
    D(CALLF, 0, FORM_NONE, I_AP), D(WAIT, 0, FORM_NONE, I_NONE),
    D(PUSHF, 0, FORM_NONE, I_NONE), D(POPF, 0, FORM_NONE, I_NONE),
    D(SAHF, 0, FORM_NONE, I_NONE), D(LAHF, 0, FORM_NONE, I_NONE),
    /* A0 */ D(MOV, A_BYTE, FORM_GE, I_O), D(MOV, 0, FORM_GE, I_O),
    D(MOV, A_BYTE, FORM_EG, I_O), D(MOV, 0, FORM_EG, I_O),
    D(MOVS, A_BYTE, FORM_NONE, I_NONE), D(MOVS, 0, FORM_NONE, I_NONE),
    D(CMPS, A_BYTE, FORM_NONE, I_NONE), D(CMPS, 0, FORM_NONE, I_NONE),
    /* A8 */ D(TEST, A_ACC | A_BYTE, FORM_EI, I_B), D(TEST, A_ACC, FORM_EI, I_Z),
    D(STOS, A_BYTE, FORM_NONE, I_NONE), D(STOS, 0, FORM_NONE, I_NONE),
    D(LODS, A_BYTE, FORM_NONE, I_NONE), D(LODS, 0, FORM_NONE, I_NONE),
    D(SCAS, A_BYTE, FORM_NONE, I_NONE), D(SCAS, 0, FORM_NONE, I_NONE),
    /* B0 */ X8(D(MOV, A_OPREG | A_BYTE, FORM_EI, I_B)),
    /* B8 */ X8(D(MOV, A_OPREG, FORM_EI, I_Z)),
    /* C0 */ GRP(G_2, A_BYTE, FORM_EI, I_B), GRP(G_2, 0, FORM_EI, I_B),
    D(RET, 0, FORM_I, I_W), D(RET, 0, FORM_NONE, I_NONE),
    D(LSEG, A_MODRM | A_MEM, FORM_GE, I_NONE), D(LSEG, A_MODRM | A_MEM, FORM_GE, I_NONE),
    GRP(G_11, A_BYTE, FORM_EI, I_B), GRP(G_11, 0, FORM_EI, I_Z),
    /* C8 */ D(ENTER, 0, FORM_NONE, I_WB), D(LEAVE, 0, FORM_NONE, I_NONE),
    D(RETF, 0, FORM_I, I_W), D(RETF, 0, FORM_NONE, I_NONE),
    D(INT3, 0, FORM_NONE, I_NONE), D(INT, 0, FORM_I, I_B),
    D(INTO, 0, FORM_NONE, I_NONE), D(IRET, 0, FORM_NONE, I_NONE),
    /* D0 */ GRP(G_2, A_BYTE, FORM_EI, I_ONE), GRP(G_2, 0, FORM_EI, I_ONE),
    GRP(G_2, A_BYTE, FORM_ECL, I_NONE), GRP(G_2, 0, FORM_ECL, I_NONE),
    D(AAM, 0, FORM_I, I_B), D(AAD, 0, FORM_I, I_B), D(SALC, 0, FORM_NONE, I_NONE),
    D(XLAT, 0, FORM_NONE, I_NONE),
    /* D8 */ X8(D(FPU, A_MODRM, FORM_E, I_NONE)),
    /* E0 */ D(LOOPNE, 0, FORM_NONE, I_JB), D(LOOPE, 0, FORM_NONE, I_JB),
    D(LOOP, 0, FORM_NONE, I_JB), D(JCXZ, 0, FORM_NONE, I_JB),
    D(IN, A_BYTE, FORM_I, I_B), D(IN, 0, FORM_I, I_B),
    D(OUT, A_BYTE, FORM_I, I_B), D(OUT, 0, FORM_I, I_B),
    /* E8 */ D(CALL, 0, FORM_NONE, I_JZ), D(JMP, 0, FORM_NONE, I_JZ),
    D(JMPF, 0, FORM_NONE, I_AP), D(JMP, 0, FORM_NONE, I_JB),
    D(IN, A_BYTE, FORM_DX, I_NONE), D(IN, 0, FORM_DX, I_NONE),
    D(OUT, A_BYTE, FORM_DX, I_NONE), D(OUT, 0, FORM_DX, I_NONE),
    /* F0 */ BAD /* LOCK */, D(INT1, 0, FORM_NONE, I_NONE), BAD /* F2 */, BAD /* F3 */,
    D(HLT, 0, FORM_NONE, I_NONE), D(CMC, 0, FORM_NONE, I_NONE),
    GRP(G_3B, A_BYTE, FORM_E, I_NONE), GRP(G_3V, 0, FORM_E, I_NONE),
    /* F8 */ D(CLC, 0, FORM_NONE, I_NONE), D(STC, 0, FORM_NONE, I_NONE),
    D(CLI, 0, FORM_NONE, I_NONE), D(STI, 0, FORM_NONE, I_NONE),
    D(CLD, 0, FORM_NONE, I_NONE), D(STD, 0, FORM_NONE, I_NONE),
    GRP(G_4, A_BYTE, FORM_E, I_NONE), GRP(G_5, 0, FORM_E, I_NONE),
};

#define MMX D(MMX, A_MODRM, FORM_GE, I_NONE)
#define X16(...) X8(__VA_ARGS__), X8(__VA_ARGS__)

static const struct opdesc map2[256] = {
    /* 00 */ GRP(G_6, A_W16, FORM_E, I_NONE), GRP(G_7, 0, FORM_E, I_NONE),
    D(LAR, A_MODRM, FORM_GE, I_NONE), D(LSL, A_MODRM, FORM_GE, I_NONE),
    BAD, BAD, D(CLTS, 0, FORM_NONE, I_NONE), BAD,
    /* 08 */ D(INVD, 0, FORM_NONE, I_NONE), D(WBINVD, 0, FORM_NONE, I_NONE), BAD,
    D(UD2, 0, FORM_NONE, I_NONE), BAD, BAD, BAD, BAD,
    /* 10 */ BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    /* 18: hint NOPs (NOP Ev on every P6) */ X8(D(NOP, A_MODRM, FORM_E, I_NONE)),
    /* 20 */ D(MOV_FROM_CR, A_MODRM | A_CRDR, FORM_EG, I_NONE),
    D(MOV_FROM_DR, A_MODRM | A_CRDR, FORM_EG, I_NONE),
    D(MOV_TO_CR, A_MODRM | A_CRDR, FORM_GE, I_NONE),
    D(MOV_TO_DR, A_MODRM | A_CRDR, FORM_GE, I_NONE), BAD, BAD, BAD, BAD,
    /* 28 */ BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    /* 30 */ D(WRMSR, 0, FORM_NONE, I_NONE), D(RDTSC, 0, FORM_NONE, I_NONE),
    D(RDMSR, 0, FORM_NONE, I_NONE), D(RDPMC, 0, FORM_NONE, I_NONE),
    D(SYSENTER, 0, FORM_NONE, I_NONE), D(SYSEXIT, 0, FORM_NONE, I_NONE), BAD, BAD,
    /* 38 */ BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    /* 40 */ X16(D(CMOV, A_MODRM | A_COND, FORM_GE, I_NONE)),
    /* 50 */ BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    /* 60 */ MMX, MMX, MMX, MMX, MMX, MMX, MMX, MMX, MMX, MMX, MMX, MMX, BAD, BAD, MMX, MMX,
    /* 70 */ BAD, GRP(G_MMXSH, A_REG, FORM_E, I_B), GRP(G_MMXSH, A_REG, FORM_E, I_B),
    GRP(G_MMXSHQ, A_REG, FORM_E, I_B), MMX, MMX, MMX, D(EMMS, 0, FORM_NONE, I_NONE),
    /* 78 */ BAD, BAD, BAD, BAD, BAD, BAD, MMX, MMX,
    /* 80 */ X16(D(JCC, A_COND, FORM_NONE, I_JZ)),
    /* 90 */ X16(D(SETCC, A_MODRM | A_COND | A_BYTE, FORM_E, I_NONE)),
    /* A0 */ D(PUSH_SEG, 0, FORM_NONE, I_NONE), D(POP_SEG, 0, FORM_NONE, I_NONE),
    D(CPUID, 0, FORM_NONE, I_NONE), D(BT, A_MODRM, FORM_EG, I_NONE),
    D(SHLD, A_MODRM, FORM_EGI, I_B), D(SHLD, A_MODRM, FORM_EGCL, I_NONE), BAD, BAD,
    /* A8 */ D(PUSH_SEG, 0, FORM_NONE, I_NONE), D(POP_SEG, 0, FORM_NONE, I_NONE),
    D(RSM, 0, FORM_NONE, I_NONE), D(BTS, A_MODRM | A_LOCK, FORM_EG, I_NONE),
    D(SHRD, A_MODRM, FORM_EGI, I_B), D(SHRD, A_MODRM, FORM_EGCL, I_NONE),
    GRP(G_15, A_MEM, FORM_E, I_NONE), D(IMUL, A_MODRM, FORM_GE, I_NONE),
    /* B0 */ D(CMPXCHG, A_MODRM | A_BYTE | A_LOCK, FORM_EG, I_NONE),
    D(CMPXCHG, A_MODRM | A_LOCK, FORM_EG, I_NONE),
    D(LSEG, A_MODRM | A_MEM, FORM_GE, I_NONE), D(BTR, A_MODRM | A_LOCK, FORM_EG, I_NONE),
    D(LSEG, A_MODRM | A_MEM, FORM_GE, I_NONE), D(LSEG, A_MODRM | A_MEM, FORM_GE, I_NONE),
    D(MOVZX, A_MODRM, FORM_GE, I_NONE), D(MOVZX, A_MODRM, FORM_GE, I_NONE),
    /* B8 */ BAD, BAD, GRP(G_8, 0, FORM_EI, I_B), D(BTC, A_MODRM | A_LOCK, FORM_EG, I_NONE),
    D(BSF, A_MODRM, FORM_GE, I_NONE), D(BSR, A_MODRM, FORM_GE, I_NONE),
    D(MOVSX, A_MODRM, FORM_GE, I_NONE), D(MOVSX, A_MODRM, FORM_GE, I_NONE),
    /* C0 */ D(XADD, A_MODRM | A_BYTE | A_LOCK, FORM_EG, I_NONE),
    D(XADD, A_MODRM | A_LOCK, FORM_EG, I_NONE), BAD, BAD, BAD, BAD, BAD,
    GRP(G_9, A_MEM, FORM_E, I_NONE),
    /* C8 */ X8(D(BSWAP, A_OPREG, FORM_E, I_NONE)),
    /* D0 */ BAD, MMX, MMX, MMX, BAD, MMX, BAD, BAD, MMX, MMX, BAD, MMX, MMX, MMX, BAD, MMX,
    /* E0 */ BAD, MMX, MMX, BAD, BAD, MMX, BAD, BAD, MMX, MMX, BAD, MMX, MMX, MMX, BAD, MMX,
    /* F0 */ BAD, MMX, MMX, MMX, BAD, MMX, BAD, BAD, MMX, MMX, MMX, BAD, MMX, MMX, MMX, BAD,
};

/* Group tables: op, extra attributes, form/imm overrides (0 = keep the outer entry's). */
static const struct opdesc group_tables[G_COUNT][8] = {
    [G_1] = {D(ADD, A_LOCK, 0, 0), D(OR, A_LOCK, 0, 0), D(ADC, A_LOCK, 0, 0), D(SBB, A_LOCK, 0, 0),
             D(AND, A_LOCK, 0, 0), D(SUB, A_LOCK, 0, 0), D(XOR, A_LOCK, 0, 0), D(CMP, 0, 0, 0)},
    [G_1A] = {D(POP, 0, 0, 0), BAD, BAD, BAD, BAD, BAD, BAD, BAD},
    [G_2] = {D(ROL, 0, 0, 0), D(ROR, 0, 0, 0), D(RCL, 0, 0, 0), D(RCR, 0, 0, 0),
             D(SHL, 0, 0, 0), D(SHR, 0, 0, 0), D(SAL, 0, 0, 0), D(SAR, 0, 0, 0)},
    [G_3B] = {D(TEST, 0, FORM_EI, I_B), D(TEST, 0, FORM_EI, I_B), D(NOT, A_LOCK, 0, 0),
              D(NEG, A_LOCK, 0, 0), D(MUL, 0, 0, 0), D(IMUL1, 0, 0, 0), D(DIV, 0, 0, 0),
              D(IDIV, 0, 0, 0)},
    [G_3V] = {D(TEST, 0, FORM_EI, I_Z), D(TEST, 0, FORM_EI, I_Z), D(NOT, A_LOCK, 0, 0),
              D(NEG, A_LOCK, 0, 0), D(MUL, 0, 0, 0), D(IMUL1, 0, 0, 0), D(DIV, 0, 0, 0),
              D(IDIV, 0, 0, 0)},
    [G_4] = {D(INC, A_LOCK, 0, 0), D(DEC, A_LOCK, 0, 0), BAD, BAD, BAD, BAD, BAD, BAD},
    [G_5] = {D(INC, A_LOCK, 0, 0), D(DEC, A_LOCK, 0, 0), D(CALL_E, 0, 0, 0),
             D(CALLF_M, A_MEM, 0, 0), D(JMP_E, 0, 0, 0), D(JMPF_M, A_MEM, 0, 0),
             D(PUSH, 0, 0, 0), BAD},
    [G_11] = {D(MOV, 0, 0, 0), BAD, BAD, BAD, BAD, BAD, BAD, BAD},
    [G_6] = {D(SLDT, 0, 0, 0), D(STR, 0, 0, 0), D(LLDT, 0, 0, 0), D(LTR, 0, 0, 0),
             D(VERR, 0, 0, 0), D(VERW, 0, 0, 0), BAD, BAD},
    [G_7] = {D(SGDT, A_MEM, 0, 0), D(SIDT, A_MEM, 0, 0), D(LGDT, A_MEM, 0, 0),
             D(LIDT, A_MEM, 0, 0), D(SMSW, 0, 0, 0), BAD, D(LMSW, A_W16, 0, 0),
             D(INVLPG, A_MEM, 0, 0)},
    [G_8] = {BAD, BAD, BAD, BAD, D(BT, 0, 0, 0), D(BTS, A_LOCK, 0, 0), D(BTR, A_LOCK, 0, 0),
             D(BTC, A_LOCK, 0, 0)},
    [G_9] = {BAD, D(CMPXCHG8B, A_LOCK, 0, 0), BAD, BAD, BAD, BAD, BAD, BAD},
    [G_15] = {D(FXSAVE, 0, 0, 0), D(FXRSTOR, 0, 0, 0), BAD, BAD, BAD, BAD, BAD, BAD},
    /* 0F 71/72: PSRLx /2, PSRAx /4, PSLLx /6 by immediate. 0F 73 has no /4 (there is no
     * PSRAQ); its /3 and /7 (PSRLDQ/PSLLDQ) are SSE2 with 66 only. */
    [G_MMXSH] = {BAD, BAD, D(MMX, 0, 0, 0), BAD, D(MMX, 0, 0, 0), BAD, D(MMX, 0, 0, 0), BAD},
    [G_MMXSHQ] = {BAD, BAD, D(MMX, 0, 0, 0), BAD, BAD, BAD, D(MMX, 0, 0, 0), BAD},
};

static const char *const op_names[OP_COUNT] = {
#define INSN_NAME(name) #name,
    INSN_OPS(INSN_NAME)
#undef INSN_NAME
};

const char *insn_op_name(unsigned op) { return op < OP_COUNT ? op_names[op] : "?"; }

/* Byte reader over the caller's buffer that tracks the 15-byte limit and the end of input. */
struct reader {
    const uint8_t *p;
    unsigned pos, avail;
    int status;
};

static uint32_t take(struct reader *r, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        if (r->pos >= INSN_MAX_LEN) {
            if (!r->status)
                r->status = DEC_TOO_LONG;
            return 0;
        }
        if (r->pos >= r->avail) {
            if (!r->status)
                r->status = DEC_NEED_MORE;
            return 0;
        }
        v |= (uint32_t)r->p[r->pos++] << (8 * i);
    }
    return v;
}

static void decode_modrm_mem(struct reader *r, struct insn *in, uint8_t mod, uint8_t rm)
{
    in->flags |= INSN_F_MEM;
    in->base = in->index = INSN_NO_REG;
    in->scale = 0;
    bool ss_default = false;
    if (in->asize == 2) {
        static const uint8_t base16[8] = {R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX};
        static const uint8_t index16[8] = {R_ESI, R_EDI, R_ESI, R_EDI, INSN_NO_REG, INSN_NO_REG,
                                           INSN_NO_REG, INSN_NO_REG};
        if (mod == 0 && rm == 6) {
            in->disp = (int32_t)take(r, 2);
        } else {
            in->base = base16[rm];
            in->index = index16[rm];
            ss_default = in->base == R_EBP;
            if (mod == 1)
                in->disp = (int8_t)take(r, 1);
            else if (mod == 2)
                in->disp = (int32_t)take(r, 2);
        }
    } else {
        if (rm == 4) {
            uint8_t sib = (uint8_t)take(r, 1);
            uint8_t sbase = sib & 7, sidx = (sib >> 3) & 7;
            in->scale = sib >> 6;
            in->index = sidx == 4 ? INSN_NO_REG : sidx;
            if (sbase == 5 && mod == 0) {
                in->disp = (int32_t)take(r, 4);
            } else {
                in->base = sbase;
                ss_default = sbase == R_ESP || sbase == R_EBP;
            }
        } else if (rm == 5 && mod == 0) {
            in->disp = (int32_t)take(r, 4);
        } else {
            in->base = rm;
            ss_default = rm == R_EBP;
        }
        if (mod == 1)
            in->disp = (int8_t)take(r, 1);
        else if (mod == 2)
            in->disp = (int32_t)take(r, 4);
    }
    if (!(in->flags & INSN_F_SEGOVR))
        in->seg = ss_default ? SR_SS : SR_DS;
}

static uint32_t sign_extend(uint32_t v, unsigned bytes)
{
    if (bytes == 1)
        return (uint32_t)(int32_t)(int8_t)v;
    if (bytes == 2)
        return (uint32_t)(int32_t)(int16_t)v;
    return v;
}

static void decode_immediates(struct reader *r, struct insn *in, uint8_t kind)
{
    switch (kind) {
    case I_B: in->imm = take(r, 1); break;
    case I_BS: in->imm = sign_extend(take(r, 1), 1) & (in->osize == 2 ? 0xFFFFu : 0xFFFFFFFFu); break;
    case I_W: in->imm = take(r, 2); break;
    case I_Z: in->imm = take(r, in->osize == 1 ? 1 : in->osize); break;
    case I_O:
        /* MOV moffs: a memory operand at an absolute offset of address size. */
        in->flags |= INSN_F_MEM;
        in->base = in->index = INSN_NO_REG;
        in->disp = (int32_t)take(r, in->asize);
        break;
    case I_AP:
        in->imm = take(r, in->osize);
        in->imm2 = take(r, 2);
        break;
    case I_JB: in->disp = (int8_t)take(r, 1); break;
    case I_JZ: in->disp = (int32_t)sign_extend(take(r, in->osize), in->osize); break;
    case I_WB:
        in->imm = take(r, 2);
        in->imm2 = take(r, 1);
        break;
    case I_ONE: in->imm = 1; break;
    default: break;
    }
}

/* Segment register operand implied by the opcode (PUSH/POP Sreg, LxS). */
static uint8_t implied_sreg(uint8_t map, uint8_t opc)
{
    if (map == 0) {
        switch (opc) {
        case 0x06: case 0x07: return SR_ES;
        case 0x0E: return SR_CS;
        case 0x16: case 0x17: return SR_SS;
        case 0x1E: case 0x1F: return SR_DS;
        case 0xC4: return SR_ES;
        case 0xC5: return SR_DS;
        default: return 0;
        }
    }
    switch (opc) {
    case 0xA0: case 0xA1: case 0xB4: return SR_FS;
    case 0xA8: case 0xA9: case 0xB5: return SR_GS;
    case 0xB2: return SR_SS;
    default: return 0;
    }
}

int decode_insn(struct insn *out, const uint8_t *bytes, unsigned avail, bool code32)
{
    struct reader r = {bytes, 0, avail, DEC_OK};
    struct insn in;
    memset(&in, 0, sizeof(in));
    in.base = in.index = INSN_NO_REG;
    in.seg = SR_DS;
    bool opsize_pfx = false, addrsize_pfx = false;
    bool invalid = false; /* set before any goto out can skip it */

    uint8_t b;
    for (;;) {
        b = (uint8_t)take(&r, 1);
        if (r.status)
            goto out;
        switch (b) {
        case 0x26: in.seg = SR_ES; in.flags |= INSN_F_SEGOVR; continue;
        case 0x2E: in.seg = SR_CS; in.flags |= INSN_F_SEGOVR; continue;
        case 0x36: in.seg = SR_SS; in.flags |= INSN_F_SEGOVR; continue;
        case 0x3E: in.seg = SR_DS; in.flags |= INSN_F_SEGOVR; continue;
        case 0x64: in.seg = SR_FS; in.flags |= INSN_F_SEGOVR; continue;
        case 0x65: in.seg = SR_GS; in.flags |= INSN_F_SEGOVR; continue;
        case 0x66: opsize_pfx = true; in.flags |= INSN_F_P66; continue;
        case 0x67: addrsize_pfx = true; in.flags |= INSN_F_P67; continue;
        case 0xF0: in.flags |= INSN_F_LOCK; continue;
        case 0xF2: in.rep = REP_NZ; continue;
        case 0xF3: in.rep = REP_Z; continue;
        default: break;
        }
        break;
    }
    in.osize = (code32 ^ opsize_pfx) ? 4 : 2;
    in.asize = (code32 ^ addrsize_pfx) ? 4 : 2;

    const struct opdesc *d;
    if (b == 0x0F) {
        b = (uint8_t)take(&r, 1);
        if (r.status)
            goto out;
        in.map = 1;
        d = &map2[b];
    } else {
        d = &map1[b];
    }
    in.opcode = b;
    uint16_t attrs = d->attrs;
    uint8_t form = d->form, imm = d->imm;
    in.op = d->op;
    invalid = attrs & A_INVALID;

    if (attrs & A_MODRM) {
        in.modrm = (uint8_t)take(&r, 1);
        if (r.status)
            goto out;
        in.reg = (in.modrm >> 3) & 7;
        uint8_t mod = in.modrm >> 6, rm = in.modrm & 7;
        if (attrs & A_GROUP) {
            const struct opdesc *g = &group_tables[d->group][in.reg];
            in.op = g->op;
            attrs |= g->attrs;
            if (g->form)
                form = g->form;
            if (g->imm)
                imm = g->imm;
            invalid |= (g->attrs & A_INVALID) != 0;
        }
        if (mod == 3 || (attrs & A_CRDR)) {
            in.rm = rm;
            if (attrs & A_MEM)
                invalid = true;
        } else {
            decode_modrm_mem(&r, &in, mod, rm);
            if (attrs & A_REG)
                invalid = true;
        }
    } else if (attrs & A_OPREG) {
        in.rm = b & 7;
    }
    in.form = form;

    if (attrs & A_BYTE)
        in.osize = 1;
    else if (attrs & A_W16)
        in.osize = 2;
    if (attrs & A_COND)
        in.cond = b & 15;
    if (in.op == OP_MOVZX || in.op == OP_MOVSX)
        in.ssize = (b & 1) ? 2 : 1;
    if (in.op == OP_PUSH_SEG || in.op == OP_POP_SEG || in.op == OP_LSEG)
        in.sreg = implied_sreg(in.map, b);
    if (in.op == OP_MOV_FROM_SEG || in.op == OP_MOV_TO_SEG)
        in.sreg = in.reg;

    decode_immediates(&r, &in, imm);
    if (r.status)
        goto out;

    /* Rules the tables cannot express. */
    if ((in.op == OP_MOV_TO_SEG && (in.sreg == SR_CS || in.sreg > SR_GS)) ||
        (in.op == OP_MOV_FROM_SEG && in.sreg > SR_GS))
        invalid = true;
    if ((in.op == OP_MOV_FROM_CR || in.op == OP_MOV_TO_CR) &&
        !(in.reg == 0 || in.reg == 2 || in.reg == 3 || in.reg == 4))
        invalid = true;
    if ((in.flags & INSN_F_LOCK) && (!(attrs & A_LOCK) || !(in.flags & INSN_F_MEM)))
        invalid = true;
    /* Stores of a 16-bit system value (MOV r/m,Sreg; SLDT; STR; SMSW): a memory destination is
     * always 16 bits; a register destination has the operand size (the P6 zero-extends into a
     * 32-bit register, SDM MOV/SLDT/STR/SMSW). */
    if (in.op == OP_MOV_FROM_SEG || in.op == OP_SLDT || in.op == OP_STR || in.op == OP_SMSW)
        in.osize = (in.flags & INSN_F_MEM) ? 2 : (code32 ^ opsize_pfx) ? 4 : 2;

out:
    in.len = (uint8_t)r.pos;
    *out = in;
    if (r.status)
        return r.status;
    if (invalid) {
        out->op = OP_UD;
        return DEC_UD;
    }
    return DEC_OK;
}
