; task_call: nested tasks by far CALL and their return by IRET (SDM vol. 3, 7.4 "Task Linking",
; table 7-2, 7.4.2 "Use of Busy Flag To Prevent Recursive Task Switching"; IRET in vol. 2).
; Proves: CALL to a TSS writes the caller's selector into the new TSS's back-link, sets NT in
; the new task, keeps the caller busy, sets the new task busy; a second level nests the same
; way; IRET with NT=1 returns to the back-linked task (at the instruction after its CALL, with
; its registers), clears the busy bit of the task left and NT in its saved EFLAGS, leaves the
; back-link as it was; the returned-from task resumes after its IRET when called again; a
; CALL to a busy task raises #GP(selector) in the caller.
%define TEST_NAME "task_call"
%include "guest.inc"

        absolute TEST_VARS
t1_eflags:      resd 1
t1_link:        resd 1
t1_acc0:        resd 1
t1_acc1:        resd 1
t1_calls:       resd 1
t1_busy_vec:    resd 1
t1_busy_err:    resd 1
t2_link:        resd 1
t2_eflags:      resd 1
t2_acc1:        resd 1
t1_after2:      resd 1                  ; task 1's EBX after task 2 returned
t1_acc2_after:  resd 1
m_ebx:          resd 1
m_eflags:       resd 1
        section .text

test_main:
        mov edi, TSS1_BASE
        mov ebx, task1
        mov ecx, TASK_STACK_A
        call init_tss
        mov edi, TSS2_BASE
        mov ebx, task2
        mov ecx, TASK_STACK_B
        call init_tss
        mov ebx, 0xBBBB0000
        call SEL_TSS1:0
.ret1:  mov [m_ebx], ebx
        pushfd
        pop dword [m_eflags]
        clts
        CHECKM "task 1: NT set", [t1_eflags], EFL_NT, EFL_NT
        CHECK "task 1: back-link = TSS0", [t1_link], SEL_TSS0
        CHECK "task 1: caller (TSS0) still busy", [t1_acc0], 0x8B
        CHECK "task 1: TSS1 busy", [t1_acc1], 0x8B
        CHECK "task 2: back-link = TSS1", [t2_link], SEL_TSS1
        CHECKM "task 2: NT set", [t2_eflags], EFL_NT, EFL_NT
        CHECK "task 2: TSS1 still busy", [t2_acc1], 0x8B
        CHECK "task 1 after task 2's IRET: its EBX back", [t1_after2], 0x1111
        CHECK "task 1 after task 2's IRET: TSS2 available", [t1_acc2_after], 0x89
        CHECK "task 1: CALL to busy TSS0 -> vector", [t1_busy_vec], 13
        CHECK "task 1: CALL to busy TSS0 -> error code", [t1_busy_err], SEL_TSS0
        CHECK "back in task 0: EBX restored", [m_ebx], 0xBBBB0000
        CHECKM "back in task 0: NT clear (its own saved EFLAGS)", [m_eflags], EFL_NT, 0
        movzx eax, byte [GDT_BASE + SEL_TSS1 + 5]
        CHECK "after IRET: TSS1 available", eax, 0x89
        movzx eax, byte [GDT_BASE + SEL_TSS0 + 5]
        CHECK "after IRET: TSS0 busy", eax, 0x8B
        CHECKM "after IRET: NT cleared in TSS1's saved EFLAGS", [TSS1_BASE + TSS_EFLAGS], EFL_NT, 0
        CHECK "after IRET: TSS1 back-link unchanged", [TSS1_BASE + TSS_LINK], SEL_TSS0
        CHECK "after IRET: TSS1 saved EIP = after its IRET", [TSS1_BASE + TSS_EIP], task1.again
        xor eax, eax
        str ax
        CHECK "after IRET: TR", eax, SEL_TSS0

        ; call task 1 again: it resumes after its IRET
        call SEL_TSS1:0
        clts
        CHECK "second CALL: task 1 resumed after its IRET", [t1_calls], 2
        ret

task1:
        inc dword [t1_calls]
        pushfd
        pop dword [t1_eflags]
        movzx eax, word [TSS1_BASE + TSS_LINK]
        mov [t1_link], eax
        movzx eax, byte [GDT_BASE + SEL_TSS0 + 5]
        mov [t1_acc0], eax
        movzx eax, byte [GDT_BASE + SEL_TSS1 + 5]
        mov [t1_acc1], eax
        mov ebx, 0x1111
        call SEL_TSS2:0
        mov [t1_after2], ebx
        movzx eax, byte [GDT_BASE + SEL_TSS2 + 5]
        mov [t1_acc2_after], eax
        FAULT_BEGIN
        call SEL_TSS0:0                 ; busy: #GP(0x28) here, in task 1
        FAULT_END
        mov eax, [exc_vector]
        mov [t1_busy_vec], eax
        mov eax, [exc_error]
        mov [t1_busy_err], eax
        iretd
.again: inc dword [t1_calls]
        iretd

task2:
        movzx eax, word [TSS2_BASE + TSS_LINK]
        mov [t2_link], eax
        pushfd
        pop dword [t2_eflags]
        movzx eax, byte [GDT_BASE + SEL_TSS1 + 5]
        mov [t2_acc1], eax
        mov ebx, 0x2222
        iretd

%include "end.inc"
