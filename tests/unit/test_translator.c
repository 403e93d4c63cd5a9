/* The translator: its x86-64 emitter checked against capstone's disassembly, translated
 * execution checked against the interpreter and against a C model of the guest program, and
 * compare mode checked to catch a wrong translation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>
#include <cmocka.h>

#include "cpu/debug.h"
#include "cpu/flags.h"
#include "cpu/icache.h"
#include "tests/support/testvm.h"
#include "translator/translator.h"
#include "translator/x64.h"

/* ---- emitter ---- */

/* Disassemble exactly one instruction and check it is `want` and uses every byte. */
static void expect_insn(const uint8_t *code, size_t len, const char *want)
{
    csh h;
    assert_int_equal(cs_open(CS_ARCH_X86, CS_MODE_64, &h), CS_ERR_OK);
    cs_insn *ins;
    size_t n = cs_disasm(h, code, len, 0, 0, &ins);
    assert_int_equal(n, 1);
    char text[256];
    snprintf(text, sizeof(text), "%s %s", ins[0].mnemonic, ins[0].op_str);
    size_t tl = strlen(text);
    if (tl && text[tl - 1] == ' ')
        text[tl - 1] = 0;
    if (strcmp(text, want) != 0)
        fail_msg("emitted '%s', wanted '%s'", text, want);
    assert_int_equal(ins[0].size, len);
    cs_free(ins, n);
    cs_close(&h);
}

#define EMIT_CHECK(want, call) \
    do { \
        uint8_t buf[32]; \
        struct x64buf b; \
        x64_init(&b, buf, sizeof(buf)); \
        call; \
        assert_true(x64_ok(&b)); \
        expect_insn(buf, x64_used(&b), want); \
    } while (0)

static void test_emitter_encodings(void **state)
{
    (void)state;
    EMIT_CHECK("mov r8d, dword ptr [r12 + 0x100]", x64_load32(&b, X_R8, X_R12, 0x100));
    EMIT_CHECK("mov dword ptr [rbx - 8], eax", x64_store32(&b, X_RBX, -8, X_RAX));
    EMIT_CHECK("mov dword ptr [rbp], 0x12345678", x64_store32_imm(&b, X_RBP, 0, 0x12345678));
    EMIT_CHECK("mov dword ptr [r13 + 0x7f], 1", x64_store32_imm(&b, X_R13, 127, 1));
    EMIT_CHECK("mov rsp, qword ptr [rsp + 0x10]", x64_load64(&b, X_RSP, X_RSP, 16));
    EMIT_CHECK("movabs r9, 0x123456789", x64_mov_imm64(&b, X_R9, 0x123456789ull));
    EMIT_CHECK("mov ecx, 5", x64_mov_imm64(&b, X_RCX, 5));
    EMIT_CHECK("mov rdi, rbx", x64_mov_rr64(&b, X_RDI, X_RBX));
    EMIT_CHECK("sub eax, r10d", x64_alu_rr32(&b, XA_SUB, X_RAX, X_R10));
    EMIT_CHECK("xor r15d, ecx", x64_alu_rr32(&b, XA_XOR, X_R15, X_RCX));
    EMIT_CHECK("cmp r11d, 0x80", x64_alu_ri32(&b, XA_CMP, X_R11, 0x80));
    EMIT_CHECK("and edx, 0xfffffff0", x64_alu_ri32(&b, XA_AND, X_RDX, 0xFFFFFFF0u));
    EMIT_CHECK("test esi, edi", x64_test_rr32(&b, X_RSI, X_RDI));
    EMIT_CHECK("lea edx, [eax + ecx*4 - 4]", x64_lea32(&b, X_RDX, X_RAX, X_RCX, 2, -4));
    EMIT_CHECK("lea edx, [0x1000]", x64_lea32(&b, X_RDX, -1, -1, 0, 0x1000));
    EMIT_CHECK("lea edx, [ecx*8 + 8]", x64_lea32(&b, X_RDX, -1, X_RCX, 3, 8));
    EMIT_CHECK("lea edx, [r12d]", x64_lea32(&b, X_RDX, X_R12, -1, 0, 0));
    EMIT_CHECK("lea r9d, [ebp + r13d*2]", x64_lea32(&b, X_R9, X_RBP, X_R13, 1, 0));
    EMIT_CHECK("add qword ptr [rbx + 0x8460], 1", x64_add_m64_imm8(&b, X_RBX, 0x8460, 1));
    EMIT_CHECK("cmp qword ptr [rbx + 8], 0", x64_cmp_m64_imm8(&b, X_RBX, 8, 0));
    EMIT_CHECK("cmp dword ptr [rax], 0x11223344", x64_cmp_m32_imm(&b, X_RAX, 0, 0x11223344));
    EMIT_CHECK("add ecx, dword ptr [rbx + 0x40]", x64_alu_rm32(&b, XA_ADD, X_RCX, X_RBX, 0x40));
    EMIT_CHECK("cmp r9d, dword ptr [r14 - 0x10]", x64_alu_rm32(&b, XA_CMP, X_R9, X_R14, -16));
    EMIT_CHECK("add rcx, qword ptr [rax + 0x18]", x64_add_rm64(&b, X_RCX, X_RAX, 0x18));
    EMIT_CHECK("add rax, rbx", x64_add_rr64(&b, X_RAX, X_RBX));
    EMIT_CHECK("mov edx, ecx", x64_mov_rr32(&b, X_RDX, X_RCX));
    EMIT_CHECK("shr eax, 0xc", x64_shr_ri32(&b, X_RAX, 12));
    EMIT_CHECK("shl r8d, 5", x64_shl_ri32(&b, X_R8, 5));
    EMIT_CHECK("sar edx, 0x1f", x64_sar_ri32(&b, X_RDX, 31));
    EMIT_CHECK("test byte ptr [rbx + 0x5c], 2", x64_test_m8_imm(&b, X_RBX, 0x5C, 2));
    EMIT_CHECK("movzx eax, byte ptr [rcx]", x64_load8zx(&b, X_RAX, X_RCX, 0));
    EMIT_CHECK("movzx r10d, word ptr [rbx + 4]", x64_load16zx(&b, X_R10, X_RBX, 4));
    EMIT_CHECK("movsx eax, byte ptr [rbx + 1]", x64_load8sx(&b, X_RAX, X_RBX, 1));
    EMIT_CHECK("movsx edx, word ptr [r12]", x64_load16sx(&b, X_RDX, X_R12, 0));
    EMIT_CHECK("mov byte ptr [rbx + 5], cl", x64_store8(&b, X_RBX, 5, X_RCX));
    EMIT_CHECK("mov word ptr [rcx], ax", x64_store16(&b, X_RCX, 0, X_RAX));
    EMIT_CHECK("mov byte ptr [rcx], 0x80", x64_store8_imm(&b, X_RCX, 0, 0x80));
    EMIT_CHECK("mov word ptr [rbx + 8], 0x1234", x64_store16_imm(&b, X_RBX, 8, 0x1234));
    EMIT_CHECK("push r15", x64_push(&b, X_R15));
    EMIT_CHECK("pop rbx", x64_pop(&b, X_RBX));
    EMIT_CHECK("call r11", x64_call_reg(&b, X_R11));
    EMIT_CHECK("jmp rax", x64_jmp_reg(&b, X_RAX));
    EMIT_CHECK("test al, al", x64_test_al(&b));
    EMIT_CHECK("shl eax, cl", x64_shift_cl32(&b, 4, X_RAX));
    EMIT_CHECK("sar r9d, cl", x64_shift_cl32(&b, 7, X_R9));
    EMIT_CHECK("shr al, 3", x64_shift_al_imm(&b, 5, 3));
    EMIT_CHECK("imul eax, ecx", x64_imul_rr32(&b, X_RAX, X_RCX));
    EMIT_CHECK("imul r10d, r9d", x64_imul_rr32(&b, X_R10, X_R9));
    EMIT_CHECK("imul eax, eax, 0xfffffff0", x64_imul_rri32(&b, X_RAX, X_RAX, 0xFFFFFFF0u));
    EMIT_CHECK("imul r8d, edx, 0x12345", x64_imul_rri32(&b, X_R8, X_RDX, 0x12345));
    EMIT_CHECK("jmp r9", x64_jmp_reg(&b, X_R9));
    EMIT_CHECK("ret", x64_ret(&b));
}

static void test_emitter_branches_and_overflow(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct x64buf b;
    x64_init(&b, buf, sizeof(buf));
    size_t j = x64_jcc32(&b, XC_NE);
    x64_ret(&b);
    x64_ret(&b);
    x64_patch_here(&b, j);
    /* jne over the two rets: target = 6 + 2 */
    expect_insn(buf, 6, "jne 8");

    uint8_t small[5];
    x64_init(&b, small, sizeof(small));
    x64_mov_imm64(&b, X_RAX, 0x1122334455667788ull);
    assert_false(x64_ok(&b));
    assert_true(x64_used(&b) <= sizeof(small));
}

/* ---- execution ---- */

#define CODE 0x2000u
#define DATA 0x1000u

/*  mov ecx, 1000; xor eax, eax; xor ebx, ebx
 * l: lea eax, [eax + ecx + 3]; add ebx, eax; xor ebx, ecx; mov [ecx*4 + 0x1000], ebx
 *    dec ecx; jnz l
 *    cmp ebx, 0x1234; mov edx, 0; div edx          (#DE, inside the last block) */
static const uint8_t program[] = {
    0xB9, 0xE8, 0x03, 0x00, 0x00, 0x31, 0xC0, 0x31, 0xDB,
    0x8D, 0x44, 0x08, 0x03, 0x01, 0xC3, 0x31, 0xCB, 0x89, 0x1C, 0x8D, 0x00, 0x10, 0x00, 0x00,
    0x49, 0x75, 0xEE,
    0x81, 0xFB, 0x34, 0x12, 0x00, 0x00, 0xBA, 0x00, 0x00, 0x00, 0x00, 0xF7, 0xF2,
};
#define DIV_EIP (CODE + sizeof(program) - 2)

static struct testvm *program_vm(void)
{
    struct testvm *vm = testvm_new(1u << 20);
    assert_non_null(vm);
    testvm_flat32_user(vm);
    assert_true(memmap_copy_to(&vm->mem, CODE, program, sizeof(program)));
    vm->cpu.eip = CODE;
    vm->cpu.stop_on_exception = 1u << EXC_DE;
    return vm;
}

/* The program in C: the values the guest must end with. */
static void model(uint32_t *eax, uint32_t *ebx, uint32_t mem[1001])
{
    uint32_t a = 0, b = 0;
    for (uint32_t c = 1000; c != 0; c--) {
        a = a + c + 3;
        b += a;
        b ^= c;
        mem[c] = b;
    }
    *eax = a;
    *ebx = b;
}

static void run_to_fault(struct testvm *vm)
{
    enum cpu_exit why = cpu_run(&vm->cpu, 100000);
    assert_int_equal(why, CPU_EXIT_EXCEPTION);
    assert_int_equal(vm->cpu.exc_vector, EXC_DE);
}

static void test_translated_matches_model_and_interpreter(void **state)
{
    (void)state;
    struct testvm *ref = program_vm();
    run_to_fault(ref);

    struct testvm *vm = program_vm();
    struct translator *t = translator_create(0);
    assert_non_null(t);
    translator_attach(t, &vm->cpu);
    run_to_fault(vm);

    uint32_t eax, ebx, mem[1001];
    model(&eax, &ebx, mem);
    struct cpu *c = &vm->cpu;
    assert_int_equal(c->regs[R_EAX], eax);
    assert_int_equal(c->regs[R_EBX], ebx);
    assert_int_equal(c->regs[R_ECX], 0);
    assert_int_equal(c->regs[R_EDX], 0);
    assert_int_equal(c->eip, DIV_EIP); /* the fault is precise: EIP of the DIV */
    /* 3 + 6 * 1000 + 2 instructions completed before the DIV faulted */
    assert_int_equal(c->icount, 6005);
    for (uint32_t k = 1; k <= 1000; k++) {
        uint32_t v;
        assert_true(memmap_copy_from(&vm->mem, DATA + 4 * k, &v, 4));
        assert_int_equal(v, mem[k]);
    }
    /* Same architectural state as the interpreter, flags included (CMP's result). */
    assert_int_equal(cpu_get_eflags(c), cpu_get_eflags(&ref->cpu));
    assert_memory_equal(c->regs, ref->cpu.regs, sizeof(c->regs));
    assert_int_equal(c->icount, ref->cpu.icount);

    struct translator_stats st;
    translator_get_stats(t, &st);
    assert_true(st.blocks >= 1);
    assert_true(st.inline_insns >= 4); /* LEA, ADD, XOR, XOR at least */
    assert_int_equal(st.failures, 0);
    translator_attach(NULL, c);
    translator_destroy(t);
    testvm_free(vm);
    testvm_free(ref);
}

/* INC/DEC after each kind of flag producer, CF read back by ADC and Jcc after them:
 *   mov ecx, 200; mov esi, 0
 * l: mov eax, ecx; add eax, -16; inc eax; adc esi, eax     (CF of the ADD survives INC)
 *    sub eax, ecx; dec eax; adc esi, 0                     (... of the SUB survives DEC)
 *    xor eax, 0x55; inc eax; adc esi, eax                  (CF 0 after a logic op)
 *    shl eax, 3; dec eax; adc esi, eax                     (CF of the shift)
 *    inc eax; js skip; add esi, 7
 * skip: cmp eax, ecx; inc eax; jbe l2                      (CF of CMP, ZF of INC)
 * l2: dec ecx; jnz l
 *    mov edx, 0; div edx */
static const uint8_t incdec_program[] = {
    0xb9, 0xc8, 0x00, 0x00, 0x00, 0xbe, 0x00, 0x00, 0x00, 0x00, 0x89, 0xc8,
    0x83, 0xc0, 0xf0, 0x40, 0x11, 0xc6, 0x29, 0xc8, 0x48, 0x83, 0xd6, 0x00,
    0x83, 0xf0, 0x55, 0x40, 0x11, 0xc6, 0xc1, 0xe0, 0x03, 0x48, 0x11, 0xc6,
    0x40, 0x78, 0x03, 0x83, 0xc6, 0x07, 0x39, 0xc8, 0x40, 0x76, 0x00, 0x49,
    0x75, 0xd8, 0xba, 0x00, 0x00, 0x00, 0x00, 0xf7, 0xf2,
};

/* IMUL with and without overflow, its flags read back by ADC, Jcc and PUSHFD:
 *   mov ecx, 300; mov esi, 0; mov edi, 7
 * l: mov eax, ecx; imul eax, ecx; adc esi, eax
 *    mov edx, ecx; shl edx, 20; imul edx, edx, 0x1001; adc esi, edx; jo skip; add esi, 3
 * skip: imul edi, eax; pushfd; pop eax; and eax, 0x8c5; add esi, eax
 *    imul eax, edi, -3; jns l2; inc esi
 * l2: dec ecx; jnz l
 *    mov edx, 0; div edx */
static const uint8_t imul_program[] = {
    0xb9, 0x2c, 0x01, 0x00, 0x00, 0xbe, 0x00, 0x00, 0x00, 0x00, 0xbf, 0x07,
    0x00, 0x00, 0x00, 0x89, 0xc8, 0x0f, 0xaf, 0xc1, 0x11, 0xc6, 0x89, 0xca,
    0xc1, 0xe2, 0x14, 0x69, 0xd2, 0x01, 0x10, 0x00, 0x00, 0x11, 0xd6, 0x70,
    0x03, 0x83, 0xc6, 0x03, 0x0f, 0xaf, 0xf8, 0x9c, 0x58, 0x25, 0xc5, 0x08,
    0x00, 0x00, 0x01, 0xc6, 0x6b, 0xc7, 0xfd, 0x79, 0x01, 0x46, 0x49, 0x75,
    0xd2, 0xba, 0x00, 0x00, 0x00, 0x00, 0xf7, 0xf2,
};

/* Read-modify-write forms, ADC/SBB in register and memory forms, INC/DEC on memory, each
 * after a different flag producer (see the comments for the carry each one reads):
 *   mov ecx, 400; mov esi, 0; mov dword [0x3000], 0x7FFFFFF0; mov dword [0x3004], 5
 * l: add [0x3000], ecx; adc esi, [0x3000]; sbb [0x3004], ecx; inc dword [0x3004]
 *    adc esi, 0; xor dword [0x3000], 0x1234; dec dword [0x3000]; sbb esi, ecx
 *    and [0x3004], esi; or [0x3004], ecx; sub dword [0x3000], 77; jc c1; add esi, 5
 * c1: mov eax, [0x3000]; adc eax, [0x3004]; sbb eax, 3; adc esi, eax
 *    cmp ecx, 200; ja skip; inc dword [0x3008]; jnz skip; add esi, 1
 * skip: dec ecx; jnz l; mov edx, 0; div edx */
static const uint8_t rmw_program[] = {
    0xb9, 0x90, 0x01, 0x00, 0x00, 0xbe, 0x00, 0x00, 0x00, 0x00, 0xc7, 0x05,
    0x00, 0x30, 0x00, 0x00, 0xf0, 0xff, 0xff, 0x7f, 0xc7, 0x05, 0x04, 0x30,
    0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01, 0x0d, 0x00, 0x30, 0x00, 0x00,
    0x13, 0x35, 0x00, 0x30, 0x00, 0x00, 0x19, 0x0d, 0x04, 0x30, 0x00, 0x00,
    0xff, 0x05, 0x04, 0x30, 0x00, 0x00, 0x83, 0xd6, 0x00, 0x81, 0x35, 0x00,
    0x30, 0x00, 0x00, 0x34, 0x12, 0x00, 0x00, 0xff, 0x0d, 0x00, 0x30, 0x00,
    0x00, 0x19, 0xce, 0x21, 0x35, 0x04, 0x30, 0x00, 0x00, 0x09, 0x0d, 0x04,
    0x30, 0x00, 0x00, 0x83, 0x2d, 0x00, 0x30, 0x00, 0x00, 0x4d, 0x72, 0x03,
    0x83, 0xc6, 0x05, 0xa1, 0x00, 0x30, 0x00, 0x00, 0x13, 0x05, 0x04, 0x30,
    0x00, 0x00, 0x83, 0xd8, 0x03, 0x11, 0xc6, 0x81, 0xf9, 0xc8, 0x00, 0x00,
    0x00, 0x77, 0x0b, 0xff, 0x05, 0x08, 0x30, 0x00, 0x00, 0x75, 0x03, 0x83,
    0xc6, 0x01, 0x49, 0x75, 0x95, 0xba, 0x00, 0x00, 0x00, 0x00, 0xf7, 0xf2,
};

/* 8-bit ALU forms on registers (AH and BH included) and memory, and NOT:
 *   mov ecx, 300; mov esi, 0; mov dword [0x3000], 0x80FF7F01
 * l: mov eax, ecx; mov ebx, ecx; shr ebx, 3; cmp al, 0x80; adc esi, 0; jl n1; add esi, 2
 * n1: test al, bl; jz n2; add esi, 4
 * n2: sub ah, bl; adc esi, eax; xor [0x3000], al; add byte [0x3001], 0x81; setz dl
 *    adc esi, 0; movzx edx, dl; add esi, edx
 *    cmp [0x3002], cl; jbe n3; inc esi
 * n3: or bh, [0x3003]; sbb esi, ebx; and byte [0x3003], 0xFE; not eax; add esi, eax
 *    add esi, [0x3000]; dec ecx; jnz l; mov edx, 0; div edx */
static const uint8_t alu8_program[] = {
    0xb9, 0x2c, 0x01, 0x00, 0x00, 0xbe, 0x00, 0x00, 0x00, 0x00, 0xc7, 0x05,
    0x00, 0x30, 0x00, 0x00, 0x01, 0x7f, 0xff, 0x80, 0x89, 0xc8, 0x89, 0xcb,
    0xc1, 0xeb, 0x03, 0x3c, 0x80, 0x83, 0xd6, 0x00, 0x7c, 0x03, 0x83, 0xc6,
    0x02, 0x84, 0xd8, 0x74, 0x03, 0x83, 0xc6, 0x04, 0x28, 0xdc, 0x11, 0xc6,
    0x30, 0x05, 0x00, 0x30, 0x00, 0x00, 0x80, 0x05, 0x01, 0x30, 0x00, 0x00,
    0x81, 0x0f, 0x94, 0xc2, 0x83, 0xd6, 0x00, 0x0f, 0xb6, 0xd2, 0x01, 0xd6,
    0x38, 0x0d, 0x02, 0x30, 0x00, 0x00, 0x76, 0x01, 0x46, 0x0a, 0x3d, 0x03,
    0x30, 0x00, 0x00, 0x19, 0xde, 0x80, 0x25, 0x03, 0x30, 0x00, 0x00, 0xfe,
    0xf7, 0xd0, 0x01, 0xc6, 0x03, 0x35, 0x00, 0x30, 0x00, 0x00, 0x49, 0x75,
    0xa7, 0xba, 0x00, 0x00, 0x00, 0x00, 0xf7, 0xf2,
};

/* Shifts by CL (counts 0..63: a masked count of 0 keeps the flags of the CMP before it) and
 * 8-bit shifts by an immediate (DL, DH, BL), flags read back by PUSHFD, ADC and Jcc:
 *   mov edi, 300; mov esi, 0
 * l: mov eax, edi; imul eax, eax, 0x9E3779B1; mov ebx, eax; mov ecx, edi; and ecx, 63
 *    cmp edi, 150; shl eax, cl; pushfd; pop edx; and edx, 0x8d5; add esi, edx; adc esi, eax
 *    shr ebx, cl; jc c1; add esi, 3
 * c1: sar ebx, cl; adc esi, ebx; mov edx, edi; shr dl, 3; jno n3; add esi, 9
 * n3: adc esi, edx; shl dh, 5
 *    pushfd; pop eax; and eax, 0x8d5; add esi, eax; sar dl, 1; jo c2; js c2; inc esi
 * c2: shl bl, 7; adc esi, ebx; dec edi; jnz l; mov edx, 0; div edx */
static const uint8_t shift_program[] = {
    0xbf, 0x2c, 0x01, 0x00, 0x00, 0xbe, 0x00, 0x00, 0x00, 0x00, 0x89, 0xf8,
    0x69, 0xc0, 0xb1, 0x79, 0x37, 0x9e, 0x89, 0xc3, 0x89, 0xf9, 0x83, 0xe1,
    0x3f, 0x81, 0xff, 0x96, 0x00, 0x00, 0x00, 0xd3, 0xe0, 0x9c, 0x5a, 0x81,
    0xe2, 0xd5, 0x08, 0x00, 0x00, 0x01, 0xd6, 0x11, 0xc6, 0xd3, 0xeb, 0x72,
    0x03, 0x83, 0xc6, 0x03, 0xd3, 0xfb, 0x11, 0xde, 0x89, 0xfa, 0xc0, 0xea,
    0x03, 0x71, 0x03, 0x83, 0xc6, 0x09, 0x11, 0xd6, 0xc0, 0xe6, 0x05, 0x9c,
    0x58, 0x25, 0xd5, 0x08, 0x00, 0x00, 0x01, 0xc6, 0xd0, 0xfa, 0x70, 0x03,
    0x78, 0x01, 0x46, 0xc0, 0xe3, 0x07, 0x11, 0xde, 0x4f, 0x75, 0xab, 0xba,
    0x00, 0x00, 0x00, 0x00, 0xf7, 0xf2,
};

/* CMOVcc and SETcc (AH, BH, DH included) after CMP, ADD, TEST, DEC, SHL and INC/DEC:
 *   mov ecx, 300; mov esi, 0
 * l: mov eax, ecx; imul eax, eax, 0x9E3779B1; mov ebx, eax; cmp eax, 0x80000000
 *    cmovb edx, ecx; cmova edx, ebx; setl dl; add esi, edx; add eax, ebx; cmovc edi, eax
 *    setnc bh; setz ah; add esi, eax; add esi, ebx; test eax, 0x100; cmovnz edi, ecx
 *    sets al; add esi, edi; dec ecx; cmovs edi, esi; setg dh; add esi, edx; shl ebx, 3
 *    cmovc edx, ebx; seto bl; add esi, ebx; add esi, edx; inc ecx; dec ecx; jnz l
 *    mov edx, 0; div edx */
static const uint8_t cmov_program[] = {
    0xb9, 0x2c, 0x01, 0x00, 0x00, 0xbe, 0x00, 0x00, 0x00, 0x00, 0x89, 0xc8,
    0x69, 0xc0, 0xb1, 0x79, 0x37, 0x9e, 0x89, 0xc3, 0x3d, 0x00, 0x00, 0x00,
    0x80, 0x0f, 0x42, 0xd1, 0x0f, 0x47, 0xd3, 0x0f, 0x9c, 0xc2, 0x01, 0xd6,
    0x01, 0xd8, 0x0f, 0x42, 0xf8, 0x0f, 0x93, 0xc7, 0x0f, 0x94, 0xc4, 0x01,
    0xc6, 0x01, 0xde, 0xa9, 0x00, 0x01, 0x00, 0x00, 0x0f, 0x45, 0xf9, 0x0f,
    0x98, 0xc0, 0x01, 0xfe, 0x49, 0x0f, 0x48, 0xfe, 0x0f, 0x9f, 0xc6, 0x01,
    0xd6, 0xc1, 0xe3, 0x03, 0x0f, 0x42, 0xd3, 0x0f, 0x90, 0xc3, 0x01, 0xde,
    0x01, 0xd6, 0x41, 0x49, 0x75, 0xb0, 0xba, 0x00, 0x00, 0x00, 0x00, 0xf7,
    0xf2,
};

/* Jcc to the next instruction in mid-block (found by compare mode on the Linux boot): the
 * block goes on after it, taken or not, in both engines.
 *   mov ecx, 200; mov esi, 0
 * l: mov eax, ecx; test al, 4; je n1
 * n1: add esi, eax; cmp eax, 50; jb n2
 * n2: add esi, 3; dec ecx; jnz l; mov edx, 0; div edx */
static const uint8_t jcc_next_program[] = {
    0xb9, 0xc8, 0x00, 0x00, 0x00, 0xbe, 0x00, 0x00, 0x00, 0x00, 0x89, 0xc8,
    0xa8, 0x04, 0x74, 0x00, 0x01, 0xc6, 0x83, 0xf8, 0x32, 0x72, 0x00, 0x83,
    0xc6, 0x03, 0x49, 0x75, 0xed, 0xba, 0x00, 0x00, 0x00, 0x00, 0xf7, 0xf2,
};

/* Flags dead across flag-transparent moves (MOV, LEA, NOP before a CMP or TEST), and not
 * dead when ADC, Jcc or SETcc reads them after such moves:
 *   mov ecx, 300; mov esi, 0
 * l: mov eax, ecx; imul eax, eax, 0x9E3779B1; add eax, 0x7FFFFFFF; mov ebx, eax
 *    lea edx, [eax + ecx*2]; nop; cmp ebx, edx; adc esi, 0
 *    add eax, ecx; mov ebx, ecx; lea edx, [ebx + 1]; adc esi, edx
 *    sub eax, 0x12345678; mov edx, eax; jc c1; add esi, 7
 * c1: xor eax, ecx; lea ebx, [eax + 3]; setz bl; add esi, ebx
 *    inc eax; mov edx, ecx; test eax, edx; adc esi, eax; dec ecx; jnz l
 *    mov edx, 0; div edx */
static const uint8_t dead_flags_program[] = {
    0xb9, 0x2c, 0x01, 0x00, 0x00, 0xbe, 0x00, 0x00, 0x00, 0x00, 0x89, 0xc8,
    0x69, 0xc0, 0xb1, 0x79, 0x37, 0x9e, 0x05, 0xff, 0xff, 0xff, 0x7f, 0x89,
    0xc3, 0x8d, 0x14, 0x48, 0x90, 0x39, 0xd3, 0x83, 0xd6, 0x00, 0x01, 0xc8,
    0x89, 0xcb, 0x8d, 0x53, 0x01, 0x11, 0xd6, 0x2d, 0x78, 0x56, 0x34, 0x12,
    0x89, 0xc2, 0x72, 0x03, 0x83, 0xc6, 0x07, 0x31, 0xc8, 0x8d, 0x58, 0x03,
    0x0f, 0x94, 0xc3, 0x01, 0xde, 0x40, 0x89, 0xca, 0x85, 0xd0, 0x11, 0xc6,
    0x49, 0x75, 0xbf, 0xba, 0x00, 0x00, 0x00, 0x00, 0xf7, 0xf2,
};

static struct testvm *code_vm(const uint8_t *code, size_t len)
{
    struct testvm *vm = testvm_new(1u << 20);
    assert_non_null(vm);
    testvm_flat32_user(vm);
    assert_true(memmap_copy_to(&vm->mem, CODE, code, len));
    vm->cpu.eip = CODE;
    vm->cpu.regs[R_ESP] = 0x9000;
    vm->cpu.stop_on_exception = 1u << EXC_DE;
    return vm;
}

/* `code` translated (every block before its first run) ends as the interpreter does, with
 * at least `min_inline` instructions inline; and compare mode sees no divergence. */
static void check_against_interpreter(const uint8_t *code, size_t len, uint64_t min_inline)
{
    struct testvm *ref = code_vm(code, len);
    run_to_fault(ref);

    struct testvm *vm = code_vm(code, len);
    struct translator *t = translator_create(0);
    assert_non_null(t);
    translator_set_hot_runs(t, 1);
    translator_attach(t, &vm->cpu);
    run_to_fault(vm);
    struct cpu *c = &vm->cpu;
    assert_memory_equal(c->regs, ref->cpu.regs, sizeof(c->regs));
    assert_int_equal(cpu_get_eflags(c), cpu_get_eflags(&ref->cpu));
    assert_int_equal(c->icount, ref->cpu.icount);
    assert_int_equal(c->eip, ref->cpu.eip);
    struct translator_stats st;
    translator_get_stats(t, &st);
    assert_true(st.inline_insns >= min_inline);
    translator_attach(NULL, c);
    translator_destroy(t);
    testvm_free(vm);

    /* And block by block in compare mode: flags after every block, the lazy CF included. */
    vm = code_vm(code, len);
    t = translator_create(0);
    struct translator_compare *k = translator_compare_create(t, NULL);
    assert_non_null(k);
    translator_compare_attach(k, &vm->cpu);
    run_to_fault(vm);
    assert_false(translator_compare_diverged(k));
    uint64_t compared, skipped;
    translator_compare_counts(k, &compared, &skipped);
    assert_true(compared >= 100); /* every program loops 100 times or more */
    assert_int_equal(vm->cpu.regs[R_ESI], ref->cpu.regs[R_ESI]);
    vm->mem.journal = NULL;
    translator_compare_destroy(k);
    translator_destroy(t);
    testvm_free(vm);
    testvm_free(ref);
}

static void test_incdec_flags_match_interpreter(void **state)
{
    (void)state;
    check_against_interpreter(incdec_program, sizeof(incdec_program), 12);
}

static void test_rmw_and_carry_forms_match_interpreter(void **state)
{
    (void)state;
    check_against_interpreter(rmw_program, sizeof(rmw_program), 20);
}

static void test_alu8_forms_match_interpreter(void **state)
{
    (void)state;
    check_against_interpreter(alu8_program, sizeof(alu8_program), 20);
}

static void test_shift_forms_match_interpreter(void **state)
{
    (void)state;
    check_against_interpreter(shift_program, sizeof(shift_program), 20);
}

static void test_cmov_setcc_match_interpreter(void **state)
{
    (void)state;
    check_against_interpreter(cmov_program, sizeof(cmov_program), 25);
}

static void test_jcc_to_next_instruction(void **state)
{
    (void)state;
    check_against_interpreter(jcc_next_program, sizeof(jcc_next_program), 8);
}

static void test_dead_flags_across_moves(void **state)
{
    (void)state;
    check_against_interpreter(dead_flags_program, sizeof(dead_flags_program), 20);
}

static void test_imul_flags_match_interpreter(void **state)
{
    (void)state;
    check_against_interpreter(imul_program, sizeof(imul_program), 10);
}

/* A memory-map change under translated code: the loop at 0x5000 first runs from a ROM-like
 * host page ("add esi, 1" after each call), then the page is unmapped and RAM shows the same
 * loop with "add esi, 2". The callee's RET looks its return address up in the block table and
 * jumps into that block's translation: the ROM's, whose TLB entry is good again; the
 * remapped page's generation and the memory-map epoch both tell it is stale.
 *   0x2000: ret
 *   0x5000: mov ecx, 50; mov esi, 0
 *        l: call 0x2000; add esi, 1 (RAM: 2); dec ecx; jnz l; mov edx, 0; div edx */
static const uint8_t map_change_loop[] = {
    0xb9, 0x32, 0x00, 0x00, 0x00, 0xbe, 0x00, 0x00, 0x00, 0x00, 0xe8, 0xf1,
    0xcf, 0xff, 0xff, 0x83, 0xc6, 0x01, 0x49, 0x75, 0xf5, 0xba, 0x00, 0x00,
    0x00, 0x00, 0xf7, 0xf2,
};
#define MAP_CHANGE_ADD_IMM 17 /* offset of the ADD's immediate */

static void test_memory_map_change_under_chained_code(void **state)
{
    (void)state;
    static const uint8_t ret[] = {0xC3};
    struct testvm *vm = code_vm(ret, sizeof(ret));
    static uint8_t rom[4096];
    memcpy(rom, map_change_loop, sizeof(map_change_loop));
    uint8_t ram_loop[sizeof(map_change_loop)];
    memcpy(ram_loop, map_change_loop, sizeof(ram_loop));
    ram_loop[MAP_CHANGE_ADD_IMM] = 2;
    assert_true(memmap_copy_to(&vm->mem, 0x5000, ram_loop, sizeof(ram_loop)));
    assert_int_equal(memmap_map_host(&vm->mem, 0x5000, sizeof(rom), rom, NULL), 0);
    struct translator *t = translator_create(0);
    assert_non_null(t);
    translator_set_hot_runs(t, 1);
    translator_attach(t, &vm->cpu);
    struct cpu *c = &vm->cpu;
    c->eip = 0x5000;
    run_to_fault(vm);
    assert_int_equal(c->regs[R_ESI], 50);

    assert_int_equal(memmap_unmap(&vm->mem, 0x5000, sizeof(rom)), 0);
    c->eip = 0x5000;
    c->regs[R_ESP] = 0x9000;
    run_to_fault(vm);
    assert_int_equal(c->regs[R_ESI], 100); /* the RAM's loop ran every time */
    translator_attach(NULL, c);
    translator_destroy(t);
    testvm_free(vm);
}

/* An instruction breakpoint armed after the loop below ran translated, its blocks chained
 * and the callee's RET looking its return address up: the breakpoint on the ADD must hit at
 * once (blocks end before breakpoint addresses; the stale translation spanning it must not
 * be entered through the RET's lookup).
 *   0x2000: ret
 *   0x2100: mov ecx, 50; mov esi, 0
 *        l: call 0x2000; add esi, 1 (at 0x210F); dec ecx; jnz l; mov edx, 0; div edx */
static const uint8_t bp_loop[] = {
    0xb9, 0x32, 0x00, 0x00, 0x00, 0xbe, 0x00, 0x00, 0x00, 0x00, 0xe8, 0xf1,
    0xfe, 0xff, 0xff, 0x83, 0xc6, 0x01, 0x49, 0x75, 0xf5, 0xba, 0x00, 0x00,
    0x00, 0x00, 0xf7, 0xf2,
};

static void test_breakpoint_armed_under_chained_code(void **state)
{
    (void)state;
    static const uint8_t ret[] = {0xC3};
    struct testvm *vm = code_vm(ret, sizeof(ret));
    assert_true(memmap_copy_to(&vm->mem, 0x2100, bp_loop, sizeof(bp_loop)));
    struct translator *t = translator_create(0);
    assert_non_null(t);
    translator_set_hot_runs(t, 1);
    translator_attach(t, &vm->cpu);
    struct cpu *c = &vm->cpu;
    c->eip = 0x2100;
    run_to_fault(vm);
    assert_int_equal(c->regs[R_ESI], 50);

    dbg_write_dr(c, 0, 0x210F);
    dbg_write_dr(c, 7, DR7_FIXED1 | 1u); /* L0, execute, 1 byte */
    c->stop_on_exception |= 1u << EXC_DB;
    c->eip = 0x2100;
    c->regs[R_ESP] = 0x9000;
    assert_int_equal(cpu_run(c, 100000), CPU_EXIT_EXCEPTION);
    assert_int_equal(c->exc_vector, EXC_DB);
    assert_int_equal(c->eip, 0x210F);
    assert_int_equal(c->regs[R_ESI], 0); /* the first ADD did not run */
    translator_attach(NULL, c);
    translator_destroy(t);
    testvm_free(vm);
}

/* ---- compare mode ---- */

static void wrong_block(struct cpu *c)
{
    (void)c; /* does nothing: EIP, ECX... all differ from the interpreter's run */
}

static void test_compare_clean_run(void **state)
{
    (void)state;
    struct testvm *vm = program_vm();
    struct translator *t = translator_create(0);
    struct translator_compare *k = translator_compare_create(t, NULL);
    assert_non_null(k);
    translator_compare_attach(k, &vm->cpu);
    run_to_fault(vm);
    uint32_t eax, ebx, mem[1001];
    model(&eax, &ebx, mem);
    assert_int_equal(vm->cpu.regs[R_EBX], ebx);
    assert_false(translator_compare_diverged(k));
    uint64_t compared, skipped;
    translator_compare_counts(k, &compared, &skipped);
    assert_true(compared >= 999); /* the loop body, once per iteration */
    vm->mem.journal = NULL;
    translator_compare_destroy(k);
    translator_destroy(t);
    testvm_free(vm);
}

static void test_compare_catches_wrong_translation(void **state)
{
    (void)state;
    struct testvm *vm = program_vm();
    struct translator *t = translator_create(0);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct translator_compare *k = translator_compare_create(t, f);
    assert_non_null(k);
    translator_compare_attach(k, &vm->cpu);
    struct cpu *c = &vm->cpu;
    /* Twenty loop iterations. The blocks run on past the loop into the zeros after the
     * program (ADD [EAX],AL), 32 instructions each, so compare mode sees a block only with
     * that much budget left: most iterations are compared, the last few interpreted. */
    assert_int_equal(cpu_run(c, 3 + 6 * 20), CPU_EXIT_LIMIT);
    assert_false(translator_compare_diverged(k));

    /* Break the translation of the loop body. */
    struct iblock *b = iblock_slot_of(c->icache->blocks, CODE + 9);
    assert_int_equal(b->lin, CODE + 9);
    assert_true(b->host_gen != 0);
    b->host = wrong_block;
    uint64_t before = c->icount;
    assert_int_equal(cpu_run(c, 100000), CPU_EXIT_STOP);
    assert_true(translator_compare_diverged(k));
    /* The state is the interpreter's: one more iteration done, then stopped. */
    assert_int_equal(c->icount, before + 6);
    assert_int_equal(c->regs[R_ECX], 1000 - 21);
    assert_int_equal(c->eip, CODE + 9);
    fclose(f);
    assert_non_null(strstr(text, "diverged"));
    assert_non_null(strstr(text, "ECX"));
    assert_non_null(strstr(text, "lea eax, [eax + ecx + 3]")); /* the guest code, disassembled */
    free(text);
    vm->mem.journal = NULL;
    translator_compare_destroy(k);
    translator_destroy(t);
    testvm_free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emitter_encodings),
        cmocka_unit_test(test_emitter_branches_and_overflow),
        cmocka_unit_test(test_translated_matches_model_and_interpreter),
        cmocka_unit_test(test_incdec_flags_match_interpreter),
        cmocka_unit_test(test_imul_flags_match_interpreter),
        cmocka_unit_test(test_rmw_and_carry_forms_match_interpreter),
        cmocka_unit_test(test_alu8_forms_match_interpreter),
        cmocka_unit_test(test_shift_forms_match_interpreter),
        cmocka_unit_test(test_cmov_setcc_match_interpreter),
        cmocka_unit_test(test_jcc_to_next_instruction),
        cmocka_unit_test(test_dead_flags_across_moves),
        cmocka_unit_test(test_memory_map_change_under_chained_code),
        cmocka_unit_test(test_breakpoint_armed_under_chained_code),
        cmocka_unit_test(test_compare_clean_run),
        cmocka_unit_test(test_compare_catches_wrong_translation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
