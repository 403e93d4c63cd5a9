/* Differential test of cpu/decode.c against capstone 4 (DESIGN decision 1: capstone is the
 * independent check of the one decoder). ctest label `diff`.
 *
 * Random part: seeded, reproducible byte strings (1,000,000 per mode by default) in 16-bit and
 * 32-bit code, biased towards prefixes (up to 14, so that 15- and 16-byte instructions occur),
 * the 0F map, the x87 escapes, the group opcodes, every ModRM/SIB/displacement form and edge
 * values of displacements and immediates. Sweep part: every opcode of both maps with every
 * ModRM byte, under eight prefix sets, in both modes. Each string is decoded once by both
 * decoders and classified:
 *
 *   agree          capstone decodes an i686 instruction, decode_insn() says DEC_OK, same length,
 *                  and every field capstone also reports agrees (check_prefixes/osize/mem/imm:
 *                  66/67/LOCK/REP/segment prefixes, address size, operand size, the memory
 *                  operand's base/index/scale/displacement and segment with the SS default for
 *                  BP/EBP/ESP bases, string operands, immediates, branch targets)
 *   both refuse    capstone refuses, decode_insn() says DEC_UD
 *   too long       decode_insn() says DEC_TOO_LONG and capstone refuses (it enforces 15 bytes)
 *   not i686       capstone decodes something that is not a Pentium II instruction (SSE, 3DNow!,
 *                  VMX, ...): DEC_UD is expected; where we decode it (the P6 meaning of the same
 *                  bytes, e.g. F3 0F BC is BSF with an ignored REP, 0F 18 /0 is a hint NOP),
 *                  the lengths, prefixes and memory operand must still agree
 *
 * Everything else is a disagreement: a length mismatch, DEC_UD where capstone decodes an i686
 * instruction, DEC_OK where capstone refuses, or a field mismatch. Each disagreement (each
 * mismatching field separately) must match an entry of the explicit exception table below:
 * narrow predicates, each with its reason, the same list as KNOWN_DIFFERENCES.md. One
 * unmatched disagreement fails the test.
 *
 * "i686 instruction" (the rule): capstone's instruction id is in p6_id_list[] (the integer,
 * system, x87 and MMX instructions of a Pentium II, written from the SDM), none of its groups is
 * an ISA extension the Pentium II lacks (excluded_group()), and none of its operands is an
 * XMM/YMM/ZMM or mask register (66-prefixed MMX opcodes are SSE2 in capstone, same id).
 *
 * Directed part (independent of capstone): the 15-byte limit at every boundary, LOCK on every
 * opcode/group/operand form against the SDM's list of lockable instructions, and the decoder
 * decisions taken here (directed_decisions()).
 *
 * Usage: decoder_vs_capstone [--iters N] [--seed S] [--examples N] [--hist] [--dump MNEMONIC]
 *        decoder_vs_capstone --show 16|32 HEX...      (print both decodes of each hex string)
 * --hist lists what capstone decoded that is not i686 (to review the rule), --dump prints those
 * samples for one capstone mnemonic. */
#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"

#define BUF_LEN 24 /* longer than any instruction: exercises the 15-byte limit, never NEED_MORE */

/* ------------------------------------------------------------------------------------------ */
/* Random numbers: splitmix64, so a seed reproduces a run on every host. */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned rnd(unsigned n) { return (unsigned)(rnd64() % n); }

/* ------------------------------------------------------------------------------------------ */
/* Which capstone instructions are Pentium II instructions. */

static const x86_insn p6_id_list[] = {
    /* integer */
    X86_INS_AAA, X86_INS_AAD, X86_INS_AAM, X86_INS_AAS, X86_INS_ADC, X86_INS_ADD, X86_INS_AND,
    X86_INS_ARPL, X86_INS_BOUND, X86_INS_BSF, X86_INS_BSR, X86_INS_BSWAP, X86_INS_BT,
    X86_INS_BTC, X86_INS_BTR, X86_INS_BTS, X86_INS_CALL, X86_INS_LCALL, X86_INS_CBW,
    X86_INS_CWDE, X86_INS_CWD, X86_INS_CDQ, X86_INS_CLC, X86_INS_CLD, X86_INS_CLI, X86_INS_CMC,
    X86_INS_CMOVA, X86_INS_CMOVAE, X86_INS_CMOVB, X86_INS_CMOVBE, X86_INS_CMOVE, X86_INS_CMOVG,
    X86_INS_CMOVGE, X86_INS_CMOVL, X86_INS_CMOVLE, X86_INS_CMOVNE, X86_INS_CMOVNO,
    X86_INS_CMOVNP, X86_INS_CMOVNS, X86_INS_CMOVO, X86_INS_CMOVP, X86_INS_CMOVS, X86_INS_CMP,
    X86_INS_CMPSB, X86_INS_CMPSW, X86_INS_CMPSD, X86_INS_CMPXCHG, X86_INS_CMPXCHG8B,
    X86_INS_CPUID, X86_INS_DAA, X86_INS_DAS, X86_INS_DEC, X86_INS_DIV, X86_INS_ENTER,
    X86_INS_HLT, X86_INS_IDIV, X86_INS_IMUL, X86_INS_IN, X86_INS_INC, X86_INS_INSB,
    X86_INS_INSW, X86_INS_INSD, X86_INS_INT, X86_INS_INT1, X86_INS_INT3, X86_INS_INTO,
    X86_INS_IRET, X86_INS_IRETD, X86_INS_JAE, X86_INS_JA, X86_INS_JBE, X86_INS_JB,
    X86_INS_JCXZ, X86_INS_JECXZ, X86_INS_JE, X86_INS_JGE, X86_INS_JG, X86_INS_JLE, X86_INS_JL,
    X86_INS_JMP, X86_INS_LJMP, X86_INS_JNE, X86_INS_JNO, X86_INS_JNP, X86_INS_JNS, X86_INS_JO,
    X86_INS_JP, X86_INS_JS, X86_INS_LAHF, X86_INS_LDS, X86_INS_LEA, X86_INS_LEAVE, X86_INS_LES,
    X86_INS_LFS, X86_INS_LGS, X86_INS_LSS, X86_INS_LODSB, X86_INS_LODSW, X86_INS_LODSD,
    X86_INS_LOOP, X86_INS_LOOPE, X86_INS_LOOPNE, X86_INS_MOV, X86_INS_MOVSB, X86_INS_MOVSW,
    X86_INS_MOVSD, X86_INS_MOVSX, X86_INS_MOVZX, X86_INS_MUL, X86_INS_NEG, X86_INS_NOP,
    X86_INS_NOT, X86_INS_OR, X86_INS_OUT, X86_INS_OUTSB, X86_INS_OUTSW, X86_INS_OUTSD,
    X86_INS_POP, X86_INS_POPAW, X86_INS_POPAL, X86_INS_POPF, X86_INS_POPFD, X86_INS_PUSH,
    X86_INS_PUSHAW, X86_INS_PUSHAL, X86_INS_PUSHF, X86_INS_PUSHFD, X86_INS_RCL, X86_INS_RCR,
    X86_INS_RET, X86_INS_RETF, X86_INS_ROL, X86_INS_ROR, X86_INS_SAHF, X86_INS_SAL,
    X86_INS_SALC, X86_INS_SAR, X86_INS_SBB, X86_INS_SCASB, X86_INS_SCASW, X86_INS_SCASD,
    X86_INS_SETAE, X86_INS_SETA, X86_INS_SETBE, X86_INS_SETB, X86_INS_SETE, X86_INS_SETGE,
    X86_INS_SETG, X86_INS_SETLE, X86_INS_SETL, X86_INS_SETNE, X86_INS_SETNO, X86_INS_SETNP,
    X86_INS_SETNS, X86_INS_SETO, X86_INS_SETP, X86_INS_SETS, X86_INS_SHL, X86_INS_SHLD,
    X86_INS_SHR, X86_INS_SHRD, X86_INS_STC, X86_INS_STD, X86_INS_STI, X86_INS_STOSB,
    X86_INS_STOSW, X86_INS_STOSD, X86_INS_SUB, X86_INS_TEST, X86_INS_UD2, X86_INS_WAIT,
    X86_INS_XADD, X86_INS_XCHG, X86_INS_XLATB, X86_INS_XOR,
    /* UD1/UD0 are defined by the SDM as "raise #UD"; capstone names them (see the exceptions) */
    X86_INS_UD2B, X86_INS_UD0,
    /* system */
    X86_INS_CLTS, X86_INS_INVD, X86_INS_INVLPG, X86_INS_LAR, X86_INS_LGDT, X86_INS_LIDT,
    X86_INS_LLDT, X86_INS_LMSW, X86_INS_LSL, X86_INS_LTR, X86_INS_RDMSR, X86_INS_RDPMC,
    X86_INS_RDTSC, X86_INS_RSM, X86_INS_SGDT, X86_INS_SIDT, X86_INS_SLDT, X86_INS_SMSW,
    X86_INS_STR, X86_INS_SYSENTER, X86_INS_SYSEXIT, X86_INS_VERR, X86_INS_VERW,
    X86_INS_WBINVD, X86_INS_WRMSR, X86_INS_FXSAVE, X86_INS_FXRSTOR,
    /* x87 (P6 adds FCMOVcc, FCOMI, FUCOMI) */
    X86_INS_F2XM1, X86_INS_FABS, X86_INS_FADD, X86_INS_FADDP, X86_INS_FBLD, X86_INS_FBSTP,
    X86_INS_FCHS, X86_INS_FCMOVB, X86_INS_FCMOVBE, X86_INS_FCMOVE, X86_INS_FCMOVNB,
    X86_INS_FCMOVNBE, X86_INS_FCMOVNE, X86_INS_FCMOVNU, X86_INS_FCMOVU, X86_INS_FCOM,
    X86_INS_FCOMI, X86_INS_FCOMIP, X86_INS_FCOMP, X86_INS_FCOMPP, X86_INS_FCOS,
    X86_INS_FDECSTP, X86_INS_FDIV, X86_INS_FDIVP, X86_INS_FDIVR, X86_INS_FDIVRP, X86_INS_FFREE,
    X86_INS_FFREEP, X86_INS_FIADD, X86_INS_FICOM, X86_INS_FICOMP, X86_INS_FIDIV,
    X86_INS_FIDIVR, X86_INS_FILD, X86_INS_FIMUL, X86_INS_FINCSTP, X86_INS_FIST, X86_INS_FISTP,
    X86_INS_FISUB, X86_INS_FISUBR, X86_INS_FLD, X86_INS_FLD1, X86_INS_FLDCW, X86_INS_FLDENV,
    X86_INS_FLDL2E, X86_INS_FLDL2T, X86_INS_FLDLG2, X86_INS_FLDLN2, X86_INS_FLDPI,
    X86_INS_FLDZ, X86_INS_FMUL, X86_INS_FMULP, X86_INS_FNCLEX, X86_INS_FNINIT, X86_INS_FNOP,
    X86_INS_FNSAVE, X86_INS_FNSTCW, X86_INS_FNSTENV, X86_INS_FNSTSW, X86_INS_FPATAN,
    X86_INS_FPREM, X86_INS_FPREM1, X86_INS_FPTAN, X86_INS_FRNDINT, X86_INS_FRSTOR,
    X86_INS_FSCALE, X86_INS_FSETPM, X86_INS_FSIN, X86_INS_FSINCOS, X86_INS_FSQRT, X86_INS_FST,
    X86_INS_FSTP, X86_INS_FSTPNCE, X86_INS_FSUB, X86_INS_FSUBP, X86_INS_FSUBR, X86_INS_FSUBRP,
    X86_INS_FTST, X86_INS_FUCOM, X86_INS_FUCOMI, X86_INS_FUCOMIP, X86_INS_FUCOMP,
    X86_INS_FUCOMPP, X86_INS_FXAM, X86_INS_FXCH, X86_INS_FXTRACT, X86_INS_FYL2X,
    X86_INS_FYL2XP1, X86_INS_FDISI8087_NOP, X86_INS_FENI8087_NOP,
    /* MMX (the original MMX set of the Pentium II, none of the SSE integer additions) */
    X86_INS_EMMS, X86_INS_MOVD, X86_INS_MOVQ, X86_INS_PACKSSDW, X86_INS_PACKSSWB,
    X86_INS_PACKUSWB, X86_INS_PADDB, X86_INS_PADDD, X86_INS_PADDSB, X86_INS_PADDSW,
    X86_INS_PADDUSB, X86_INS_PADDUSW, X86_INS_PADDW, X86_INS_PAND, X86_INS_PANDN,
    X86_INS_PCMPEQB, X86_INS_PCMPEQD, X86_INS_PCMPEQW, X86_INS_PCMPGTB, X86_INS_PCMPGTD,
    X86_INS_PCMPGTW, X86_INS_PMADDWD, X86_INS_PMULHW, X86_INS_PMULLW, X86_INS_POR,
    X86_INS_PSLLD, X86_INS_PSLLQ, X86_INS_PSLLW, X86_INS_PSRAD, X86_INS_PSRAW, X86_INS_PSRLD,
    X86_INS_PSRLQ, X86_INS_PSRLW, X86_INS_PSUBB, X86_INS_PSUBD, X86_INS_PSUBSB,
    X86_INS_PSUBSW, X86_INS_PSUBUSB, X86_INS_PSUBUSW, X86_INS_PSUBW, X86_INS_PUNPCKHBW,
    X86_INS_PUNPCKHDQ, X86_INS_PUNPCKHWD, X86_INS_PUNPCKLBW, X86_INS_PUNPCKLDQ,
    X86_INS_PUNPCKLWD, X86_INS_PXOR,
};

static bool p6_id[X86_INS_ENDING];

/* ISA-extension groups a Pentium II lacks. CMOV, MMX, FPU and the mode groups are P6. */
static bool excluded_group(uint8_t g)
{
    switch (g) {
    case X86_GRP_VM: case X86_GRP_3DNOW: case X86_GRP_AES: case X86_GRP_ADX: case X86_GRP_AVX:
    case X86_GRP_AVX2: case X86_GRP_AVX512: case X86_GRP_BMI: case X86_GRP_BMI2:
    case X86_GRP_F16C: case X86_GRP_FMA: case X86_GRP_FMA4: case X86_GRP_FSGSBASE:
    case X86_GRP_HLE: case X86_GRP_MODE64: case X86_GRP_RTM: case X86_GRP_SHA:
    case X86_GRP_SSE1: case X86_GRP_SSE2: case X86_GRP_SSE3: case X86_GRP_SSE41:
    case X86_GRP_SSE42: case X86_GRP_SSE4A: case X86_GRP_SSSE3: case X86_GRP_PCLMUL:
    case X86_GRP_XOP: case X86_GRP_CDI: case X86_GRP_ERI: case X86_GRP_TBM: case X86_GRP_SGX:
    case X86_GRP_DQI: case X86_GRP_BWI: case X86_GRP_PFI: case X86_GRP_VLX: case X86_GRP_SMAP:
    case X86_GRP_NOVLX:
        return true;
    default:
        return false;
    }
}

static bool vector_reg(x86_reg r)
{
    return (r >= X86_REG_XMM0 && r <= X86_REG_ZMM31) || (r >= X86_REG_K0 && r <= X86_REG_K7);
}

static bool cs_is_p6(const cs_insn *ci)
{
    if (ci->id >= X86_INS_ENDING || !p6_id[ci->id])
        return false;
    const cs_detail *d = ci->detail;
    for (unsigned g = 0; g < d->groups_count; g++)
        if (excluded_group(d->groups[g]))
            return false;
    for (unsigned o = 0; o < d->x86.op_count; o++) {
        const cs_x86_op *op = &d->x86.operands[o];
        if (op->type == X86_OP_REG && vector_reg(op->reg))
            return false;
    }
    return true;
}

/* capstone register -> our general register number and size; false if not a GPR. */
static bool cs_gpr(x86_reg r, unsigned *num, unsigned *size)
{
    static const x86_reg r32[8] = {X86_REG_EAX, X86_REG_ECX, X86_REG_EDX, X86_REG_EBX,
                                   X86_REG_ESP, X86_REG_EBP, X86_REG_ESI, X86_REG_EDI};
    static const x86_reg r16[8] = {X86_REG_AX, X86_REG_CX, X86_REG_DX, X86_REG_BX,
                                   X86_REG_SP, X86_REG_BP, X86_REG_SI, X86_REG_DI};
    static const x86_reg r8[8] = {X86_REG_AL, X86_REG_CL, X86_REG_DL, X86_REG_BL,
                                  X86_REG_AH, X86_REG_CH, X86_REG_DH, X86_REG_BH};
    for (unsigned i = 0; i < 8; i++) {
        if (r == r32[i] || r == r16[i] || r == r8[i]) {
            *num = i;
            *size = r == r32[i] ? 4 : r == r16[i] ? 2 : 1;
            return true;
        }
    }
    return false;
}

static int cs_sreg(x86_reg r)
{
    switch (r) {
    case X86_REG_ES: return SR_ES;
    case X86_REG_CS: return SR_CS;
    case X86_REG_SS: return SR_SS;
    case X86_REG_DS: return SR_DS;
    case X86_REG_FS: return SR_FS;
    case X86_REG_GS: return SR_GS;
    default: return -1;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Independent view of the prefix bytes and the opcode position, for the exception predicates. */

struct pfx {
    unsigned count;  /* prefix bytes before the opcode */
    bool lock, p66, p67;
    uint8_t last_rep; /* last F2/F3, 0 if none */
    int seg;          /* last segment override, -1 if none */
    bool has_f2, has_f3;
    uint8_t last_g1;  /* last of F0/F2/F3, 0 if none */
    bool p66_before_rep; /* a 66 precedes an F2/F3 */
    uint8_t map;      /* 0: one-byte, 1: 0F */
    int opc;          /* opcode byte, -1 if the string ended first */
    int modrm;        /* byte after the opcode, -1 if none */
};

static void scan_prefixes(const uint8_t *b, unsigned n, struct pfx *p)
{
    memset(p, 0, sizeof(*p));
    p->seg = -1;
    p->opc = p->modrm = -1;
    unsigned i = 0;
    for (; i < n; i++) {
        switch (b[i]) {
        case 0x26: p->seg = SR_ES; continue;
        case 0x2E: p->seg = SR_CS; continue;
        case 0x36: p->seg = SR_SS; continue;
        case 0x3E: p->seg = SR_DS; continue;
        case 0x64: p->seg = SR_FS; continue;
        case 0x65: p->seg = SR_GS; continue;
        case 0x66: p->p66 = true; continue;
        case 0x67: p->p67 = true; continue;
        case 0xF0: p->lock = true; p->last_g1 = 0xF0; continue;
        case 0xF2: case 0xF3:
            p->last_rep = p->last_g1 = b[i];
            if (b[i] == 0xF2)
                p->has_f2 = true;
            else
                p->has_f3 = true;
            p->p66_before_rep |= p->p66;
            continue;
        default: break;
        }
        break;
    }
    p->count = i;
    if (i < n && b[i] == 0x0F) {
        p->map = 1;
        i++;
    }
    if (i < n)
        p->opc = b[i++];
    if (i < n)
        p->modrm = b[i];
}

/* ------------------------------------------------------------------------------------------ */
/* One decoded sample. */

enum kind {
    K_LEN,         /* both decode an i686 instruction, lengths differ */
    K_WE_UD,       /* capstone decodes an i686 instruction, we say DEC_UD */
    K_CS_REFUSES,  /* we say DEC_OK, capstone refuses */
    K_NONP6_LEN,   /* capstone: not i686; we DEC_OK with another length */
    K_TOO_LONG,    /* we say DEC_TOO_LONG, capstone decodes */
    K_STATUS,      /* we return something else (NEED_MORE) */
    K_FIELD,       /* same instruction and length, a prefix-driven field differs */
    K_COUNT
};

static const char *const kind_names[K_COUNT] = {
    "length differs", "we #UD, capstone decodes i686", "we decode, capstone refuses",
    "not-i686 length differs", "we too long, capstone decodes", "unexpected status",
    "field mismatch",
};

struct sample {
    const uint8_t *b;
    unsigned n;
    bool code32;
    int st;
    struct insn in;
    bool cs_ok, cs_p6;
    const cs_insn *ci;
    struct pfx pf;
    unsigned nfield;     /* K_FIELD: mismatching fields, each checked independently */
    const char *field[8];
    char why[8][120];
};

static int mod_of(const struct sample *s) { return s->pf.modrm < 0 ? -1 : s->pf.modrm >> 6; }
static int reg_of(const struct sample *s) { return s->pf.modrm < 0 ? -1 : (s->pf.modrm >> 3) & 7; }

/* ------------------------------------------------------------------------------------------ */
/* Field checks where both decode the same i686 instruction with the same length. */

static uint32_t size_mask(unsigned bytes)
{
    return bytes >= 4 ? 0xFFFFFFFFu : bytes == 2 ? 0xFFFFu : 0xFFu;
}

static bool fail_field(struct sample *s, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail_field(struct sample *s, const char *field, const char *fmt, ...)
{
    if (s->nfield >= 8)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why[s->nfield], sizeof(s->why[0]), fmt, ap);
    va_end(ap);
    s->field[s->nfield++] = field;
    return false;
}

static bool is_string_op(unsigned op)
{
    return op == OP_MOVS || op == OP_CMPS || op == OP_STOS || op == OP_LODS || op == OP_SCAS ||
           op == OP_INS || op == OP_OUTS;
}

/* Operand size implied by capstone's id for the instructions whose mnemonic encodes it. */
static unsigned id_osize(unsigned id)
{
    switch (id) {
    case X86_INS_MOVSB: case X86_INS_CMPSB: case X86_INS_STOSB: case X86_INS_LODSB:
    case X86_INS_SCASB: case X86_INS_INSB: case X86_INS_OUTSB:
        return 1;
    case X86_INS_MOVSW: case X86_INS_CMPSW: case X86_INS_STOSW: case X86_INS_LODSW:
    case X86_INS_SCASW: case X86_INS_INSW: case X86_INS_OUTSW: case X86_INS_CBW:
    case X86_INS_CWD: case X86_INS_PUSHAW: case X86_INS_POPAW: case X86_INS_PUSHF:
    case X86_INS_POPF: case X86_INS_IRET:
        return 2;
    case X86_INS_MOVSD: case X86_INS_CMPSD: case X86_INS_STOSD: case X86_INS_LODSD:
    case X86_INS_SCASD: case X86_INS_INSD: case X86_INS_OUTSD: case X86_INS_CWDE:
    case X86_INS_CDQ: case X86_INS_PUSHAL: case X86_INS_POPAL: case X86_INS_PUSHFD:
    case X86_INS_POPFD: case X86_INS_IRETD:
        return 4;
    default:
        return 0;
    }
}

/* Which capstone operands carry insn.osize, as a bit mask of operand indexes. -1: not checked. */
static int osize_operands(const struct insn *in)
{
    switch (in->op) {
    case OP_ADD: case OP_OR: case OP_ADC: case OP_SBB: case OP_AND: case OP_SUB: case OP_XOR:
    case OP_CMP: case OP_TEST: case OP_MOV: case OP_XCHG: case OP_CMPXCHG: case OP_XADD:
    case OP_CMOV: case OP_BT: case OP_BTS: case OP_BTR: case OP_BTC: case OP_BSF: case OP_BSR:
    case OP_IMUL: case OP_IMUL3: case OP_SHLD: case OP_SHRD: case OP_ARPL:
        return 3; /* both explicit GPR/memory operands (immediates and CL are skipped) */
    case OP_ROL: case OP_ROR: case OP_RCL: case OP_RCR: case OP_SHL: case OP_SHR: case OP_SAL:
    case OP_SAR: case OP_INC: case OP_DEC: case OP_NOT: case OP_NEG: case OP_MUL:
    case OP_IMUL1: case OP_DIV: case OP_IDIV: case OP_SETCC: case OP_BSWAP: case OP_LEA:
    case OP_MOVZX: case OP_MOVSX: case OP_LAR: case OP_LSL: case OP_LSEG: case OP_BOUND:
    case OP_CALL_E: case OP_JMP_E: case OP_SLDT: case OP_STR: case OP_SMSW: case OP_LLDT:
    case OP_LTR: case OP_VERR: case OP_VERW: case OP_LMSW: case OP_MOV_FROM_SEG: case OP_IN:
        return 1;
    case OP_OUT:
        return 2;
    case OP_PUSH: case OP_POP:
        return in->form == FORM_I ? -1 : 1;
    default:
        return -1;
    }
}

static int pfx_sreg(uint8_t b)
{
    switch (b) {
    case 0x26: return SR_ES;
    case 0x2E: return SR_CS;
    case 0x36: return SR_SS;
    case 0x3E: return SR_DS;
    case 0x64: return SR_FS;
    case 0x65: return SR_GS;
    default: return -1;
    }
}

/* Prefix bookkeeping: each check is independent. */
static void check_prefixes(struct sample *s)
{
    const struct insn *in = &s->in;
    const cs_x86 *x = &s->ci->detail->x86;
    bool p66 = (in->flags & INSN_F_P66) != 0, p67 = (in->flags & INSN_F_P67) != 0;
    if ((x->prefix[2] == 0x66) != p66)
        fail_field(s, "p66", "capstone prefix[2]=%02x, insn P66=%d", x->prefix[2], p66);
    if ((x->prefix[3] == 0x67) != p67)
        fail_field(s, "p67", "capstone prefix[3]=%02x, insn P67=%d", x->prefix[3], p67);
    if (x->addr_size && x->addr_size != in->asize)
        fail_field(s, "asize", "capstone addr_size=%u, insn asize=%u", x->addr_size, in->asize);
    if (in->asize != ((s->code32 ^ p67) ? 4 : 2))
        fail_field(s, "asize", "insn asize=%u with P67=%d", in->asize, p67);
    bool lock = (in->flags & INSN_F_LOCK) != 0;
    if ((x->prefix[0] == 0xF0) != lock)
        fail_field(s, "lock", "capstone prefix[0]=%02x, insn LOCK=%d", x->prefix[0], lock);
    uint8_t want_rep = in->rep == REP_Z ? 0xF3 : in->rep == REP_NZ ? 0xF2 : 0;
    if (x->prefix[0] != 0xF0 && x->prefix[0] != want_rep)
        fail_field(s, "rep", "capstone prefix[0]=%02x, insn rep=%u", x->prefix[0], in->rep);
    bool segovr = (in->flags & INSN_F_SEGOVR) != 0;
    if ((x->prefix[1] != 0) != segovr)
        fail_field(s, "segovr", "capstone prefix[1]=%02x, insn SEGOVR=%d", x->prefix[1], segovr);
    else if (segovr && pfx_sreg(x->prefix[1]) != in->seg)
        fail_field(s, "segovr", "capstone prefix[1]=%02x, insn seg %u", x->prefix[1], in->seg);
}

static bool check_osize(struct sample *s)
{
    const struct insn *in = &s->in;
    const cs_x86 *x = &s->ci->detail->x86;
    unsigned id = s->ci->id;
    bool p66 = (in->flags & INSN_F_P66) != 0;
    /* Operand size. */
    unsigned want_os = id_osize(id);
    if (want_os && want_os != in->osize)
        return fail_field(s, "osize", "capstone %s implies %u, insn osize=%u", s->ci->mnemonic,
                          want_os, in->osize);
    if (id == X86_INS_JCXZ || id == X86_INS_JECXZ) {
        if (in->asize != (id == X86_INS_JECXZ ? 4u : 2u))
            return fail_field(s, "asize", "%s with insn asize=%u", s->ci->mnemonic, in->asize);
    }
    int mask = osize_operands(in);
    if (mask > 0) {
        for (unsigned o = 0; o < x->op_count && o < 8; o++) {
            if (!(mask & (1 << o)))
                continue;
            const cs_x86_op *op = &x->operands[o];
            unsigned num, size, want = in->osize;
            if (o == 1 && (in->op == OP_MOVZX || in->op == OP_MOVSX))
                want = in->ssize;
            if (op->type == X86_OP_REG) {
                if (!cs_gpr(op->reg, &num, &size))
                    continue; /* CL counts, segment registers, ... */
            } else if (op->type == X86_OP_MEM) {
                if (in->op == OP_LEA || in->op == OP_BOUND || in->op == OP_LSEG)
                    continue; /* capstone sizes the pointed-to object, not the operand */
                size = op->size;
            } else {
                continue;
            }
            if (size != want)
                return fail_field(s, "osize", "capstone operand %u size %u, insn wants %u", o,
                                  size, want);
        }
    }
    if (in->op == OP_MOV_TO_SEG && x->op_count == 2) {
        /* MOV Sreg,r/m16 is a 16-bit move; capstone names the register at the prefix size. */
        const cs_x86_op *op = &x->operands[1];
        unsigned want = op->type == X86_OP_MEM ? 2 : ((s->code32 ^ p66) ? 4 : 2);
        unsigned num, size = op->size;
        if (op->type == X86_OP_REG && cs_gpr(op->reg, &num, &size) && size != want)
            return fail_field(s, "osize", "MOV Sreg source size %u, want %u", size, want);
    }
    if (is_string_op(in->op)) {
        for (unsigned o = 0; o < x->op_count; o++) {
            const cs_x86_op *op = &x->operands[o];
            unsigned num, size;
            if (op->type == X86_OP_REG && op->reg == X86_REG_DX)
                continue;
            if (op->type == X86_OP_REG && cs_gpr(op->reg, &num, &size) && size != in->osize)
                return fail_field(s, "osize", "string accumulator size %u", size);
            if (op->type == X86_OP_MEM) {
                if (op->size != in->osize)
                    return fail_field(s, "osize", "string operand size %u", op->size);
                if (!cs_gpr(op->mem.base, &num, &size) || size != in->asize)
                    return fail_field(s, "asize", "string pointer size mismatch");
                if (num == R_ESI) {
                    int seg = op->mem.segment == X86_REG_INVALID ? SR_DS : cs_sreg(op->mem.segment);
                    if (seg != in->seg)
                        return fail_field(s, "str.seg", "capstone source seg %d, insn seg %u", seg,
                                          in->seg);
                } else if (cs_sreg(op->mem.segment) != SR_ES) {
                    return fail_field(s, "str.seg", "destination not ES");
                }
            }
        }
    }

    return true;
}

static bool check_mem(struct sample *s)
{
    const struct insn *in = &s->in;
    const cs_x86 *x = &s->ci->detail->x86;
    /* The memory operand. */
    if ((in->flags & INSN_F_MEM) && !is_string_op(in->op)) {
        const cs_x86_op *m = NULL;
        unsigned nmem = 0;
        for (unsigned o = 0; o < x->op_count; o++) {
            if (x->operands[o].type == X86_OP_MEM) {
                m = &x->operands[o];
                nmem++;
            }
        }
        if (nmem != 1)
            return fail_field(s, "mem", "capstone has %u memory operands", nmem);
        unsigned num, size;
        uint8_t base = INSN_NO_REG, index = INSN_NO_REG;
        if (m->mem.base != X86_REG_INVALID) {
            if (!cs_gpr(m->mem.base, &num, &size) || size != in->asize)
                return fail_field(s, "mem.base", "capstone base %u", m->mem.base);
            base = (uint8_t)num;
        }
        if (m->mem.index != X86_REG_INVALID) {
            if (!cs_gpr(m->mem.index, &num, &size) || size != in->asize)
                return fail_field(s, "mem.index", "capstone index %u", m->mem.index);
            index = (uint8_t)num;
        }
        if (base != in->base)
            return fail_field(s, "mem.base", "capstone base %u, insn base %u", base, in->base);
        if (index != in->index)
            return fail_field(s, "mem.index", "capstone index %u, insn index %u", index, in->index);
        if (index != INSN_NO_REG && m->mem.scale != (1 << in->scale))
            return fail_field(s, "mem.scale", "capstone scale %d, insn scale %u", m->mem.scale,
                              in->scale);
        uint32_t amask = size_mask(in->asize);
        if (((uint32_t)m->mem.disp & amask) != ((uint32_t)in->disp & amask))
            return fail_field(s, "mem.disp", "capstone disp %" PRId64 ", insn disp %" PRId32,
                              m->mem.disp, in->disp);
        int seg;
        if (m->mem.segment != X86_REG_INVALID)
            seg = cs_sreg(m->mem.segment);
        else
            seg = (base == R_EBP || base == R_ESP) ? SR_SS : SR_DS;
        if (seg != in->seg)
            return fail_field(s, "mem.seg", "capstone segment %d, insn seg %u", seg, in->seg);
    }

    return true;
}

static bool check_imm(struct sample *s)
{
    const struct insn *in = &s->in;
    const cs_x86 *x = &s->ci->detail->x86;
    /* Immediates and branch targets (capstone decodes at address 0). */
    unsigned nimm = 0;
    int64_t imm[3] = {0, 0, 0};
    for (unsigned o = 0; o < x->op_count; o++)
        if (x->operands[o].type == X86_OP_IMM && nimm < 3)
            imm[nimm++] = x->operands[o].imm;
    uint32_t omask = size_mask(in->osize);
    switch (in->op) {
    case OP_JCC: case OP_JMP: case OP_CALL: case OP_LOOP: case OP_LOOPE: case OP_LOOPNE:
    case OP_JCXZ: {
        uint32_t target = ((uint32_t)in->len + (uint32_t)in->disp) & omask;
        if (nimm != 1 || ((uint32_t)imm[0] & omask) != target)
            return fail_field(s, "target", "capstone target %" PRIx64 ", insn %" PRIx32,
                              (uint64_t)imm[0], target);
        break;
    }
    case OP_JMPF: case OP_CALLF:
        if (nimm != 2 || (uint32_t)imm[0] != in->imm2 || ((uint32_t)imm[1] & omask) != in->imm)
            return fail_field(s, "imm", "far pointer %" PRIx64 ":%" PRIx64, (uint64_t)imm[0],
                              (uint64_t)imm[1]);
        break;
    case OP_ENTER:
        if (nimm != 2 || ((uint32_t)imm[0] & 0xFFFF) != in->imm ||
            ((uint32_t)imm[1] & 0xFF) != in->imm2)
            return fail_field(s, "imm", "enter %" PRIx64 ", %" PRIx64, (uint64_t)imm[0],
                              (uint64_t)imm[1]);
        break;
    case OP_AAM: case OP_AAD:
        /* capstone omits the operand when it is the default base 10 */
        if (nimm == 0 ? in->imm != 10 : (uint32_t)imm[0] != in->imm)
            return fail_field(s, "imm", "aam/aad base");
        break;
    default:
        if (in->form == FORM_EI || in->form == FORM_EGI || in->form == FORM_I) {
            uint32_t mask = in->form == FORM_EGI ? 0xFF : omask;
            if (in->op >= OP_ROL && in->op <= OP_SAR)
                mask = 0xFF;
            if (in->op == OP_BT || in->op == OP_BTS || in->op == OP_BTR || in->op == OP_BTC ||
                in->op == OP_INT || in->op == OP_IN || in->op == OP_OUT)
                mask = 0xFF;
            if (in->op == OP_RET || in->op == OP_RETF)
                mask = 0xFFFF;
            if (nimm != 1 || ((uint32_t)imm[0] & mask) != (in->imm & mask))
                return fail_field(s, "imm", "capstone imm %" PRIx64 " (n=%u), insn imm %" PRIx32,
                                  (uint64_t)imm[0], nimm, in->imm);
        }
        break;
    }
    return true;
}


static bool check_fields(struct sample *s)
{
    check_prefixes(s);
    check_osize(s);
    check_mem(s);
    check_imm(s);
    return s->nfield == 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The exception table: every disagreement class that is understood. Each predicate is narrow;
 * the reasons are expanded in KNOWN_DIFFERENCES.md. */

/* x87 encodings the SDM's escape-opcode maps (Vol. 2 A.4) leave reserved. */
static bool x87_reserved(uint8_t esc, uint8_t modrm)
{
    unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7;
    if (mod != 3) {
        switch (esc) {
        case 0xD9: return reg == 1;
        case 0xDB: return reg == 1 || reg == 4 || reg == 6;
        case 0xDD: return reg == 1 || reg == 5;
        case 0xDF: return reg == 1;
        default: return false;
        }
    }
    switch (esc) {
    case 0xD9:
        return (modrm >= 0xD1 && modrm <= 0xDF) || modrm == 0xE2 || modrm == 0xE3 ||
               modrm == 0xE6 || modrm == 0xE7 || modrm == 0xEF;
    case 0xDA: return modrm >= 0xE0 && modrm != 0xE9;
    case 0xDB:
        return (modrm >= 0xE0 && modrm <= 0xE1) || (modrm >= 0xE4 && modrm <= 0xE7) ||
               modrm >= 0xF8;
    case 0xDC: return modrm >= 0xD0 && modrm <= 0xDF;
    case 0xDD: return (modrm >= 0xC8 && modrm <= 0xCF) || modrm >= 0xF0;
    case 0xDE: return (modrm >= 0xD0 && modrm <= 0xDF) && modrm != 0xD9;
    case 0xDF: return modrm <= 0xDF || (modrm >= 0xE1 && modrm <= 0xE7) || modrm >= 0xF8;
    default: return false;
    }
}

static bool sdm_lockable(unsigned map, unsigned opc, unsigned reg);

/* The operand size the prefixes select, computed from the bytes, not by the decoder. */
static unsigned pfx_osize(const struct sample *s) { return (s->code32 ^ s->pf.p66) ? 4 : 2; }
static unsigned pfx_asize(const struct sample *s) { return (s->code32 ^ s->pf.p67) ? 4 : 2; }

/* capstone's first immediate (the branch target for relative branches, at address 0) */
static uint32_t cs_imm0(const struct sample *s)
{
    const cs_x86 *x = &s->ci->detail->x86;
    for (unsigned o = 0; o < x->op_count; o++)
        if (x->operands[o].type == X86_OP_IMM)
            return (uint32_t)x->operands[o].imm;
    return 0xDEADBEEF;
}

/* Our #UD comes from LOCK alone (the bytes without their F0s decode) and the SDM does not allow
 * LOCK on that instruction form (so a wrongly refused lockable form stays unexplained). */
static bool ex_lock(const struct sample *s)
{
    if (!s->pf.lock)
        return false;
    uint8_t copy[BUF_LEN];
    unsigned n = 0;
    for (unsigned i = 0; i < s->n; i++)
        if (i >= s->pf.count || s->b[i] != 0xF0)
            copy[n++] = s->b[i];
    struct insn tmp;
    if (decode_insn(&tmp, copy, n, s->code32) != DEC_OK)
        return false;
    return !(sdm_lockable(tmp.map, tmp.opcode, tmp.reg) && (tmp.flags & INSN_F_MEM));
}

static bool ex_mov_cr_reserved(const struct sample *s)
{
    return s->pf.map == 1 && (s->pf.opc == 0x20 || s->pf.opc == 0x22) &&
           (reg_of(s) == 1 || reg_of(s) >= 5);
}

static bool ex_ud01(const struct sample *s)
{
    return s->ci->id == X86_INS_UD2B || s->ci->id == X86_INS_UD0;
}

static bool ex_x87_reserved(const struct sample *s)
{
    return s->pf.map == 0 && s->pf.opc >= 0xD8 && s->pf.opc <= 0xDF && s->pf.modrm >= 0 &&
           x87_reserved((uint8_t)s->pf.opc, (uint8_t)s->pf.modrm);
}

static bool ex_hint_nop_reg(const struct sample *s)
{
    return s->pf.map == 1 && s->pf.opc >= 0x18 && s->pf.opc <= 0x1F && mod_of(s) == 3;
}

/* capstone drops F2/F3 where they are not a REP; ours must still be the last F2/F3 seen */
static bool ex_rep_dropped(const struct sample *s)
{
    if (s->ci->detail->x86.prefix[0] != 0 || !s->pf.last_rep ||
        s->in.rep != (s->pf.last_rep == 0xF3 ? REP_Z : REP_NZ))
        return false;
    if (!is_string_op(s->in.op))
        return true;
    /* F2 on a string instruction without a condition */
    return s->in.rep == REP_NZ && s->in.op != OP_CMPS && s->in.op != OP_SCAS;
}

static bool ex_mov_cs(const struct sample *s)
{
    return s->pf.map == 0 && s->pf.opc == 0x8E && reg_of(s) == SR_CS;
}

/* capstone's target is exactly ours truncated to 16 bits */
static bool ex_branch_66_code16(const struct sample *s)
{
    unsigned op = s->in.op;
    bool br = op == OP_JCC || (op == OP_JMP && s->in.opcode == 0xEB) || op == OP_LOOP ||
              op == OP_LOOPE || op == OP_LOOPNE || op == OP_JCXZ ||
              ((op == OP_JMP || op == OP_CALL) && s->pf.has_f2);
    uint32_t ours = (uint32_t)s->in.len + (uint32_t)s->in.disp;
    return br && !s->code32 && s->pf.p66 && s->in.osize == 4 && cs_imm0(s) == (ours & 0xFFFF);
}

static bool ex_lock_hidden(const struct sample *s)
{
    return s->pf.lock && (s->in.flags & INSN_F_LOCK) &&
           (s->pf.last_g1 == 0xF2 || s->pf.last_g1 == 0xF3);
}

static bool ex_cbw_name(const struct sample *s)
{
    return (s->in.op == OP_CBW || s->in.op == OP_CWD) && s->in.osize == 2 &&
           pfx_osize(s) == 2 && (s->ci->id == X86_INS_CWDE || s->ci->id == X86_INS_CDQ);
}

static bool ex_66_then_rep_osize(const struct sample *s)
{
    return s->code32 && s->pf.p66_before_rep && s->in.osize == 2;
}

static bool ex_jcxz_67_more(const struct sample *s)
{
    return s->in.op == OP_JCXZ && s->pf.p67 && s->pf.count >= 2 && s->in.asize == pfx_asize(s) &&
           s->in.asize == s->ci->detail->x86.addr_size;
}

static bool ex_aam_default(const struct sample *s)
{
    return (s->in.op == OP_AAM || s->in.op == OP_AAD) && s->in.imm == 10;
}

/* capstone's target is len + the displacement's low 16 bits sign-extended */
static bool ex_rel32_signext16(const struct sample *s)
{
    bool rel32 = (s->in.op == OP_JMP && s->in.opcode == 0xE9) || (s->in.op == OP_JCC && s->in.map);
    uint32_t theirs = (uint32_t)s->in.len + (uint32_t)(int32_t)(int16_t)s->in.disp;
    return rel32 && s->in.osize == 4 && (!s->code32 || s->pf.p67) && cs_imm0(s) == theirs;
}

static bool ex_moffs_66_rep(const struct sample *s)
{
    return s->code32 && s->pf.map == 0 && s->pf.opc >= 0xA0 && s->pf.opc <= 0xA3 &&
           s->pf.p66_before_rep;
}

/* capstone read rel32 where the 66 prefix makes it rel16 */
static bool ex_rel_66_rep(const struct sample *s)
{
    return s->pf.map == 0 && s->pf.opc == 0xE8 && s->code32 && s->pf.p66 &&
           (s->pf.has_f2 || s->pf.has_f3) && s->in.osize == 2 &&
           (!s->cs_ok || s->ci->size == s->in.len + 2u);
}

struct exception {
    enum kind kind;
    const char *field; /* K_FIELD only */
    bool (*match)(const struct sample *s);
    const char *name;
    const char *reason;
    unsigned long count[2];
};

static struct exception exceptions[] = {
    {K_WE_UD, NULL, ex_lock, "lock-not-validated",
     "capstone accepts LOCK on any instruction; the SDM allows it only on ADD ADC AND BTC BTR "
     "BTS CMPXCHG CMPXCHG8B DEC INC NEG NOT OR SBB SUB XOR XADD XCHG with a memory destination "
     "(else #UD); the directed LOCK test checks our side",
     {0, 0}},
    {K_WE_UD, NULL, ex_mov_cr_reserved, "mov-cr-reserved",
     "capstone decodes MOV to/from CR1, CR5, CR6, CR7; the SDM (MOV-Move to/from Control "
     "Registers) raises #UD for reserved control registers",
     {0, 0}},
    {K_WE_UD, NULL, ex_ud01, "ud1-ud0",
     "capstone names 0F B9 (UD1, 'ud2b') and 0F FF (UD0); both are defined to raise #UD, which "
     "is what DEC_UD means, so the length is moot",
     {0, 0}},
    {K_CS_REFUSES, NULL, ex_x87_reserved, "x87-reserved",
     "capstone refuses x87 encodings the SDM escape maps leave reserved; the decoder returns "
     "OP_FPU for every D8-DF ModRM (the length is well defined) and leaves their validity to "
     "the x87 executor, which must also honour CR0.EM/TS (#NM) first",
     {0, 0}},
    {K_CS_REFUSES, NULL, ex_hint_nop_reg, "hint-nop-register",
     "capstone 4 refuses register forms of some 0F 18-1F reserved-NOP opcodes (e.g. 0F 18 C0, "
     "0F 1E C0); the SDM opcode map makes all of 0F 18-1F 'NOP Ev' for any ModRM on P6",
     {0, 0}},
    {K_WE_UD, NULL, ex_mov_cs, "mov-to-cs",
     "capstone decodes MOV CS,r/m16 (8E /1); the SDM: 'If the DS, ES, FS, GS or SS register is "
     "loaded...' and 'an attempt to load the CS register with MOV results in #UD'",
     {0, 0}},
    {K_FIELD, "rep", ex_rep_dropped, "rep-not-reported",
     "capstone reports F2/F3 in prefix[0] only where it means REP/REPNE; on other instructions "
     "the P6 ignores it and capstone drops it, the decoder keeps it in insn.rep (harmless)",
     {0, 0}},
    {K_FIELD, "target", ex_branch_66_code16, "branch-66-code16",
     "capstone truncates the target of Jcc (rel8 and rel32), JMP rel8, LOOPcc, JCXZ, and of "
     "JMP/CALL rel32 with F2 (its MPX 'bnd'), to 16 bits in 16-bit code even with a 66 prefix; "
     "the SDM truncates EIP only when the operand size is 16",
     {0, 0}},
    {K_FIELD, "lock", ex_lock_hidden, "lock-hidden-by-rep",
     "capstone keeps one group-1 prefix in prefix[0]: when F2/F3 follows F0 it keeps the "
     "F2/F3 and then drops it as meaningless, so LOCK is not reported; the LOCK is real",
     {0, 0}},
    {K_FIELD, "osize", ex_cbw_name, "cbw-cwd-name",
     "capstone 4 names 98/99 'cwde'/'cdq' with a 16-bit operand size: always in 16-bit code "
     "without 66, and in 32-bit code when 67 follows 66; with osize 16 they are CBW/CWD",
     {0, 0}},
    {K_FIELD, "osize", ex_66_then_rep_osize, "66-then-rep-osize",
     "in 32-bit code capstone 4 takes 66 followed (later) by F2/F3 as an SSE mandatory-prefix "
     "pair and shows 32-bit operands, although it reads 16-bit immediates (same length); on "
     "the P6 F2/F3 are ignored there and 66 selects 16-bit operands",
     {0, 0}},
    {K_FIELD, "asize", ex_jcxz_67_more, "jcxz-67-and-more",
     "when 67 is combined with other prefixes (66, F2/F3, a second 67, ...) capstone 4 often "
     "names E3 JCXZ/JECXZ after the wrong address size; the SDM selects CX/ECX by the address "
     "size alone (the decoder's asize is checked against capstone's addr_size as well)",
     {0, 0}},
    {K_FIELD, "p66,p67,segovr,rep,lock", ex_aam_default, "aam-aad-base10-prefixes",
     "capstone 4 prints AAM/AAD with the default base 10 as a separate alias whose detail "
     "loses every prefix (prefix[] all zero); the prefixes are there",
     {0, 0}},
    {K_FIELD, "target", ex_rel32_signext16, "rel32-target-signext16",
     "for JMP rel32 and Jcc rel32 in 16-bit code (with 66) or with a 67 prefix, capstone 4 "
     "computes the target from the displacement's low 16 bits sign-extended when bit 15 is set "
     "(length correct); the SDM adds the whole rel32, the address size plays no part",
     {0, 0}},
    {K_CS_REFUSES, NULL, ex_moffs_66_rep, "moffs-66-then-rep",
     "capstone 4 refuses MOV moffs (A0-A3) in 32-bit code when a 66 prefix precedes F2/F3; "
     "prefix order is free and F2/F3 are ignored by MOV on the P6",
     {0, 0}},
    {K_CS_REFUSES, NULL, ex_rel_66_rep, "call-66-with-f2f3-long",
     "same capstone bug as call-66-with-f2f3: reading rel32 makes the instruction longer than "
     "15 bytes, so capstone refuses a valid 15-byte CALL rel16",
     {0, 0}},
    {K_LEN, NULL, ex_rel_66_rep, "call-66-with-f2f3",
     "capstone 4 reads CALL rel32 for 66 F2/F3 E8 in 32-bit code (it treats F2 as the MPX BND "
     "prefix and drops the 66); the P6 ignores F2/F3 here and 66 selects rel16",
     {0, 0}},
};
#define N_EXCEPTIONS (sizeof(exceptions) / sizeof(exceptions[0]))

/* Is `f` one of the comma-separated names in `list`? */
static bool field_in(const char *list, const char *f)
{
    size_t n = strlen(f);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, f, n))
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

static struct exception *find_exception(const struct sample *s, enum kind k, const char *field)
{
    for (unsigned i = 0; i < N_EXCEPTIONS; i++) {
        struct exception *e = &exceptions[i];
        if (e->kind != k)
            continue;
        if (k == K_FIELD && !field_in(e->field, field))
            continue;
        if (e->match(s))
            return e;
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Decoding both ways and printing. */

static csh cs_handle[2];
static cs_insn *cs_buf;

static void decode_both(struct sample *s, const uint8_t *b, unsigned n, bool code32)
{
    memset(s, 0, sizeof(*s));
    s->b = b;
    s->n = n;
    s->code32 = code32;
    s->st = decode_insn(&s->in, b, n, code32);
    const uint8_t *code = b;
    size_t size = n;
    uint64_t addr = 0;
    s->cs_ok = cs_disasm_iter(cs_handle[code32], &code, &size, &addr, cs_buf);
    s->ci = s->cs_ok ? cs_buf : NULL;
    s->cs_p6 = s->cs_ok && cs_is_p6(cs_buf);
    scan_prefixes(b, n, &s->pf);
}

static const char *status_name(int st)
{
    switch (st) {
    case DEC_OK: return "OK";
    case DEC_UD: return "UD";
    case DEC_TOO_LONG: return "TOO_LONG";
    case DEC_NEED_MORE: return "NEED_MORE";
    default: return "?";
    }
}

static void print_sample(const struct sample *s)
{
    printf("  [%s] ", s->code32 ? "32" : "16");
    unsigned cslen = s->cs_ok ? s->ci->size : 0;
    unsigned show = (s->in.len > cslen ? s->in.len : cslen) + 2;
    if (show > s->n)
        show = s->n;
    for (unsigned i = 0; i < show; i++)
        printf("%02x", s->b[i]);
    printf("  ours: %s len=%u op=%s osize=%u asize=%u seg=%u", status_name(s->st), s->in.len,
           insn_op_name(s->in.op), s->in.osize, s->in.asize, s->in.seg);
    if (s->in.flags & INSN_F_MEM)
        printf(" mem[b=%u i=%u s=%u d=%" PRId32 "]", s->in.base, s->in.index, s->in.scale,
               s->in.disp);
    if (s->cs_ok)
        printf(" | capstone: len=%u '%s %s'%s", s->ci->size, s->ci->mnemonic, s->ci->op_str,
               s->cs_p6 ? "" : " (not i686)");
    else
        printf(" | capstone: refuses");
    for (unsigned f = 0; f < s->nfield; f++)
        printf(" | %s: %s", s->field[f], s->why[f]);
    printf("\n");
}

/* ------------------------------------------------------------------------------------------ */
/* Classification and statistics. */

enum outcome { O_AGREE, O_BOTH_REFUSE, O_TOO_LONG, O_NONP6_UD, O_NONP6_AGREE, O_DISAGREE, O_COUNT };

static const char *const outcome_names[O_COUNT] = {
    "agree (i686, same length and fields)", "both refuse", "too long (both refuse)",
    "not i686, we #UD", "not i686, we decode, same length", "disagreements",
};

struct stats {
    unsigned long p6_both;     /* capstone i686 and DEC_OK */
    unsigned long p6_len_eq;   /* ... with the same length */
    /* coverage of what was compared in full (agreed i686 instructions) */
    unsigned long mem_form[2][3][8];   /* [asize 32][mod][rm] */
    unsigned long sib_form[3][8][8];   /* [mod][base][index], 32-bit addressing */
    unsigned long length[16];
    unsigned long prefixes[16];
    unsigned long outcome[O_COUNT];
    unsigned long kind[K_COUNT];
    unsigned long explained[K_COUNT];
    unsigned long unexplained[K_COUNT];
};

static void record_coverage(const struct sample *s, struct stats *st)
{
    st->length[s->in.len & 15]++;
    st->prefixes[s->pf.count < 16 ? s->pf.count : 15]++;
    if (!(s->in.flags & INSN_F_MEM) || !s->in.modrm)
        return;
    unsigned mod = s->in.modrm >> 6, rm = s->in.modrm & 7;
    if (mod == 3)
        return;
    st->mem_form[s->in.asize == 4][mod][rm]++;
    if (s->in.asize == 4 && rm == 4) {
        unsigned sib = s->b[s->pf.count + s->in.map + 2];
        st->sib_form[mod][sib & 7][(sib >> 3) & 7]++;
    }
}

/* Every ModRM and SIB memory form, every length 1..15 and every prefix count 0..14 must have
 * been compared in full; a generator that stops producing one fails the test. */
static unsigned report_coverage(const struct stats *st)
{
    unsigned missing = 0, modrm = 0, sib = 0, lens = 0, pfx = 0;
    for (unsigned a = 0; a < 2; a++)
        for (unsigned mod = 0; mod < 3; mod++)
            for (unsigned rm = 0; rm < 8; rm++)
                modrm += st->mem_form[a][mod][rm] != 0;
    for (unsigned mod = 0; mod < 3; mod++)
        for (unsigned b = 0; b < 8; b++)
            for (unsigned i = 0; i < 8; i++)
                sib += st->sib_form[mod][b][i] != 0;
    for (unsigned l = 1; l <= 15; l++)
        lens += st->length[l] != 0;
    for (unsigned p = 0; p <= 14; p++)
        pfx += st->prefixes[p] != 0;
    missing = (48 - modrm) + (192 - sib) + (15 - lens) + (15 - pfx);
    printf("  coverage of full agreements: ModRM memory forms %u/48, "
           "SIB mod x base x index %u/192, "
           "lengths 1-15 %u/15, prefix counts 0-14 %u/15%s\n",
           modrm, sib, lens, pfx, missing ? "  INCOMPLETE" : "");
    return missing;
}

static unsigned max_examples = 10;
static bool show_hist;
static const char *dump_mnemonic; /* --dump NAME: print the not-i686 samples capstone names NAME */
static unsigned long nonp6_hist[2][X86_INS_ENDING]; /* [we decode][capstone id] */
static unsigned long printed_unexplained[K_COUNT];

static void classify(struct sample *s, struct stats *st)
{
    enum kind k = K_COUNT;
    if (dump_mnemonic && s->cs_ok && !s->cs_p6 && !strcmp(s->ci->mnemonic, dump_mnemonic))
        print_sample(s);
    if (s->st == DEC_TOO_LONG) {
        if (!s->cs_ok) {
            st->outcome[O_TOO_LONG]++;
            return;
        }
        k = K_TOO_LONG;
    } else if (s->st != DEC_OK && s->st != DEC_UD) {
        k = K_STATUS;
    } else if (!s->cs_ok) {
        if (s->st == DEC_UD) {
            st->outcome[O_BOTH_REFUSE]++;
            return;
        }
        k = K_CS_REFUSES;
    } else if (!s->cs_p6) {
        if (s->ci->id < X86_INS_ENDING)
            nonp6_hist[s->st == DEC_OK][s->ci->id]++;
        if (s->st == DEC_UD) {
            st->outcome[O_NONP6_UD]++;
            return;
        }
        if (s->in.len != s->ci->size) {
            k = K_NONP6_LEN;
        } else {
            /* the same bytes read as a P6 instruction: prefixes and ModRM must still agree */
            check_prefixes(s);
            check_mem(s);
            if (s->nfield == 0) {
                st->outcome[O_NONP6_AGREE]++;
                return;
            }
            k = K_FIELD;
        }
    } else if (s->st == DEC_UD) {
        k = K_WE_UD;
    } else if (st->p6_both++, s->in.len != s->ci->size) {
        k = K_LEN;
    } else if (st->p6_len_eq++, check_fields(s)) {
        st->outcome[O_AGREE]++;
        record_coverage(s, st);
        return;
    } else {
        k = K_FIELD;
    }

    st->outcome[O_DISAGREE]++;
    st->kind[k]++;
    /* explained only if every mismatch (one, or each field for K_FIELD) has an exception */
    struct exception *found[8];
    unsigned nf = k == K_FIELD ? s->nfield : 1, ok = 0;
    for (unsigned f = 0; f < nf; f++) {
        found[f] = find_exception(s, k, k == K_FIELD ? s->field[f] : NULL);
        ok += found[f] != NULL;
    }
    if (ok == nf) {
        for (unsigned f = 0; f < nf; f++)
            found[f]->count[s->code32]++;
        st->explained[k]++;
        return;
    }
    st->unexplained[k]++;
    if (printed_unexplained[k]++ < max_examples) {
        printf("UNEXPLAINED %s:", kind_names[k]);
        print_sample(s);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The biased generator. */

static const uint8_t prefix_bytes[] = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x66, 0x66,
                                       0x67, 0x67, 0x67, 0xF0, 0xF0, 0xF2, 0xF2, 0xF3, 0xF3};

/* Opcodes whose ModRM.reg selects the operation or that have other ModRM rules. */
static const uint16_t interesting[] = {
    0x80, 0x81, 0x82, 0x83, 0x8F, 0xC0, 0xC1, 0xC6, 0xC7, 0xD0, 0xD1, 0xD2, 0xD3, 0xF6, 0xF7,
    0xFE, 0xFF, 0x8C, 0x8E, 0x62, 0x63, 0xC4, 0xC5, 0x8D, 0x69, 0x6B, 0xA0, 0xA1, 0xA2, 0xA3,
    0x9A, 0xEA, 0xC8, 0xC2, 0xCA, 0x86, 0x87, 0x00, 0x01, 0x30, 0x31,
    0x0F00, 0x0F01, 0x0F02, 0x0F03, 0x0F20, 0x0F21, 0x0F22, 0x0F23, 0x0F71, 0x0F72, 0x0F73,
    0x0FBA, 0x0FC7, 0x0FAE, 0x0F18, 0x0F19, 0x0F1F, 0x0FB0, 0x0FB1, 0x0FC0, 0x0FC1, 0x0FA4,
    0x0FA5, 0x0FAC, 0x0FAD, 0x0FAB, 0x0FB3, 0x0FBB, 0x0FB2, 0x0FB4, 0x0FB5, 0x0FB6, 0x0FB7,
    0x0FBE, 0x0FBF, 0x0F0D, 0x0FB9, 0x0FFF, 0x0F6E, 0x0F7E, 0x0F6F, 0x0F7F, 0x0FAF,
};

/* Bytes that stress sign and zero extension of displacements and immediates. */
static uint8_t tail_byte(void)
{
    static const uint8_t edge[] = {0x00, 0xFF, 0x80, 0x7F, 0x01, 0xFE};
    return rnd(4) == 0 ? edge[rnd(sizeof(edge))] : (uint8_t)rnd(256);
}

static void gen_case(uint8_t *buf)
{
    unsigned n = 0;
    unsigned r = rnd(100);
    if (r < 8) { /* plain uniform bytes */
        for (unsigned i = 0; i < BUF_LEN; i++)
            buf[i] = (uint8_t)rnd(256);
        return;
    }
    /* prefixes: mostly none or few, sometimes enough to reach and pass 15 bytes */
    r = rnd(100);
    unsigned npfx = r < 45 ? 0 : r < 70 ? 1 : r < 82 ? 2 : r < 90 ? 3 + rnd(2) : 5 + rnd(10);
    for (unsigned i = 0; i < npfx; i++)
        buf[n++] = prefix_bytes[rnd(sizeof(prefix_bytes))];
    /* opcode */
    r = rnd(100);
    if (r < 37) {
        buf[n++] = (uint8_t)rnd(256);
    } else if (r < 72) {
        buf[n++] = 0x0F;
        buf[n++] = (uint8_t)rnd(256);
    } else if (r < 82) {
        buf[n++] = (uint8_t)(0xD8 + rnd(8));
    } else {
        uint16_t o = interesting[rnd(sizeof(interesting) / sizeof(interesting[0]))];
        if (o > 0xFF)
            buf[n++] = 0x0F;
        buf[n++] = (uint8_t)o;
    }
    /* ModRM: every mod/reg/rm, with extra weight on the SIB and no-base forms */
    unsigned mod = rnd(4), reg = rnd(8), rm = rnd(8);
    r = rnd(100);
    if (r < 18) {
        rm = 4;
        if (mod == 3)
            mod = rnd(3);
    } else if (r < 24) {
        mod = 0;
        rm = 5;
    } else if (r < 30) {
        mod = 0;
        rm = 6;
    }
    buf[n++] = (uint8_t)(mod << 6 | reg << 3 | rm);
    /* SIB: extra weight on base 5 (disp32 / EBP) and index 4 (none) */
    unsigned ss = rnd(4), idx = rnd(8), base = rnd(8);
    r = rnd(100);
    if (r < 20)
        base = 5;
    else if (r < 35)
        idx = 4;
    else if (r < 45)
        base = 4;
    buf[n++] = (uint8_t)(ss << 6 | idx << 3 | base);
    while (n < BUF_LEN)
        buf[n++] = tail_byte();
}

/* ------------------------------------------------------------------------------------------ */
/* Directed cases. */

static unsigned directed_failures;

#define DFAIL(...) do { directed_failures++; printf("DIRECTED FAIL: " __VA_ARGS__); } while (0)

static void hex(const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        printf("%02x", b[i]);
}

/* The 15-byte limit: each base instruction padded with redundant prefixes to 15 bytes decodes;
 * one more prefix is DEC_TOO_LONG (whichever part of the instruction crosses byte 15), also
 * when the caller provides exactly the 16 bytes or more. */
static void directed_too_long(void)
{
    static const struct { bool code32; uint8_t b[15]; } base[] = {
        {true, {0x90}},
        {true, {0x0F, 0xA2}},                                     /* CPUID */
        {true, {0x01, 0xC0}},                                     /* ADD eax,eax */
        {true, {0x8B, 0x04, 0x24}},                               /* MOV eax,[esp] */
        {true, {0x8B, 0x80, 1, 2, 3, 4}},                         /* disp32 last */
        {true, {0x8B, 0x04, 0x85, 1, 2, 3, 4}},                   /* SIB + disp32 */
        {true, {0xC7, 0x84, 0x24, 1, 2, 3, 4, 5, 6, 7, 8}},       /* SIB disp32 imm32 */
        {true, {0xE9, 1, 2, 3, 4}},                               /* rel32 last */
        {true, {0xEA, 1, 2, 3, 4, 5, 6}},                         /* ptr16:32 */
        {true, {0x0F, 0xBA, 0xE0, 0x05}},                         /* BT eax,imm8 */
        {true, {0x0F, 0x84, 0x00, 0x10, 0x00, 0x00}},             /* JZ rel32 */
        {true, {0xC8, 0x10, 0x00, 0x01}},                         /* ENTER */
        {true, {0xD9, 0x04, 0x24}},                               /* FLD [esp] */
        {true, {0x0F, 0x73, 0xD0, 0x08}},                         /* PSRLQ mm0,8 */
        {false, {0x81, 0x06, 1, 2, 3, 4}},                        /* disp16 imm16 */
        {false, {0x8B, 0x87, 0x34, 0x12}},                        /* [bx+disp16] */
        {false, {0x9A, 1, 2, 3, 4}},                              /* CALL ptr16:16 */
        {false, {0x0F, 0x00, 0xD8}},                              /* LTR ax */
        {false, {0x66, 0x67, 0xC7, 0x84, 0x24, 1, 2, 3, 4, 5, 6, 7, 8}}, /* 32-bit forms */
    };
    /* size-neutral prefixes (66/67 would change the length of what follows) */
    static const uint8_t pfx[] = {0x26, 0x3E, 0x2E, 0x64, 0x65, 0x36, 0xF3, 0xF2};
    for (unsigned t = 0; t < sizeof(base) / sizeof(base[0]); t++) {
        struct insn in;
        bool code32 = base[t].code32;
        if (decode_insn(&in, base[t].b, 15, code32) != DEC_OK) {
            DFAIL("base case %u does not decode\n", t);
            continue;
        }
        unsigned blen = in.len;
        for (unsigned npfx = 0; npfx + blen <= 16; npfx++) {
            uint8_t buf[32];
            memset(buf, 0xCC, sizeof(buf));
            for (unsigned i = 0; i < npfx; i++)
                buf[i] = pfx[(i + t) % sizeof(pfx)];
            memcpy(buf + npfx, base[t].b, blen);
            unsigned total = npfx + blen;
            for (unsigned avail = total; avail <= total + 8; avail += 8) {
                int st = decode_insn(&in, buf, avail, code32);
                int want = total <= 15 ? DEC_OK : DEC_TOO_LONG;
                if (st != want || (st == DEC_OK && in.len != total)) {
                    DFAIL("length limit: ");
                    hex(buf, total);
                    printf(" avail=%u: status %s len %u, want %s\n", avail, status_name(st),
                           in.len, status_name(want));
                }
            }
        }
    }
    /* Prefixes alone: 15 of them with nothing after is TOO_LONG, not NEED_MORE, whenever the
     * 16th byte would be needed; 14 with a one-byte opcode is fine. */
    uint8_t b[BUF_LEN];
    struct insn in;
    memset(b, 0x66, sizeof(b));
    if (decode_insn(&in, b, sizeof(b), true) != DEC_TOO_LONG)
        DFAIL("24 x 66 is not TOO_LONG\n");
    /* 15 prefixes already make any instruction longer than 15 bytes: the answer does not
     * depend on the unavailable 16th byte */
    if (decode_insn(&in, b, 15, true) != DEC_TOO_LONG)
        DFAIL("15 x 66 with 15 available is not TOO_LONG\n");
    if (decode_insn(&in, b, 14, true) != DEC_NEED_MORE)
        DFAIL("14 x 66 with 14 available is not NEED_MORE\n");
    memset(b, 0xF0, 14);
    b[14] = 0x90;
    if (decode_insn(&in, b, 15, true) != DEC_UD)
        DFAIL("14 x LOCK + NOP should be #UD (LOCK on NOP)\n");
    memset(b, 0x2E, 15);
    b[15] = 0x90;
    if (decode_insn(&in, b, 16, false) != DEC_TOO_LONG)
        DFAIL("15 x CS: + NOP should be TOO_LONG\n");
}

/* LOCK against the SDM list (Vol. 2, LOCK): ADD ADC AND BTC BTR BTS CMPXCHG CMPXCHG8B DEC INC
 * NEG NOT OR SBB SUB XOR XADD XCHG, memory destination forms only. */
static bool sdm_lockable(unsigned map, unsigned opc, unsigned reg)
{
    if (map == 0) {
        if (opc < 0x40 && (opc & 7) <= 1 && (opc >> 3) != 7) /* ALU r/m,r forms except CMP */
            return true;
        switch (opc) {
        case 0x80: case 0x81: case 0x82: case 0x83: return reg != 7;        /* not CMP */
        case 0x86: case 0x87: return true;                                  /* XCHG */
        case 0xF6: case 0xF7: return reg == 2 || reg == 3;                  /* NOT NEG */
        case 0xFE: case 0xFF: return reg <= 1;                              /* INC DEC */
        default: return false;
        }
    }
    switch (opc) {
    case 0xAB: case 0xB3: case 0xBB: return true;                     /* BTS BTR BTC */
    case 0xBA: return reg >= 5;                                       /* BTS BTR BTC imm */
    case 0xB0: case 0xB1: case 0xC0: case 0xC1: return true;          /* CMPXCHG XADD */
    case 0xC7: return reg == 1;                                       /* CMPXCHG8B */
    default: return false;
    }
}

static bool is_prefix(uint8_t b)
{
    switch (b) {
    case 0x26: case 0x2E: case 0x36: case 0x3E: case 0x64: case 0x65: case 0x66: case 0x67:
    case 0xF0: case 0xF2: case 0xF3:
        return true;
    default:
        return false;
    }
}

static void directed_lock(void)
{
    unsigned checked = 0, lockable = 0;
    for (unsigned code32 = 0; code32 < 2; code32++) {
        for (unsigned map = 0; map < 2; map++) {
            for (unsigned opc = 0; opc < 256; opc++) {
                if (map == 0 && (opc == 0x0F || is_prefix((uint8_t)opc)))
                    continue;
                for (unsigned reg = 0; reg < 8; reg++) {
                    for (unsigned memform = 0; memform < 2; memform++) {
                        uint8_t plain[BUF_LEN], locked[BUF_LEN + 2];
                        unsigned n = 0;
                        if (map)
                            plain[n++] = 0x0F;
                        plain[n++] = (uint8_t)opc;
                        plain[n++] = (uint8_t)((memform ? 0 : 3) << 6 | reg << 3 | 3);
                        while (n < BUF_LEN)
                            plain[n++] = 0x11;
                        struct insn in, lin;
                        int st = decode_insn(&in, plain, BUF_LEN, code32);
                        bool mem = st == DEC_OK && (in.flags & INSN_F_MEM);
                        /* LOCK first, and LOCK after other prefixes */
                        for (unsigned where = 0; where < 2; where++) {
                            unsigned k = 0;
                            if (where)
                                locked[k++] = 0x3E;
                            locked[k++] = 0xF0;
                            memcpy(locked + k, plain, BUF_LEN);
                            int lst = decode_insn(&lin, locked, BUF_LEN + k, code32);
                            int want = st;
                            if (st == DEC_OK)
                                want = sdm_lockable(map, opc, reg) && mem ? DEC_OK : DEC_UD;
                            checked++;
                            if (want == DEC_OK)
                                lockable++;
                            if (lst != want || (lst == DEC_OK && !(lin.flags & INSN_F_LOCK)) ||
                                (lst != DEC_TOO_LONG && lin.len != in.len + k)) {
                                DFAIL("LOCK: [%u] ", code32 ? 32 : 16);
                                hex(locked, in.len + k);
                                printf(": status %s len %u, want %s (without LOCK: %s %s)\n",
                                       status_name(lst), lin.len, status_name(want),
                                       status_name(st), insn_op_name(in.op));
                            }
                        }
                    }
                }
            }
        }
    }
    printf("directed LOCK: %u encodings checked, %u lockable\n", checked, lockable);
}

/* Decoder decisions taken while reconciling with capstone (see KNOWN_DIFFERENCES.md), pinned
 * so that they do not regress. osize 0: not checked. */
static void directed_decisions(void)
{
    static const struct {
        bool code32;
        const char *hex;
        int status;
        unsigned len, osize;
        const char *what;
    } cases[] = {
        {true, "0f73e001", DEC_UD, 4, 0, "0F 73 /4 does not exist (no PSRAQ) [fixed]"},
        {true, "0f73d801", DEC_UD, 4, 0, "0F 73 /3 is SSE2 PSRLDQ"},
        {true, "0f73f801", DEC_UD, 4, 0, "0F 73 /7 is SSE2 PSLLDQ"},
        {true, "0f73d001", DEC_OK, 4, 0, "PSRLQ mm,imm8"},
        {true, "0f73f001", DEC_OK, 4, 0, "PSLLQ mm,imm8"},
        {true, "0f71e001", DEC_OK, 4, 0, "PSRAW mm,imm8"},
        {true, "0f72e001", DEC_OK, 4, 0, "PSRAD mm,imm8"},
        {true, "0f711001", DEC_UD, 4, 0, "MMX shift-by-immediate has no memory form"},
        {true, "0f00c0", DEC_OK, 3, 4, "SLDT eax: register gets the operand size [fixed]"},
        {true, "660f00c0", DEC_OK, 4, 2, "SLDT ax"},
        {true, "0f0000", DEC_OK, 3, 2, "SLDT m16"},
        {true, "0f00c9", DEC_OK, 3, 4, "STR ecx [fixed]"},
        {false, "660f00c9", DEC_OK, 4, 4, "STR ecx in 16-bit code [fixed]"},
        {true, "0f0120", DEC_OK, 3, 2, "SMSW m16 is a 16-bit store [fixed]"},
        {true, "0f01e0", DEC_OK, 3, 4, "SMSW eax"},
        {false, "0f01e0", DEC_OK, 3, 2, "SMSW ax"},
        {true, "8c00", DEC_OK, 2, 2, "MOV m16,ES is a 16-bit store [fixed]"},
        {true, "8cc0", DEC_OK, 2, 4, "MOV eax,ES"},
        {false, "668cc0", DEC_OK, 3, 4, "MOV eax,ES in 16-bit code"},
        {true, "8ec8", DEC_UD, 2, 0, "MOV CS,r/m16 is #UD"},
        {true, "8e08", DEC_UD, 2, 0, "MOV CS,m16 is #UD"},
        {true, "0f20c8", DEC_UD, 3, 0, "MOV eax,CR1 is #UD"},
        {true, "0f22e8", DEC_UD, 3, 0, "MOV CR5,eax is #UD"},
        {true, "0f2000", DEC_OK, 3, 0, "MOV eax,CR0 with mod=0: mod is ignored"},
        {true, "0f21e0", DEC_OK, 3, 0, "MOV eax,DR4 (CR4.DE is a run-time check)"},
        {true, "0f18c0", DEC_OK, 3, 0, "0F 18 register form is a reserved NOP"},
        {true, "0f1ec0", DEC_OK, 3, 0, "0F 1E register form is a reserved NOP"},
        {true, "0f1f440000", DEC_OK, 5, 0, "NOP Ev"},
        {true, "0f0d00", DEC_UD, 2, 0, "0F 0D (3DNow! PREFETCH) is not a P6 opcode"},
        {true, "0fb9c0", DEC_UD, 2, 0, "UD1"},
        {true, "0fffc0", DEC_UD, 2, 0, "UD0"},
        {true, "0f0b", DEC_OK, 2, 0, "UD2 decodes as OP_UD2 (its execution raises #UD)"},
        {true, "d6", DEC_OK, 1, 0, "SALC"},
        {true, "f1", DEC_OK, 1, 0, "INT1/ICEBP"},
        {true, "f6c8ff", DEC_OK, 3, 1, "TEST r/m8,imm8 alias F6 /1"},
        {true, "c0f001", DEC_OK, 3, 1, "SAL alias /6"},
        {true, "82c001", DEC_OK, 3, 1, "82 alias of 80 outside 64-bit mode"},
        {true, "d9d8", DEC_OK, 2, 0, "x87 FSTP1 alias"},
        {true, "dbe4", DEC_OK, 2, 0, "FNSETPM (an FNOP on the P6)"},
        {true, "660f6fc0", DEC_OK, 4, 0, "MMX MOVQ with 66 (prefix ignored on the P6)"},
        {true, "f390", DEC_OK, 2, 0, "PAUSE is REP NOP"},
        {true, "0f05", DEC_UD, 2, 0, "SYSCALL is not an Intel P6 instruction"},
        {true, "0f34", DEC_OK, 2, 0, "SYSENTER"},
        {true, "0fae00", DEC_OK, 3, 0, "FXSAVE"},
        {true, "0faef8", DEC_UD, 3, 0, "SFENCE is SSE"},
        {true, "0fae10", DEC_UD, 3, 0, "LDMXCSR is SSE"},
        {true, "0fc7c8", DEC_UD, 3, 0, "CMPXCHG8B has no register form"},
        {true, "0fc708", DEC_OK, 3, 0, "CMPXCHG8B m64"},
        {true, "f00fc708", DEC_OK, 4, 0, "LOCK CMPXCHG8B m64"},
        {true, "66e8ffff", DEC_OK, 4, 2, "CALL rel16 in 32-bit code"},
        {true, "66f2e8ffff", DEC_OK, 5, 2, "CALL rel16 with an ignored F2"},
    };
    for (unsigned t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
        uint8_t b[BUF_LEN];
        memset(b, 0, sizeof(b));
        unsigned n = 0;
        for (const char *h = cases[t].hex; h[0] && h[1]; h += 2) {
            unsigned v;
            sscanf(h, "%2x", &v);
            b[n++] = (uint8_t)v;
        }
        struct insn in;
        int st = decode_insn(&in, b, sizeof(b), cases[t].code32);
        if (st != cases[t].status || in.len != cases[t].len ||
            (cases[t].osize && st == DEC_OK && in.osize != cases[t].osize))
            DFAIL("[%d] %s (%s): status %s len %u osize %u, want %s len %u osize %u\n",
                  cases[t].code32 ? 32 : 16, cases[t].hex, cases[t].what, status_name(st), in.len,
                  in.osize, status_name(cases[t].status), cases[t].len, cases[t].osize);
    }
}

static unsigned long print_stats(const struct stats *st)
{
    unsigned long unexplained = 0;
    for (int o = 0; o < O_COUNT; o++)
        printf("  %-40s %9lu\n", outcome_names[o], st->outcome[o]);
    for (int k = 0; k < K_COUNT; k++) {
        if (st->kind[k])
            printf("    %-36s %9lu  (explained %lu, unexplained %lu)\n", kind_names[k], st->kind[k],
                   st->explained[k], st->unexplained[k]);
        unexplained += st->unexplained[k];
    }
    printf("  i686, both decode: %lu; same length %lu (%.4f%%); same length and fields %lu\n",
           st->p6_both, st->p6_len_eq,
           st->p6_both ? 100.0 * (double)st->p6_len_eq / (double)st->p6_both : 0.0,
           st->outcome[O_AGREE]);
    return unexplained;
}

/* ------------------------------------------------------------------------------------------ */

static unsigned parse_hex(const char *s, uint8_t *out, unsigned max)
{
    unsigned n = 0;
    while (s[0] && s[1] && n < max) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

int main(int argc, char **argv)
{
    unsigned long iters = 1000000;
    uint64_t seed = 0x6274383620646563ull; /* "bt86 dec" */
    for (unsigned i = 0; i < sizeof(p6_id_list) / sizeof(p6_id_list[0]); i++)
        p6_id[p6_id_list[i]] = true;
    for (int m = 0; m < 2; m++) {
        if (cs_open(CS_ARCH_X86, m ? CS_MODE_32 : CS_MODE_16, &cs_handle[m]) != CS_ERR_OK) {
            fprintf(stderr, "cs_open failed\n");
            return 1;
        }
        cs_option(cs_handle[m], CS_OPT_DETAIL, CS_OPT_ON);
    }
    cs_buf = cs_malloc(cs_handle[1]);

    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--iters") && a + 1 < argc) {
            iters = strtoul(argv[++a], NULL, 0);
        } else if (!strcmp(argv[a], "--seed") && a + 1 < argc) {
            seed = strtoull(argv[++a], NULL, 0);
        } else if (!strcmp(argv[a], "--dump") && a + 1 < argc) {
            dump_mnemonic = argv[++a];
        } else if (!strcmp(argv[a], "--hist")) {
            show_hist = true;
        } else if (!strcmp(argv[a], "--examples") && a + 1 < argc) {
            max_examples = (unsigned)strtoul(argv[++a], NULL, 0);
        } else if (!strcmp(argv[a], "--show") && a + 1 < argc) {
            bool code32 = atoi(argv[++a]) == 32;
            for (a++; a < argc; a++) {
                uint8_t b[BUF_LEN + 16];
                memset(b, 0, sizeof(b));
                unsigned n = parse_hex(argv[a], b, sizeof(b));
                struct sample s;
                decode_both(&s, b, n, code32);
                struct stats st;
                memset(&st, 0, sizeof(st));
                classify(&s, &st);
                print_sample(&s);
            }
            return 0;
        } else {
            fprintf(stderr,
                    "usage: %s [--iters N] [--seed S] [--examples N] [--hist] [--dump MNEMONIC]\n"
                    "       %s --show 16|32 HEX...\n",
                    argv[0], argv[0]);
            return 2;
        }
    }

    directed_too_long();
    directed_lock();
    directed_decisions();

    struct stats st[2], sw[2];
    memset(st, 0, sizeof(st));
    memset(sw, 0, sizeof(sw));
    unsigned long unexplained = 0;
    unsigned coverage_missing = 0;
    for (int m = 0; m < 2; m++) {
        bool code32 = m == 1;
        rng_state = seed ^ (code32 ? 0x32 : 0x16);
        uint8_t buf[BUF_LEN];
        for (unsigned long i = 0; i < iters; i++) {
            gen_case(buf);
            struct sample s;
            decode_both(&s, buf, BUF_LEN, code32);
            classify(&s, &st[m]);
        }
        printf("\n%d-bit mode, %lu random strings (seed 0x%" PRIx64 "):\n", code32 ? 32 : 16, iters,
               seed);
        unexplained += print_stats(&st[m]);
        if (report_coverage(&st[m]) && iters >= 1000000)
            coverage_missing++; /* enforced for full-size runs only */

        /* Exhaustive sweep: every opcode of both maps with every ModRM byte, under each prefix
         * set, followed by random SIB/displacement/immediate bytes. */
        static const char *const sweep_prefixes[] = {"",   "66", "67", "6667",
                                                     "f0", "f3", "f2", "2e"};
        unsigned long nsweep = 0;
        for (unsigned p = 0; p < sizeof(sweep_prefixes) / sizeof(sweep_prefixes[0]); p++) {
            uint8_t pfx[4];
            unsigned np = 0;
            for (const char *h = sweep_prefixes[p]; h[0] && h[1]; h += 2) {
                unsigned v;
                sscanf(h, "%2x", &v);
                pfx[np++] = (uint8_t)v;
            }
            for (unsigned map = 0; map < 2; map++) {
                for (unsigned opc = 0; opc < 256; opc++) {
                    for (unsigned modrm = 0; modrm < 256; modrm++) {
                        unsigned n = 0;
                        memcpy(buf, pfx, np);
                        n = np;
                        if (map)
                            buf[n++] = 0x0F;
                        buf[n++] = (uint8_t)opc;
                        buf[n++] = (uint8_t)modrm;
                        while (n < BUF_LEN)
                            buf[n++] = tail_byte();
                        struct sample s;
                        decode_both(&s, buf, BUF_LEN, code32);
                        classify(&s, &sw[m]);
                        nsweep++;
                    }
                }
            }
        }
        printf("\n%d-bit mode, exhaustive sweep: %lu strings (opcode x ModRM x %zu prefix sets):\n",
               code32 ? 32 : 16, nsweep, sizeof(sweep_prefixes) / sizeof(sweep_prefixes[0]));
        unexplained += print_stats(&sw[m]);
    }
    if (show_hist) {
        /* what capstone decoded that is not i686, by whether we decode it: for reviewing the
         * i686 rule (nothing P6 may hide here) */
        for (int ok = 0; ok < 2; ok++) {
            printf("\nnot i686 per capstone, we %s:\n", ok ? "decode (same length)" : "#UD");
            for (unsigned id = 0; id < X86_INS_ENDING; id++)
                if (nonp6_hist[ok][id])
                    printf("  %-16s %8lu\n", cs_insn_name(cs_handle[1], id), nonp6_hist[ok][id]);
        }
    }
    printf("\nknown differences (16-bit / 32-bit):\n");
    for (unsigned i = 0; i < N_EXCEPTIONS; i++)
        printf("  %-22s %-30s %8lu %8lu\n", exceptions[i].name, kind_names[exceptions[i].kind],
               exceptions[i].count[0], exceptions[i].count[1]);

    bool fail = unexplained || directed_failures || coverage_missing;
    printf("\nSUMMARY: %lu random strings per mode; i686 both decode %lu/%lu, same length "
           "%lu/%lu, full agreement %lu/%lu (16/32); sweep i686 same length %lu/%lu of %lu/%lu; "
           "unexplained disagreements %lu; directed failures %u; coverage gaps %u -> %s\n",
           iters, st[0].p6_both, st[1].p6_both, st[0].p6_len_eq, st[1].p6_len_eq,
           st[0].outcome[O_AGREE], st[1].outcome[O_AGREE], sw[0].p6_len_eq, sw[1].p6_len_eq,
           sw[0].p6_both, sw[1].p6_both, unexplained, directed_failures, coverage_missing,
           fail ? "FAIL" : "PASS");
    cs_free(cs_buf, 1);
    cs_close(&cs_handle[0]);
    cs_close(&cs_handle[1]);
    return fail ? 1 : 0;
}
