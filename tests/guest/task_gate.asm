; task_gate: task gates in the IDT and the GDT (SDM vol. 3, 7.2.5 "Task-Gate Descriptor", 7.3,
; 6.12.2 "Interrupt Tasks").
; Proves: INT n through an IDT task gate switches to the gate's TSS as a nested task
; (back-link, NT, caller busy) and IRET returns after the INT; a #GP delivered through a task
; gate switches tasks and pushes its error code on the new task's stack, the old task's saved
; EIP is the faulting instruction, which runs again after the handler task fixes its cause and
; IRETs; CALL and JMP through a GDT task gate switch to its TSS (JMP without back-link); a
; DPL 0 task gate refuses INT n from ring 3 with #GP(vector * 8 + 2).
%define TEST_NAME "task_gate"
%include "guest.inc"

SEL_TG   equ 0x68                       ; GDT task gate -> TSS3
VEC_TG   equ 0x50                       ; IDT task gate -> TSS1

        absolute TEST_VARS
t1_link:        resd 1
t1_eflags:      resd 1
t2_err:         resd 1
t2_esp:         resd 1
t2_link:        resd 1
t2_saved_eip:   resd 1
t3_link:        resd 1
t3_count:       resd 1
t3_eflags:      resd 1
m_ds:           resd 1
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
        mov edi, TSS3_BASE
        mov ebx, task3
        mov ecx, TASK_STACK_C
        call init_tss
        SET_GATE VEC_TG, 0, GATE_TASK0, SEL_TSS1
        SET_GDT_GATE SEL_TG, 0, SEL_TSS3, GATE_TASK0

        int VEC_TG
.after_int:
        clts
        CHECK "INT through a task gate: task 1 back-link", [t1_link], SEL_TSS0
        CHECKM "INT through a task gate: task 1 NT", [t1_eflags], EFL_NT, EFL_NT
        CHECK "INT through a task gate: TSS0 saved EIP = after the INT", [TSS0_BASE + TSS_EIP], .after_int

        ; #GP through a task gate to task 2
        SET_GATE 13, 0, GATE_TASK0, SEL_TSS2
        mov eax, SEL_KDATA | 3          ; RPL 3 > DPL 0: #GP(0x10)
.gp:    mov ds, ax
        mov ebx, 0
        mov bx, ds
        mov [m_ds], ebx
        SET_GATE 13, exc_stubs + 13 * STUB_SIZE, GATE_INT0
        clts
        CHECK "#GP through a task gate: error code on the new task's stack", [t2_err], SEL_KDATA
        CHECK "#GP through a task gate: new ESP = TSS2.ESP - 4", [t2_esp], TASK_STACK_B - 4
        CHECK "#GP through a task gate: back-link", [t2_link], SEL_TSS0
        CHECK "#GP through a task gate: saved EIP = the faulting MOV", [t2_saved_eip], .gp
        CHECK "after the handler task fixed EAX: the MOV ran again", [m_ds], SEL_KDATA

        ; CALL and JMP through a GDT task gate
        call SEL_TG:0
        clts
        CHECK "CALL through a GDT task gate: task 3 ran", [t3_count], 1
        CHECK "CALL through a GDT task gate: back-link", [t3_link], SEL_TSS0
        CHECKM "CALL through a GDT task gate: NT", [t3_eflags], EFL_NT, EFL_NT
        mov word [TSS3_BASE + TSS_LINK], 0
        jmp SEL_TG:0
.after_jmp:
        clts
        CHECK "JMP through a GDT task gate: task 3 ran again", [t3_count], 2
        CHECK "JMP through a GDT task gate: no back-link written", [t3_link], 0
        CHECKM "JMP through a GDT task gate: NT clear", [t3_eflags], EFL_NT, 0

        ; DPL 0 task gate from ring 3
        RING3_BEGIN
.r3:    int VEC_TG
        RING3_END
        CHECK_EXC "ring 3 INT through a DPL 0 task gate", 13, VEC_TG * 8 + 2, .r3
        ret

task1:
        movzx eax, word [TSS1_BASE + TSS_LINK]
        mov [t1_link], eax
        pushfd
        pop dword [t1_eflags]
        iretd
        jmp task1

task2:                                  ; #GP handler task
        mov eax, [esp]
        mov [t2_err], eax
        mov [t2_esp], esp
        movzx eax, word [TSS2_BASE + TSS_LINK]
        mov [t2_link], eax
        mov eax, [TSS0_BASE + TSS_EIP]
        mov [t2_saved_eip], eax
        mov dword [TSS0_BASE + TSS_EAX], SEL_KDATA
        add esp, 4
        iretd
        jmp task2

task3:
        inc dword [t3_count]
        movzx eax, word [TSS3_BASE + TSS_LINK]
        mov [t3_link], eax
        pushfd
        pop dword [t3_eflags]
        test dword [t3_eflags], EFL_NT
        jz .by_jmp
        iretd
        jmp task3
.by_jmp:
        jmp SEL_TSS0:0
        jmp task3

%include "end.inc"
