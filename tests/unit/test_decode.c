/* Directed tests of the decoder (cpu/decode.c): hand-assembled encodings with the length and
 * fields the Intel SDM (vol. 2, ch. 2 and appendix A) gives them. ModRM/SIB forms and their
 * default segments, displacement and immediate sizes, moffs, far pointers, ENTER, group
 * selectors, the 0F map, prefixes, the 15-byte limit, truncated input, and LOCK rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"

static struct insn in;
static int st;

static int run(bool code32, const uint8_t *b, unsigned n)
{
    memset(&in, 0xCC, sizeof(in));
    return decode_insn(&in, b, n, code32);
}

/* Decode the listed bytes (exactly those: `avail` is their count). */
#define DEC32(...) do { static const uint8_t b_[] = {__VA_ARGS__}; st = run(true, b_, sizeof(b_)); } while (0)
#define DEC16(...) do { static const uint8_t b_[] = {__VA_ARGS__}; st = run(false, b_, sizeof(b_)); } while (0)

#define OK(len_, op_) \
    do { \
        if (st != DEC_OK) \
            fail_msg("line %d: status %d, expected OK", __LINE__, st); \
        assert_int_equal(in.len, (len_)); \
        if (in.op != OP_##op_) \
            fail_msg("line %d: op %s, expected %s", __LINE__, insn_op_name(in.op), #op_); \
    } while (0)

#define MEM(seg_, base_, index_, scale_, disp_) \
    do { \
        assert_true(in.flags & INSN_F_MEM); \
        assert_int_equal(in.seg, (seg_)); \
        assert_int_equal(in.base, (base_)); \
        assert_int_equal(in.index, (index_)); \
        if ((index_) != INSN_NO_REG) \
            assert_int_equal(in.scale, (scale_)); \
        assert_int_equal(in.disp, (int32_t)(disp_)); \
    } while (0)

#define NO INSN_NO_REG

static void modrm_register_forms(void **state)
{
    (void)state;
    DEC32(0x01, 0xD8); /* add eax, ebx */
    OK(2, ADD);
    assert_int_equal(in.form, FORM_EG);
    assert_int_equal(in.rm, R_EAX);
    assert_int_equal(in.reg, R_EBX);
    assert_int_equal(in.osize, 4);
    assert_int_equal(in.asize, 4);
    assert_false(in.flags & INSN_F_MEM);
    assert_int_equal(in.modrm, 0xD8);
    assert_int_equal(in.opcode, 0x01);
    assert_int_equal(in.map, 0);
    assert_int_equal(in.rep, REP_NONE);

    DEC32(0x02, 0xE7); /* add ah, bh */
    OK(2, ADD);
    assert_int_equal(in.form, FORM_GE);
    assert_int_equal(in.osize, 1);
    assert_int_equal(in.reg, 4); /* AH */
    assert_int_equal(in.rm, 7);  /* BH */

    DEC16(0x29, 0xCA); /* sub dx, cx */
    OK(2, SUB);
    assert_int_equal(in.osize, 2);
    assert_int_equal(in.rm, R_EDX);
    assert_int_equal(in.reg, R_ECX);

    DEC32(0x8B, 0xEC); /* mov ebp, esp */
    OK(2, MOV);
    assert_int_equal(in.form, FORM_GE);
    assert_int_equal(in.reg, R_EBP);
    assert_int_equal(in.rm, R_ESP);
}

static void modrm32_memory_forms(void **state)
{
    (void)state;
    DEC32(0x8B, 0x00); /* mov eax, [eax] */
    OK(2, MOV);
    MEM(SR_DS, R_EAX, NO, 0, 0);
    assert_int_equal(in.asize, 4);

    DEC32(0x8B, 0x05, 0x78, 0x56, 0x34, 0x12); /* mov eax, [0x12345678] */
    OK(6, MOV);
    MEM(SR_DS, NO, NO, 0, 0x12345678);

    DEC32(0x8B, 0x45, 0xF0); /* mov eax, [ebp-0x10]: EBP base -> SS */
    OK(3, MOV);
    MEM(SR_SS, R_EBP, NO, 0, -0x10);

    DEC32(0x8B, 0x80, 0x78, 0x56, 0x34, 0x92); /* mov eax, [eax+0x92345678] (disp32) */
    OK(6, MOV);
    MEM(SR_DS, R_EAX, NO, 0, 0x92345678u);

    DEC32(0x8B, 0x04, 0x24); /* mov eax, [esp]: SIB, ESP base -> SS */
    OK(3, MOV);
    MEM(SR_SS, R_ESP, NO, 0, 0);

    DEC32(0x8B, 0x44, 0x8D, 0x10); /* mov eax, [ebp+ecx*4+0x10] */
    OK(4, MOV);
    MEM(SR_SS, R_EBP, R_ECX, 2, 0x10);

    DEC32(0x8B, 0x04, 0x8D, 0x78, 0x56, 0x34, 0x12); /* mov eax, [ecx*4+0x12345678] */
    OK(7, MOV);
    MEM(SR_DS, NO, R_ECX, 2, 0x12345678); /* no base: DS even though SIB.base = 5 */

    DEC32(0x8B, 0x0C, 0xF3); /* mov ecx, [ebx+esi*8] */
    OK(3, MOV);
    MEM(SR_DS, R_EBX, R_ESI, 3, 0);
    assert_int_equal(in.reg, R_ECX);

    DEC32(0x8B, 0x54, 0x24, 0xFC); /* mov edx, [esp-4]: index 4 = none */
    OK(4, MOV);
    MEM(SR_SS, R_ESP, NO, 0, -4);

    DEC32(0x8B, 0x84, 0x6C, 0x00, 0x01, 0x00, 0x00); /* mov eax, [esp+ebp*2+0x100] */
    OK(7, MOV);
    MEM(SR_SS, R_ESP, R_EBP, 1, 0x100);

    DEC32(0x8B, 0x04, 0x2C); /* mov eax, [esp+ebp]: base ESP -> SS */
    OK(3, MOV);
    MEM(SR_SS, R_ESP, R_EBP, 0, 0);

    DEC32(0x8B, 0x04, 0x28); /* mov eax, [eax+ebp]: base EAX -> DS (index EBP does not count) */
    OK(3, MOV);
    MEM(SR_DS, R_EAX, R_EBP, 0, 0);

    DEC32(0x8B, 0x44, 0x25, 0x08); /* mov eax, [ebp+8] via SIB, mod 1 */
    OK(4, MOV);
    MEM(SR_SS, R_EBP, NO, 0, 8);

    DEC32(0x8B, 0x84, 0x25, 0x00, 0x00, 0x00, 0x80); /* [ebp+0x80000000] via SIB, mod 2 */
    OK(7, MOV);
    MEM(SR_SS, R_EBP, NO, 0, 0x80000000u);

    DEC32(0x64, 0x8B, 0x45, 0x00); /* mov eax, fs:[ebp] */
    OK(4, MOV);
    MEM(SR_FS, R_EBP, NO, 0, 0);
    assert_true(in.flags & INSN_F_SEGOVR);

    DEC32(0x3E, 0x8B, 0x04, 0x24); /* mov eax, ds:[esp] */
    OK(4, MOV);
    MEM(SR_DS, R_ESP, NO, 0, 0);
    assert_true(in.flags & INSN_F_SEGOVR);
}

static void modrm16_memory_forms(void **state)
{
    (void)state;
    /* The eight 16-bit forms (SDM table 2-1): BP-based ones default to SS. */
    static const struct {
        uint8_t rm;
        uint8_t base, index, seg;
    } f[8] = {
        {0, R_EBX, R_ESI, SR_DS}, {1, R_EBX, R_EDI, SR_DS}, {2, R_EBP, R_ESI, SR_SS},
        {3, R_EBP, R_EDI, SR_SS}, {4, R_ESI, NO, SR_DS},    {5, R_EDI, NO, SR_DS},
        {6, R_EBP, NO, SR_SS},    {7, R_EBX, NO, SR_DS},
    };
    for (unsigned k = 0; k < 8; k++) {
        /* mod 1: disp8, sign-extended */
        uint8_t b1[3] = {0x8B, (uint8_t)(0x40 | f[k].rm), 0xFE};
        st = run(false, b1, 3);
        OK(3, MOV);
        MEM(f[k].seg, f[k].base, f[k].index, 0, -2);
        assert_int_equal(in.asize, 2);
        assert_int_equal(in.osize, 2);
        /* mod 2: disp16 */
        uint8_t b2[4] = {0x8B, (uint8_t)(0x80 | f[k].rm), 0x34, 0x12};
        st = run(false, b2, 4);
        OK(4, MOV);
        assert_int_equal(in.seg, f[k].seg);
        assert_int_equal(in.base, f[k].base);
        assert_int_equal(in.index, f[k].index);
        assert_int_equal(in.disp & 0xFFFF, 0x1234);
        if (k == 6)
            continue;
        /* mod 0: no displacement (rm 6 is the disp16 form) */
        uint8_t b0[2] = {0x8B, f[k].rm};
        st = run(false, b0, 2);
        OK(2, MOV);
        MEM(f[k].seg, f[k].base, f[k].index, 0, 0);
    }
    DEC16(0x8B, 0x06, 0x34, 0x12); /* mov ax, [0x1234]: no base, DS */
    OK(4, MOV);
    MEM(SR_DS, NO, NO, 0, 0x1234);

    DEC16(0x8B, 0x86, 0xFF, 0xFF); /* mov ax, [bp+0xFFFF] */
    OK(4, MOV);
    assert_int_equal(in.seg, SR_SS);
    assert_int_equal(in.disp & 0xFFFF, 0xFFFF);

    DEC16(0x26, 0x8B, 0x46, 0x02); /* mov ax, es:[bp+2] */
    OK(4, MOV);
    MEM(SR_ES, R_EBP, NO, 0, 2);

    /* Address-size prefix in 32-bit code gives 16-bit addressing, and vice versa. */
    DEC32(0x67, 0x8B, 0x46, 0x02); /* mov eax, [bp+2] */
    OK(4, MOV);
    MEM(SR_SS, R_EBP, NO, 0, 2);
    assert_int_equal(in.asize, 2);
    assert_int_equal(in.osize, 4);
    assert_true(in.flags & INSN_F_P67);

    DEC16(0x67, 0x8B, 0x04, 0x24); /* mov ax, [esp] */
    OK(4, MOV);
    MEM(SR_SS, R_ESP, NO, 0, 0);
    assert_int_equal(in.asize, 4);
    assert_int_equal(in.osize, 2);

    DEC16(0x67, 0x66, 0x8B, 0x05, 0x78, 0x56, 0x34, 0x12); /* mov eax, [0x12345678] */
    OK(8, MOV);
    MEM(SR_DS, NO, NO, 0, 0x12345678);
    assert_int_equal(in.osize, 4);
}

static void immediates(void **state)
{
    (void)state;
    DEC32(0xB8, 0x78, 0x56, 0x34, 0x12); /* mov eax, imm32 */
    OK(5, MOV);
    assert_int_equal(in.form, FORM_EI);
    assert_int_equal(in.rm, R_EAX);
    assert_int_equal(in.imm, 0x12345678);

    DEC32(0x66, 0xBB, 0x34, 0x12); /* mov bx, imm16 */
    OK(4, MOV);
    assert_int_equal(in.osize, 2);
    assert_int_equal(in.rm, R_EBX);
    assert_int_equal(in.imm, 0x1234);
    assert_true(in.flags & INSN_F_P66);

    DEC16(0xB4, 0x80); /* mov ah, 0x80 */
    OK(2, MOV);
    assert_int_equal(in.osize, 1);
    assert_int_equal(in.rm, 4);
    assert_int_equal(in.imm, 0x80);

    DEC32(0x05, 0x01, 0x00, 0x00, 0x80); /* add eax, 0x80000001 */
    OK(5, ADD);
    assert_int_equal(in.form, FORM_EI);
    assert_int_equal(in.rm, R_EAX);
    assert_int_equal(in.imm, 0x80000001u);

    DEC16(0x3C, 0xFF); /* cmp al, 0xFF */
    OK(2, CMP);
    assert_int_equal(in.osize, 1);
    assert_int_equal(in.imm, 0xFF);

    DEC32(0x6A, 0xFF); /* push -1: sign-extended to the operand size */
    OK(2, PUSH);
    assert_int_equal(in.form, FORM_I);
    assert_int_equal(in.imm, 0xFFFFFFFFu);
    DEC16(0x6A, 0x80);
    OK(2, PUSH);
    assert_int_equal(in.imm, 0xFF80);

    DEC32(0x68, 0x00, 0x10, 0x00, 0x00); /* push 0x1000 */
    OK(5, PUSH);
    assert_int_equal(in.imm, 0x1000);

    DEC32(0x69, 0xC3, 0x78, 0x56, 0x34, 0x12); /* imul eax, ebx, 0x12345678 */
    OK(6, IMUL3);
    assert_int_equal(in.reg, R_EAX);
    assert_int_equal(in.rm, R_EBX);
    assert_int_equal(in.imm, 0x12345678);
    DEC32(0x6B, 0x44, 0x24, 0x08, 0xFE); /* imul eax, [esp+8], -2 */
    OK(5, IMUL3);
    MEM(SR_SS, R_ESP, NO, 0, 8);
    assert_int_equal(in.imm, 0xFFFFFFFEu);

    DEC32(0xC7, 0x05, 0x00, 0x20, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11); /* mov [0x2000], imm32 */
    OK(10, MOV);
    MEM(SR_DS, NO, NO, 0, 0x2000);
    assert_int_equal(in.form, FORM_EI);
    assert_int_equal(in.imm, 0x11223344);

    DEC16(0xC7, 0x06, 0x00, 0x20, 0x44, 0x33); /* mov word [0x2000], 0x3344 */
    OK(6, MOV);
    assert_int_equal(in.imm, 0x3344);

    DEC32(0xC2, 0x08, 0x00); /* ret 8 */
    OK(3, RET);
    assert_int_equal(in.imm, 8);
    DEC32(0xC3);
    OK(1, RET);

    DEC32(0xCD, 0x80); /* int 0x80 */
    OK(2, INT);
    assert_int_equal(in.imm, 0x80);

    DEC32(0xE4, 0x60); /* in al, 0x60 */
    OK(2, IN);
    assert_int_equal(in.osize, 1);
    assert_int_equal(in.imm, 0x60);
    assert_int_equal(in.form, FORM_I);
    DEC32(0x66, 0xED); /* in ax, dx */
    OK(2, IN);
    assert_int_equal(in.osize, 2);
    assert_int_equal(in.form, FORM_DX);

    DEC32(0xD4, 0x0A); /* aam */
    OK(2, AAM);
    assert_int_equal(in.imm, 10);
}

static void branches(void **state)
{
    (void)state;
    DEC32(0x74, 0xFE); /* jz $ */
    OK(2, JCC);
    assert_int_equal(in.cond, 4);
    assert_int_equal(in.disp, -2);
    DEC32(0x7F, 0x10); /* jg +0x10 */
    OK(2, JCC);
    assert_int_equal(in.cond, 0xF);
    assert_int_equal(in.disp, 0x10);

    DEC32(0x0F, 0x84, 0x00, 0x01, 0x00, 0x00); /* jz rel32 */
    OK(6, JCC);
    assert_int_equal(in.map, 1);
    assert_int_equal(in.cond, 4);
    assert_int_equal(in.disp, 0x100);
    DEC16(0x0F, 0x82, 0xFD, 0xFF); /* jb rel16 = -3 */
    OK(4, JCC);
    assert_int_equal(in.cond, 2);
    assert_int_equal(in.disp, -3);
    DEC32(0x66, 0x0F, 0x8F, 0x00, 0x80); /* jg rel16 with 66 in 32-bit code: -0x8000 */
    OK(5, JCC);
    assert_int_equal(in.disp, -0x8000);

    DEC32(0xE8, 0xFB, 0xFF, 0xFF, 0xFF); /* call $ */
    OK(5, CALL);
    assert_int_equal(in.disp, -5);
    DEC16(0xE8, 0x34, 0x12);
    OK(3, CALL);
    assert_int_equal(in.disp, 0x1234);
    DEC32(0xE9, 0x00, 0x00, 0x00, 0x80);
    OK(5, JMP);
    assert_int_equal(in.disp, INT32_MIN);
    DEC32(0xEB, 0x80); /* jmp short -128 */
    OK(2, JMP);
    assert_int_equal(in.disp, -128);

    DEC32(0xE2, 0xFE); /* loop $ */
    OK(2, LOOP);
    assert_int_equal(in.disp, -2);
    DEC32(0xE3, 0x05);
    OK(2, JCXZ);
    assert_int_equal(in.disp, 5);
    DEC32(0x67, 0xE3, 0x05); /* jcxz (CX) with 67 */
    OK(3, JCXZ);
    assert_int_equal(in.asize, 2);
}

static void moffs_forms(void **state)
{
    (void)state;
    DEC32(0xA1, 0x78, 0x56, 0x34, 0x12); /* mov eax, [0x12345678] */
    OK(5, MOV);
    MEM(SR_DS, NO, NO, 0, 0x12345678);
    assert_int_equal(in.form, FORM_GE);
    assert_int_equal(in.reg, R_EAX);
    assert_int_equal(in.osize, 4);

    DEC32(0xA2, 0x00, 0x10, 0x00, 0x00); /* mov [0x1000], al */
    OK(5, MOV);
    MEM(SR_DS, NO, NO, 0, 0x1000);
    assert_int_equal(in.form, FORM_EG);
    assert_int_equal(in.reg, R_EAX);
    assert_int_equal(in.osize, 1);

    DEC16(0xA1, 0x34, 0x12); /* mov ax, [0x1234]: moffs16 */
    OK(3, MOV);
    MEM(SR_DS, NO, NO, 0, 0x1234);
    assert_int_equal(in.osize, 2);

    /* The offset's size follows the address size, not the operand size. */
    DEC32(0x67, 0xA1, 0x34, 0x12);
    OK(4, MOV);
    assert_int_equal(in.asize, 2);
    assert_int_equal(in.osize, 4);
    assert_int_equal(in.disp, 0x1234);
    DEC32(0x66, 0xA3, 0x78, 0x56, 0x34, 0x12); /* mov [0x12345678], ax */
    OK(6, MOV);
    assert_int_equal(in.osize, 2);
    assert_int_equal(in.disp, 0x12345678);
    DEC16(0x67, 0xA0, 0x78, 0x56, 0x34, 0x12); /* mov al, [0x12345678] in 16-bit code */
    OK(6, MOV);
    assert_int_equal(in.disp, 0x12345678);

    DEC32(0x2E, 0xA1, 0x00, 0x00, 0x00, 0x00); /* mov eax, cs:[0] */
    OK(6, MOV);
    assert_int_equal(in.seg, SR_CS);
    assert_true(in.flags & INSN_F_SEGOVR);
}

static void far_pointers_and_enter(void **state)
{
    (void)state;
    DEC32(0xEA, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00); /* jmp 0x0008:0x12345678 */
    OK(7, JMPF);
    assert_int_equal(in.imm, 0x12345678);
    assert_int_equal(in.imm2, 0x0008);
    DEC16(0xEA, 0x5B, 0xE0, 0x00, 0xF0); /* jmp 0xF000:0xE05B */
    OK(5, JMPF);
    assert_int_equal(in.imm, 0xE05B);
    assert_int_equal(in.imm2, 0xF000);
    DEC32(0x66, 0x9A, 0x34, 0x12, 0x10, 0x00); /* call 0x0010:0x1234 (ptr16:16) */
    OK(6, CALLF);
    assert_int_equal(in.imm, 0x1234);
    assert_int_equal(in.imm2, 0x0010);
    DEC16(0x66, 0xEA, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00); /* ptr16:32 from 16-bit code */
    OK(8, JMPF);
    assert_int_equal(in.imm, 0x12345678);
    assert_int_equal(in.imm2, 8);

    DEC32(0xFF, 0x2D, 0x00, 0x30, 0x00, 0x00); /* jmp far [0x3000] */
    OK(6, JMPF_M);
    MEM(SR_DS, NO, NO, 0, 0x3000);
    DEC32(0xFF, 0x1C, 0x24); /* call far [esp] */
    OK(3, CALLF_M);
    MEM(SR_SS, R_ESP, NO, 0, 0);
    DEC32(0xFF, 0xE8); /* jmp far with a register operand: #UD */
    assert_int_equal(st, DEC_UD);

    DEC32(0xC8, 0x10, 0x00, 0x01); /* enter 16, 1 */
    OK(4, ENTER);
    assert_int_equal(in.imm, 16);
    assert_int_equal(in.imm2, 1);
    DEC16(0xC8, 0x34, 0x12, 0xFF); /* enter 0x1234, 255 */
    OK(4, ENTER);
    assert_int_equal(in.imm, 0x1234);
    assert_int_equal(in.imm2, 0xFF);
    DEC32(0xC9);
    OK(1, LEAVE);

    DEC32(0xC4, 0x06); /* les eax, [esi] */
    OK(2, LSEG);
    assert_int_equal(in.sreg, SR_ES);
    DEC32(0xC5, 0x06);
    OK(2, LSEG);
    assert_int_equal(in.sreg, SR_DS);
    DEC32(0x0F, 0xB2, 0x06); /* lss */
    OK(3, LSEG);
    assert_int_equal(in.sreg, SR_SS);
    DEC32(0x0F, 0xB4, 0x06); /* lfs */
    OK(3, LSEG);
    assert_int_equal(in.sreg, SR_FS);
    DEC32(0x0F, 0xB5, 0x06); /* lgs */
    OK(3, LSEG);
    assert_int_equal(in.sreg, SR_GS);
    DEC32(0xC4, 0xC0); /* les with a register operand: #UD */
    assert_int_equal(st, DEC_UD);
}

static void group_selectors(void **state)
{
    (void)state;
    static const uint16_t g1[8] = {OP_ADD, OP_OR, OP_ADC, OP_SBB, OP_AND, OP_SUB, OP_XOR, OP_CMP};
    static const uint16_t g2[8] = {OP_ROL, OP_ROR, OP_RCL, OP_RCR, OP_SHL, OP_SHR, OP_SAL, OP_SAR};
    for (unsigned r = 0; r < 8; r++) {
        uint8_t b[6] = {0x81, (uint8_t)(0xC0 | r << 3 | R_EBX), 0x78, 0x56, 0x34, 0x12};
        st = run(true, b, 6);
        assert_int_equal(st, DEC_OK);
        assert_int_equal(in.len, 6);
        assert_int_equal(in.op, g1[r]);
        assert_int_equal(in.reg, r);
        assert_int_equal(in.rm, R_EBX);
        assert_int_equal(in.form, FORM_EI);
        assert_int_equal(in.imm, 0x12345678);
        uint8_t c[3] = {0xC1, (uint8_t)(0xC0 | r << 3 | R_ECX), 0x04};
        st = run(true, c, 3);
        assert_int_equal(st, DEC_OK);
        assert_int_equal(in.op, g2[r]);
        assert_int_equal(in.imm, 4);
        assert_int_equal(in.len, 3);
    }
    DEC32(0x83, 0xF9, 0xFF); /* cmp ecx, -1 */
    OK(3, CMP);
    assert_int_equal(in.imm, 0xFFFFFFFFu);
    DEC16(0x83, 0xF9, 0xFF); /* cmp cx, -1 */
    OK(3, CMP);
    assert_int_equal(in.imm, 0xFFFF);
    DEC32(0x80, 0x2D, 0x00, 0x10, 0x00, 0x00, 0x05); /* sub byte [0x1000], 5 */
    OK(7, SUB);
    MEM(SR_DS, NO, NO, 0, 0x1000);
    assert_int_equal(in.osize, 1);
    assert_int_equal(in.imm, 5);

    DEC32(0xD1, 0xF8); /* sar eax, 1 */
    OK(2, SAR);
    assert_int_equal(in.form, FORM_EI);
    assert_int_equal(in.imm, 1);
    DEC32(0xD3, 0xE8); /* shr eax, cl */
    OK(2, SHR);
    assert_int_equal(in.form, FORM_ECL);
    DEC32(0xD0, 0x00); /* rol byte [eax], 1 */
    OK(2, ROL);
    assert_int_equal(in.osize, 1);
    assert_int_equal(in.imm, 1);

    DEC32(0xF7, 0xC1, 0x00, 0x00, 0x01, 0x00); /* test ecx, 0x10000: F7 /0 has an imm32 */
    OK(6, TEST);
    assert_int_equal(in.form, FORM_EI);
    assert_int_equal(in.imm, 0x10000);
    DEC32(0xF6, 0xC1, 0xFF); /* test cl, 0xFF */
    OK(3, TEST);
    assert_int_equal(in.osize, 1);
    DEC32(0xF7, 0xD8); /* neg eax: no immediate */
    OK(2, NEG);
    assert_int_equal(in.form, FORM_E);
    DEC32(0xF7, 0xD0);
    OK(2, NOT);
    DEC32(0xF7, 0xE3);
    OK(2, MUL);
    DEC32(0xF7, 0xEB);
    OK(2, IMUL1);
    DEC32(0xF6, 0xF3);
    OK(2, DIV);
    assert_int_equal(in.osize, 1);
    DEC32(0xF7, 0xFB);
    OK(2, IDIV);

    DEC32(0xFE, 0xC0); /* inc al */
    OK(2, INC);
    assert_int_equal(in.osize, 1);
    DEC32(0xFE, 0xC8);
    OK(2, DEC);
    DEC32(0xFE, 0xD0); /* FE /2 does not exist */
    assert_int_equal(st, DEC_UD);
    DEC32(0xFF, 0xD0); /* call eax */
    OK(2, CALL_E);
    assert_int_equal(in.rm, R_EAX);
    DEC32(0xFF, 0x25, 0x00, 0x40, 0x00, 0x00); /* jmp [0x4000] */
    OK(6, JMP_E);
    MEM(SR_DS, NO, NO, 0, 0x4000);
    DEC32(0xFF, 0x30); /* push dword [eax] */
    OK(2, PUSH);
    assert_int_equal(in.form, FORM_E);
    DEC32(0xFF, 0xF8); /* FF /7 */
    assert_int_equal(st, DEC_UD);
    DEC32(0x8F, 0xC0); /* pop eax */
    OK(2, POP);
    DEC32(0x8F, 0xC8); /* 8F /1 */
    assert_int_equal(st, DEC_UD);
    DEC32(0xC6, 0xC0, 0x12); /* mov al, 0x12 */
    OK(3, MOV);
    assert_int_equal(in.imm, 0x12);
    DEC32(0xC6, 0xC8, 0x12); /* C6 /1 */
    assert_int_equal(st, DEC_UD);
    DEC32(0x0F, 0xBA, 0xE0, 0x05); /* bt eax, 5 */
    OK(4, BT);
    assert_int_equal(in.imm, 5);
    DEC32(0x0F, 0xBA, 0xF8, 0x1F); /* btc eax, 31 */
    OK(4, BTC);
    DEC32(0x0F, 0xBA, 0xC0, 0x05); /* 0F BA /0 */
    assert_int_equal(st, DEC_UD);
}

static void two_byte_map(void **state)
{
    (void)state;
    DEC32(0x0F, 0xB6, 0xC3); /* movzx eax, bl */
    OK(3, MOVZX);
    assert_int_equal(in.map, 1);
    assert_int_equal(in.opcode, 0xB6);
    assert_int_equal(in.ssize, 1);
    assert_int_equal(in.reg, R_EAX);
    assert_int_equal(in.rm, R_EBX);
    assert_int_equal(in.form, FORM_GE);
    DEC32(0x0F, 0xBF, 0x06); /* movsx eax, word [esi] */
    OK(3, MOVSX);
    assert_int_equal(in.ssize, 2);
    MEM(SR_DS, R_ESI, NO, 0, 0);

    DEC32(0x0F, 0x94, 0xC0); /* setz al */
    OK(3, SETCC);
    assert_int_equal(in.cond, 4);
    assert_int_equal(in.osize, 1);
    DEC32(0x0F, 0x4F, 0xC1); /* cmovg eax, ecx */
    OK(3, CMOV);
    assert_int_equal(in.cond, 0xF);
    assert_int_equal(in.reg, R_EAX);
    assert_int_equal(in.rm, R_ECX);

    DEC32(0x0F, 0xA2);
    OK(2, CPUID);
    DEC32(0x0F, 0x31);
    OK(2, RDTSC);
    DEC32(0x0F, 0x0B);
    OK(2, UD2);
    DEC32(0x0F, 0xAF, 0xC1); /* imul eax, ecx */
    OK(3, IMUL);
    DEC32(0x0F, 0xC8); /* bswap eax */
    OK(2, BSWAP);
    assert_int_equal(in.rm, R_EAX);
    DEC32(0x0F, 0xCF);
    OK(2, BSWAP);
    assert_int_equal(in.rm, R_EDI);
    DEC32(0x0F, 0xA4, 0xC3, 0x04); /* shld ebx, eax, 4 */
    OK(4, SHLD);
    assert_int_equal(in.form, FORM_EGI);
    assert_int_equal(in.rm, R_EBX);
    assert_int_equal(in.reg, R_EAX);
    assert_int_equal(in.imm, 4);
    DEC32(0x0F, 0xAD, 0xC3); /* shrd ebx, eax, cl */
    OK(3, SHRD);
    assert_int_equal(in.form, FORM_EGCL);
    DEC32(0x0F, 0xC1, 0x18); /* xadd [eax], ebx */
    OK(3, XADD);
    DEC32(0x0F, 0xB1, 0x0B); /* cmpxchg [ebx], ecx */
    OK(3, CMPXCHG);
    DEC32(0x0F, 0xC7, 0x0E); /* cmpxchg8b [esi] */
    OK(3, CMPXCHG8B);
    DEC32(0x0F, 0xC7, 0xC8); /* cmpxchg8b with a register: #UD */
    assert_int_equal(st, DEC_UD);

    DEC32(0x0F, 0x20, 0xC0); /* mov eax, cr0 */
    OK(3, MOV_FROM_CR);
    assert_int_equal(in.reg, 0);
    assert_int_equal(in.rm, R_EAX);
    DEC32(0x0F, 0x22, 0xD8); /* mov cr3, eax */
    OK(3, MOV_TO_CR);
    assert_int_equal(in.reg, 3);
    DEC32(0x0F, 0x22, 0x1B); /* mov cr3, ebx: mod bits ignored, never memory */
    OK(3, MOV_TO_CR);
    assert_false(in.flags & INSN_F_MEM);
    assert_int_equal(in.rm, R_EBX);
    DEC32(0x0F, 0x22, 0xC8); /* cr1 does not exist */
    assert_int_equal(st, DEC_UD);
    DEC32(0x0F, 0x20, 0xE8); /* nor cr5 */
    assert_int_equal(st, DEC_UD);
    DEC32(0x0F, 0x23, 0xF8); /* mov dr7, eax */
    OK(3, MOV_TO_DR);
    assert_int_equal(in.reg, 7);

    DEC32(0x0F, 0x01, 0x15, 0x00, 0x50, 0x00, 0x00); /* lgdt [0x5000] */
    OK(7, LGDT);
    MEM(SR_DS, NO, NO, 0, 0x5000);
    DEC32(0x0F, 0x01, 0xD0); /* lgdt with a register operand */
    assert_int_equal(st, DEC_UD);
    DEC32(0x0F, 0x01, 0x38); /* invlpg [eax] */
    OK(3, INVLPG);
    DEC32(0x0F, 0x01, 0xE0); /* smsw eax */
    OK(3, SMSW);
    DEC32(0x0F, 0x00, 0xD8); /* ltr ax */
    OK(3, LTR);
    assert_int_equal(in.osize, 2);
    DEC32(0x0F, 0x00, 0xF0); /* 0F 00 /6 */
    assert_int_equal(st, DEC_UD);

    DEC32(0x0F, 0xA0); /* push fs */
    OK(2, PUSH_SEG);
    assert_int_equal(in.sreg, SR_FS);
    DEC32(0x0F, 0xA9); /* pop gs */
    OK(2, POP_SEG);
    assert_int_equal(in.sreg, SR_GS);
    DEC32(0x07); /* pop es */
    OK(1, POP_SEG);
    assert_int_equal(in.sreg, SR_ES);
    DEC32(0x0E); /* push cs */
    OK(1, PUSH_SEG);
    assert_int_equal(in.sreg, SR_CS);
    DEC32(0x8E, 0xD8); /* mov ds, ax */
    OK(2, MOV_TO_SEG);
    assert_int_equal(in.sreg, SR_DS);
    DEC32(0x8E, 0xC8); /* mov cs, ax: #UD */
    assert_int_equal(st, DEC_UD);
    DEC32(0x8E, 0xF0); /* segment register 6: #UD */
    assert_int_equal(st, DEC_UD);
    DEC32(0x8C, 0xC8); /* mov eax, cs */
    OK(2, MOV_FROM_SEG);
    assert_int_equal(in.sreg, SR_CS);
    DEC32(0x8D, 0xC0); /* lea with a register operand */
    assert_int_equal(st, DEC_UD);
    DEC32(0x8D, 0x44, 0x24, 0x04); /* lea eax, [esp+4] */
    OK(4, LEA);

    DEC32(0xD8, 0xC1); /* fadd st0, st1: an x87 escape with its ModRM */
    OK(2, FPU);
    DEC32(0xDD, 0x05, 0x00, 0x60, 0x00, 0x00); /* fld qword [0x6000] */
    OK(6, FPU);
    assert_int_equal(in.opcode, 0xDD);

    DEC32(0x0F, 0xFF); /* undefined in the 0F map */
    assert_int_equal(st, DEC_UD);
    DEC32(0x0F, 0x0B);
    assert_int_equal(st, DEC_OK);
}

static void prefix_combinations(void **state)
{
    (void)state;
    DEC32(0xF3, 0xA5); /* rep movsd */
    OK(2, MOVS);
    assert_int_equal(in.rep, REP_Z);
    assert_int_equal(in.osize, 4);
    assert_int_equal(in.seg, SR_DS);
    DEC32(0xF3, 0x66, 0xA5); /* rep movsw */
    OK(3, MOVS);
    assert_int_equal(in.rep, REP_Z);
    assert_int_equal(in.osize, 2);
    DEC32(0xF2, 0xAE); /* repne scasb */
    OK(2, SCAS);
    assert_int_equal(in.rep, REP_NZ);
    assert_int_equal(in.osize, 1);
    DEC32(0x26, 0xF3, 0xA4); /* rep movsb es:[esi] -> source segment ES */
    OK(3, MOVS);
    assert_int_equal(in.seg, SR_ES);
    DEC32(0x67, 0xF3, 0xAB); /* rep stosd with CX/DI */
    OK(3, STOS);
    assert_int_equal(in.asize, 2);
    DEC32(0xAC);
    OK(1, LODS);
    assert_int_equal(in.osize, 1);

    DEC32(0x66, 0x67, 0x8B, 0x00); /* mov ax, [bx+si] */
    OK(4, MOV);
    assert_int_equal(in.osize, 2);
    assert_int_equal(in.asize, 2);
    MEM(SR_DS, R_EBX, R_ESI, 0, 0);
    DEC16(0x66, 0x67, 0x8B, 0x00); /* mov eax, [eax] */
    OK(4, MOV);
    assert_int_equal(in.osize, 4);
    assert_int_equal(in.asize, 4);
    MEM(SR_DS, R_EAX, NO, 0, 0);
    DEC32(0x66, 0x66, 0x66, 0x40); /* repeated 66 is still one 66 */
    OK(4, INC);
    assert_int_equal(in.osize, 2);
    DEC32(0x66, 0x88, 0xC3); /* 66 does not change a byte operation */
    OK(3, MOV);
    assert_int_equal(in.osize, 1);

    DEC32(0xF0, 0x01, 0x18); /* lock add [eax], ebx */
    OK(3, ADD);
    assert_true(in.flags & INSN_F_LOCK);
    DEC32(0xF0, 0x87, 0x18); /* lock xchg [eax], ebx */
    OK(3, XCHG);
    DEC32(0xF0, 0xFF, 0x00); /* lock inc dword [eax] */
    OK(3, INC);
    DEC32(0xF0, 0xF7, 0x18); /* lock neg dword [eax] */
    OK(3, NEG);
    DEC32(0xF0, 0x0F, 0xC7, 0x0E); /* lock cmpxchg8b [esi] */
    OK(4, CMPXCHG8B);
    DEC32(0xF0, 0x0F, 0xAB, 0x03); /* lock bts [ebx], eax */
    OK(4, BTS);
    DEC32(0xF0, 0x83, 0x00, 0x01); /* lock add dword [eax], 1 */
    OK(4, ADD);
    DEC32(0x66, 0xF0, 0x2E, 0x83, 0x30, 0x01); /* prefixes in any order */
    OK(6, XOR);
    assert_true(in.flags & INSN_F_LOCK);
    assert_int_equal(in.seg, SR_CS);
    assert_int_equal(in.osize, 2);
}

static void lock_rules(void **state)
{
    (void)state;
    DEC32(0xF0, 0x01, 0xD8); /* lock add eax, ebx: register destination */
    assert_int_equal(st, DEC_UD);
    DEC32(0xF0, 0x8B, 0x00); /* lock mov */
    assert_int_equal(st, DEC_UD);
    DEC32(0xF0, 0x39, 0x18); /* lock cmp [eax], ebx: CMP is not lockable */
    assert_int_equal(st, DEC_UD);
    DEC32(0xF0, 0x83, 0x38, 0x01); /* lock cmp dword [eax], 1 (81..83 /7) */
    assert_int_equal(st, DEC_UD);
    DEC32(0xF0, 0x85, 0x18); /* lock test */
    assert_int_equal(st, DEC_UD);
    DEC32(0xF0, 0xF7, 0x00, 0x01, 0x00, 0x00, 0x00); /* lock test dword [eax], 1 */
    assert_int_equal(st, DEC_UD);
    DEC32(0xF0, 0x90); /* lock nop */
    assert_int_equal(st, DEC_UD);
    DEC32(0xF0, 0x87, 0xC3); /* lock xchg ebx, eax: register form */
    assert_int_equal(st, DEC_UD);
    DEC32(0xF0, 0x0F, 0xA3, 0x03); /* lock bt [ebx], eax: BT only reads */
    assert_int_equal(st, DEC_UD);
    DEC32(0xF0, 0xC1, 0x20, 0x01); /* lock shl */
    assert_int_equal(st, DEC_UD);
    DEC32(0xF0, 0xA5); /* lock movsd */
    assert_int_equal(st, DEC_UD);
    /* Invalid opcodes and UD reports give the length consumed so far. */
    DEC32(0xF0, 0x01, 0xD8);
    assert_int_equal(in.len, 3);
    assert_int_equal(in.op, OP_UD);
}

static void fifteen_byte_limit(void **state)
{
    (void)state;
    uint8_t b[32];
    /* 14 prefixes + NOP = 15 bytes: legal. */
    memset(b, 0x66, sizeof(b));
    b[14] = 0x90;
    st = run(true, b, sizeof(b));
    assert_int_equal(st, DEC_OK);
    assert_int_equal(in.len, 15);
    assert_int_equal(in.op, OP_NOP);
    /* 15 prefixes + NOP = 16 bytes. */
    b[14] = 0x66;
    b[15] = 0x90;
    st = run(true, b, sizeof(b));
    assert_int_equal(st, DEC_TOO_LONG);
    /* 10 prefixes + mov eax, imm32 = 15: legal; 11 prefixes: 16. */
    memset(b, 0x3E, sizeof(b));
    memcpy(b + 10, "\xB8\x01\x02\x03\x04", 5);
    st = run(true, b, sizeof(b));
    assert_int_equal(st, DEC_OK);
    assert_int_equal(in.len, 15);
    assert_int_equal(in.imm, 0x04030201);
    memset(b, 0x3E, sizeof(b));
    memcpy(b + 11, "\xB8\x01\x02\x03\x04", 5);
    st = run(true, b, sizeof(b));
    assert_int_equal(st, DEC_TOO_LONG);
    /* Too long wins even when the input also ends there. */
    memset(b, 0xF3, 16);
    st = run(true, b, 16);
    assert_int_equal(st, DEC_TOO_LONG);
    /* The longest real encoding of an ordinary instruction, with prefixes, reaching 16. */
    static const uint8_t l[] = {0x26, 0x66, 0x67, 0xF0, 0x3E, 0x2E, 0x36, 0x64,
                                0x81, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00};
    st = run(false, l, sizeof(l)); /* add dword [eax+disp32], imm32: 8 + 1 + 1 + 4 + 4 = 18 */
    assert_int_equal(st, DEC_TOO_LONG);
}

/* Every proper prefix of an instruction's bytes decodes as DEC_NEED_MORE; the whole decodes
 * to the full length, even with more bytes after it. */
static void truncated_input(void **state)
{
    (void)state;
    static const struct {
        bool c32;
        uint8_t len;
        uint8_t b[15];
    } e[] = {
        {true, 5, {0xB8, 0x78, 0x56, 0x34, 0x12}},
        {true, 7, {0x8B, 0x04, 0x8D, 0x78, 0x56, 0x34, 0x12}},
        {true, 11, {0xC7, 0x84, 0x24, 0x00, 0x01, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11}},
        {true, 6, {0x0F, 0x84, 0x00, 0x01, 0x00, 0x00}},
        {true, 7, {0xEA, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00}},
        {true, 4, {0xC8, 0x10, 0x00, 0x01}},
        {true, 5, {0xA1, 0x78, 0x56, 0x34, 0x12}},
        {true, 4, {0x66, 0x67, 0x8B, 0x00}},
        {false, 6, {0xC7, 0x06, 0x00, 0x20, 0x44, 0x33}},
        {false, 4, {0x8B, 0x86, 0xFF, 0xFF}},
        {true, 4, {0x0F, 0xBA, 0xE0, 0x05}},
        {true, 2, {0xF3, 0xA5}},
        {true, 1, {0x90}},
    };
    for (size_t n = 0; n < sizeof(e) / sizeof(e[0]); n++) {
        uint8_t buf[15];
        memset(buf, 0x90, sizeof(buf));
        memcpy(buf, e[n].b, e[n].len);
        for (unsigned k = 0; k < e[n].len; k++) {
            st = run(e[n].c32, buf, k);
            if (st != DEC_NEED_MORE)
                fail_msg("case %zu: %u of %u bytes gives %d, expected NEED_MORE", n, k,
                         e[n].len, st);
        }
        st = run(e[n].c32, buf, e[n].len);
        assert_int_equal(st, DEC_OK);
        assert_int_equal(in.len, e[n].len);
        st = run(e[n].c32, buf, sizeof(buf));
        assert_int_equal(st, DEC_OK);
        assert_int_equal(in.len, e[n].len);
    }
}

static void decode_is_pure(void **state)
{
    (void)state;
    /* The same bytes give the same result whatever the output buffer held before. */
    static const uint8_t b[] = {0x8B, 0x44, 0x8D, 0x10};
    struct insn x, y;
    memset(&x, 0x00, sizeof(x));
    memset(&y, 0xFF, sizeof(y));
    assert_int_equal(decode_insn(&x, b, sizeof(b), true), DEC_OK);
    assert_int_equal(decode_insn(&y, b, sizeof(b), true), DEC_OK);
    /* Field by field: padding bytes are not part of the result. */
#define SAME(f) assert_int_equal(x.f, y.f)
    SAME(op); SAME(len); SAME(osize); SAME(asize); SAME(seg); SAME(rep); SAME(flags);
    SAME(form); SAME(reg); SAME(rm); SAME(base); SAME(index); SAME(scale); SAME(cond);
    SAME(ssize); SAME(sreg); SAME(opcode); SAME(map); SAME(modrm); SAME(disp); SAME(imm);
    SAME(imm2);
#undef SAME
    /* And the input is not written. */
    static const uint8_t orig[] = {0x8B, 0x44, 0x8D, 0x10};
    assert_memory_equal(b, orig, sizeof(b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(modrm_register_forms),
        cmocka_unit_test(modrm32_memory_forms),
        cmocka_unit_test(modrm16_memory_forms),
        cmocka_unit_test(immediates),
        cmocka_unit_test(branches),
        cmocka_unit_test(moffs_forms),
        cmocka_unit_test(far_pointers_and_enter),
        cmocka_unit_test(group_selectors),
        cmocka_unit_test(two_byte_map),
        cmocka_unit_test(prefix_combinations),
        cmocka_unit_test(lock_rules),
        cmocka_unit_test(fifteen_byte_limit),
        cmocka_unit_test(truncated_input),
        cmocka_unit_test(decode_is_pure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
