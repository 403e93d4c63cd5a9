; task_ts: invalid-TSS faults of task switches (SDM vol. 3, 6.15 "Interrupt 10 - Invalid TSS
; Exception (#TS)", 7.3 "Task Switching" steps and commit point).
; Proves: a TSS descriptor with a limit below 0x67 raises #TS(TSS selector) in the old task,
; before any state is saved; after the commit point, an invalid SS, LDT or CS in the new TSS
; raises #TS(that selector) and a not-present DS raises #NP(DS) in the context of the new task
; (delivered here through task gates: the back-link names the new task and its saved EIP is
; its first instruction, TR and busy bits already switched).
%define TEST_NAME "task_ts"
%include "guest.inc"

SEL_SMALLTSS equ 0x68                   ; TSS1's memory with limit 0x60
SEL_NPDATA   equ 0x70                   ; not-present data

        absolute TEST_VARS
h_err:          resd 1
h_link:         resd 1
h_vec:          resd 1
h_saved_eip:    resd 1
h_acc1:         resd 1
h_count:        resd 1
        section .text

; run task 1 with one TSS field replaced; the fault lands in a handler task (TSS3)
%macro BAD_FIELD 5                      ; name, field, value, vector, error code
        mov edi, TSS1_BASE
        mov ebx, task1
        mov ecx, TASK_STACK_A
        call init_tss
        mov dword [TSS1_BASE + %2], %3
        mov edi, TSS3_BASE
        mov ebx, handler_task
        mov ecx, TASK_STACK_C
        call init_tss
        mov dword [h_vec], %4
        mov dword [h_err], 0xFFFFFFFF
        mov dword [h_saved_eip], 0
        jmp SEL_TSS1:0                  ; comes back through the handler task's JMP to TSS0
        and byte [GDT_BASE + SEL_TSS1 + 5], ~2   ; task 1 was left busy
        clts
        CHECK {%1, ": error code"}, [h_err], %5
        CHECK {%1, ": handler task back-link = the new task"}, [h_link], SEL_TSS1
        CHECK {%1, ": new task's saved EIP = its first instruction"}, [h_saved_eip], task1
        CHECK {%1, ": new task's TSS busy"}, [h_acc1], 0x8B
%endmacro

test_main:
        SET_DESC SEL_SMALLTSS, TSS1_BASE, 0x60, ACC_TSS, 0x0
        SET_DESC SEL_NPDATA, 0, 0xFFFFF, ACC_DATA0 & 0x7F, 0xC
        mov edi, TSS1_BASE
        mov ebx, task1
        mov ecx, TASK_STACK_A
        call init_tss
        mov dword [TSS0_BASE + TSS_EIP], 0x5A5A5A5A
        FAULT_BEGIN
.j1:    jmp SEL_SMALLTSS:0
        FAULT_END
        CHECK_EXC "TSS limit 0x60 (< 0x67)", 10, SEL_SMALLTSS, .j1
        CHECK "TSS limit too small: old state not saved", [TSS0_BASE + TSS_EIP], 0x5A5A5A5A
        xor eax, eax
        str ax
        CHECK "TSS limit too small: TR unchanged", eax, SEL_TSS0

        SET_GATE 10, 0, GATE_TASK0, SEL_TSS3
        SET_GATE 11, 0, GATE_TASK0, SEL_TSS3
        BAD_FIELD "new SS is a code segment", TSS_SS, SEL_KCODE, 10, SEL_KCODE
        BAD_FIELD "new LDT selector is a data segment", TSS_LDT, SEL_KDATA, 10, SEL_KDATA
        BAD_FIELD "new CS is a data segment", TSS_CS, SEL_KDATA, 10, SEL_KDATA
        BAD_FIELD "new DS not present", TSS_DS, SEL_NPDATA, 11, SEL_NPDATA
        SET_GATE 10, exc_stubs + 10 * STUB_SIZE, GATE_INT0
        SET_GATE 11, exc_stubs + 11 * STUB_SIZE, GATE_INT0
        CHECK "handler task ran once per case", [h_count], 4
        ret

task1:
        jmp task1                       ; never reached: every case faults first

handler_task:
        inc dword [h_count]
        mov eax, [esp]
        mov [h_err], eax
        movzx eax, word [TSS3_BASE + TSS_LINK]
        mov [h_link], eax
        mov eax, [TSS1_BASE + TSS_EIP]
        mov [h_saved_eip], eax
        movzx eax, byte [GDT_BASE + SEL_TSS1 + 5]
        mov [h_acc1], eax
        jmp SEL_TSS0:0
        jmp handler_task

%include "end.inc"
