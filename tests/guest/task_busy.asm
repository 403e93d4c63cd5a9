; task_busy: busy-bit, type and privilege checks of task switches and LTR (SDM vol. 3, 7.2.2
; "TSS Descriptor", 7.3 step list, 7.4.2; LTR, JMP, CALL, IRET in vol. 2).
; Proves: JMP to the running (busy) task raises #GP(selector); IRET with NT=1 to a back-link
; naming a TSS that is not busy raises #TS(selector); a task switch to a not-present TSS raises
; #NP(selector); JMP from ring 3 to a DPL 0 TSS raises #GP(selector); LTR of a busy TSS or of a
; non-TSS descriptor raises #GP(selector); LTR of an available TSS marks it busy and does not
; switch tasks.
%define TEST_NAME "task_busy"
%include "guest.inc"

SEL_NPTSS equ 0x68                      ; not-present TSS (TSS2's memory)
SEL_TSS3U equ 0x70                      ; TSS3 with DPL 3

test_main:
        mov edi, TSS2_BASE
        mov ebx, task_never
        mov ecx, TASK_STACK_B
        call init_tss
        mov edi, TSS3_BASE
        mov ebx, task3
        mov ecx, TASK_STACK_C
        call init_tss
        SET_DESC SEL_NPTSS, TSS2_BASE, 0x67, ACC_TSS & 0x7F, 0x0
        SET_DESC SEL_TSS3U, TSS3_BASE, 0x67, 0xE9, 0x0

        FAULT_BEGIN
.j1:    jmp SEL_TSS0:0
        FAULT_END
        CHECK_EXC "JMP to the running task (busy)", 13, SEL_TSS0, .j1

        FAULT_BEGIN
.j2:    jmp SEL_NPTSS:0
        FAULT_END
        CHECK_EXC "JMP to a not-present TSS", 11, SEL_NPTSS, .j2

        RING3_BEGIN
.j3:    jmp SEL_TSS1:0
        RING3_END
        CHECK_EXC "ring 3 JMP to a DPL 0 TSS", 13, SEL_TSS1, .j3

        ; IRET with NT to a task that is not busy
        mov word [TSS0_BASE + TSS_LINK], SEL_TSS2
        FAULT_BEGIN
        pushfd
        or dword [esp], EFL_NT
        popfd
.i1:    iretd
        FAULT_END
        mov word [TSS0_BASE + TSS_LINK], 0
        CHECK_EXC "IRET (NT=1) to a back-link that is not busy", 10, SEL_TSS2, .i1
        pushfd
        and dword [esp], ~EFL_NT
        popfd

        ; LTR
        FAULT_BEGIN
        mov ax, SEL_TSS0
.l1:    ltr ax
        FAULT_END
        CHECK_EXC "LTR of the busy TSS0", 13, SEL_TSS0, .l1
        FAULT_BEGIN
        mov ax, SEL_KDATA
.l2:    ltr ax
        FAULT_END
        CHECK_EXC "LTR of a data descriptor", 13, SEL_KDATA, .l2
        FAULT_BEGIN
        mov ax, SEL_TSS1
        ltr ax
        xor ebx, ebx
        str bx
        FAULT_END
        CHECK "LTR of an available TSS: no exception", [exc_vector], 0xFFFFFFFF
        CHECK "LTR: TR loaded", ebx, SEL_TSS1
        movzx eax, byte [GDT_BASE + SEL_TSS1 + 5]
        CHECK "LTR: new TSS marked busy", eax, 0x8B
        movzx eax, byte [GDT_BASE + SEL_TSS0 + 5]
        CHECK "LTR: old TSS descriptor left busy (LTR does not clear it)", eax, 0x8B
        ; and the TSS really is the one used now: a ring-3 interrupt uses its ESP0
        mov edi, TSS1_BASE
        mov ebx, task_never
        mov ecx, TASK_STACK_A
        call init_tss
        mov dword [TSS1_BASE + TSS_ESP0], TSS_STACK0_TOP - 0x100
        RING3_BEGIN
        int VEC_SPARE
        RING3_END
        CHECK "after LTR: ring 3 -> 0 uses the new TSS's ESP0", [exc_frame], TSS_STACK0_TOP - 0x100 - 20
        ; a JMP to TSS3 from the new task, and back to TSS1
        jmp SEL_TSS3:0
        movzx eax, byte [GDT_BASE + SEL_TSS1 + 5]
        CHECK "task switch from the LTR-loaded TSS and back: TSS1 busy", eax, 0x8B
        CHECK "TSS1 (loaded by LTR) received the saved state", [TSS1_BASE + TSS_CS], SEL_KCODE
        clts
        ret

task3:
        jmp SEL_TSS1:0
        jmp task3
task_never:
        jmp task_never

%include "end.inc"
