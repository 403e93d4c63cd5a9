; df_task: a double fault handled by a task (SDM vol. 3, 6.15 #DF "...a task gate ... to
; ensure a valid stack", 7.3; the kernel-stack-overflow case).
; Proves: a ring-0 PUSH to a not-present stack page raises #PF, whose delivery on the same stack
; faults again, giving #DF; through a task gate in IDT vector 8 the processor switches to the
; handler task (back-link = the faulting task, NT set) and pushes error code 0 on the new
; task's stack; CR2 holds the faulting stack address and the old task's saved ESP is the bad
; stack pointer; the handler task can repair the old task's state and IRET back to it.
%define TEST_NAME "df_task"
%include "guest.inc"

BAD_ESP equ TEST_LIN + 0x100

        absolute TEST_VARS
d_err:          resd 1
d_esp:          resd 1
d_link:         resd 1
d_eflags:       resd 1
d_cr2:          resd 1
d_saved_esp:    resd 1
d_count:        resd 1
m_esp:          resd 1
        section .text

test_main:
        call paging_init
        mov edi, TSS1_BASE
        mov ebx, df_handler_task
        mov ecx, TASK_STACK_A
        call init_tss
        SET_GATE 8, 0, GATE_TASK0, SEL_TSS1
        PAGING_ON
        mov [m_esp], esp
        mov esp, BAD_ESP
        push eax                        ; #PF, then #PF delivering it, then #DF -> task 1
        jmp .not_here
.recovered:
        clts
        mov ecx, [d_count]
        mov ebx, esp
        PAGING_OFF
        SET_GATE 8, exc_stubs + 8 * STUB_SIZE, GATE_INT0
        CHECK "#DF task ran once", ecx, 1
        CHECK "#DF task: error code 0 on its stack", [d_err], 0
        CHECK "#DF task: ESP = TSS1.ESP - 4", [d_esp], TASK_STACK_A - 4
        CHECK "#DF task: back-link = TSS0", [d_link], SEL_TSS0
        CHECKM "#DF task: NT set", [d_eflags], EFL_NT, EFL_NT
        CHECK "#DF task: CR2 = the missing stack slot", [d_cr2], BAD_ESP - 4
        CHECK "#DF task: old task's saved ESP = the bad stack pointer", [d_saved_esp], BAD_ESP
        CHECK "back in task 0 at the repaired EIP with the repaired ESP", ebx, [m_esp]
        ret
.not_here:
        FAIL_MSG "PUSH to a missing stack page did not fault"
        mov esp, [m_esp]
        ret

df_handler_task:
        inc dword [d_count]
        mov eax, [esp]
        mov [d_err], eax
        mov [d_esp], esp
        movzx eax, word [TSS1_BASE + TSS_LINK]
        mov [d_link], eax
        pushfd
        pop dword [d_eflags]
        mov eax, cr2
        mov [d_cr2], eax
        mov eax, [TSS0_BASE + TSS_ESP]
        mov [d_saved_esp], eax
        ; repair task 0: good stack, continue at .recovered (the #DF's saved EIP is undefined)
        mov eax, [m_esp]
        mov [TSS0_BASE + TSS_ESP], eax
        mov dword [TSS0_BASE + TSS_EIP], test_main.recovered
        mov dword [TSS0_BASE + TSS_CS], SEL_KCODE
        mov dword [TSS0_BASE + TSS_SS], SEL_KDATA
        add esp, 4
        iretd
        jmp df_handler_task

%include "end.inc"
