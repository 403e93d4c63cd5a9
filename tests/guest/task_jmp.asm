; task_jmp: task switch by far JMP to a TSS descriptor (SDM vol. 3, 7.3 "Task Switching", 7.4
; "Task Linking" table 7-2; JMP in vol. 2).
; Proves: JMP to an available TSS saves EIP (of the next instruction), EFLAGS, the general and
; segment registers into the old TSS, loads the new task's registers, EFLAGS and segments,
; makes TR the new selector, clears the old TSS's busy bit and sets the new one's, leaves NT
; clear and the back-link untouched, and sets CR0.TS; a JMP back resumes the first task with
; every register it had.
%define TEST_NAME "task_jmp"
%include "guest.inc"

        absolute TEST_VARS
t1_regs:        resd 8                  ; EAX EBX ECX EDX ESI EDI EBP ESP as task 1 started
t1_eflags:      resd 1
t1_tr:          resd 1
t1_cr0:         resd 1
t1_acc0:        resd 1                  ; access byte of the TSS0 descriptor
t1_acc1:        resd 1                  ; access byte of the TSS1 descriptor
t1_link1:       resd 1
t1_cs:          resd 1
t1_ss:          resd 1
m_esp:          resd 1
m_regs:         resd 8                  ; main's registers after coming back
m_eflags:       resd 1
        section .text

test_main:
        mov edi, TSS1_BASE
        mov ebx, task1
        mov ecx, TASK_STACK_A
        call init_tss
        mov dword [TSS1_BASE + TSS_EAX], 0x1A1A1A1A
        mov dword [TSS1_BASE + TSS_EBX], 0x1B1B1B1B
        mov dword [TSS1_BASE + TSS_ECX], 0x1C1C1C1C
        mov dword [TSS1_BASE + TSS_EDX], 0x1D1D1D1D
        mov dword [TSS1_BASE + TSS_ESI], 0x15151515
        mov dword [TSS1_BASE + TSS_EDI], 0x1E1E1E1E
        mov dword [TSS1_BASE + TSS_EBP], 0x1F1F1F1F
        mov dword [TSS1_BASE + TSS_EFLAGS], 0x00000803 ; OF, CF
        clts
        mov [m_esp], esp
        mov eax, 0x0A0A0A0A
        mov ebx, 0x0B0B0B0B
        mov ecx, 0x0C0C0C0C
        mov edx, 0x0D0D0D0D
        mov esi, 0x05050505
        mov edi, 0x0E0E0E0E
        mov ebp, 0x0F0F0F0F
        stc
        jmp SEL_TSS1:0x12345678         ; the offset is ignored
.back:  mov [m_regs + 0], eax
        mov [m_regs + 4], ebx
        mov [m_regs + 8], ecx
        mov [m_regs + 12], edx
        mov [m_regs + 16], esi
        mov [m_regs + 20], edi
        mov [m_regs + 24], ebp
        mov [m_regs + 28], esp
        pushfd
        pop dword [m_eflags]

        CHECK "task 1: EAX from its TSS", [t1_regs + 0], 0x1A1A1A1A
        CHECK "task 1: EBX", [t1_regs + 4], 0x1B1B1B1B
        CHECK "task 1: ECX", [t1_regs + 8], 0x1C1C1C1C
        CHECK "task 1: EDX", [t1_regs + 12], 0x1D1D1D1D
        CHECK "task 1: ESI", [t1_regs + 16], 0x15151515
        CHECK "task 1: EDI", [t1_regs + 20], 0x1E1E1E1E
        CHECK "task 1: EBP", [t1_regs + 24], 0x1F1F1F1F
        CHECK "task 1: ESP", [t1_regs + 28], TASK_STACK_A
        CHECKM "task 1: EFLAGS from its TSS (OF, CF; NT clear)", [t1_eflags], 0x4FD5, 0x0801
        CHECK "task 1: TR", [t1_tr], SEL_TSS1
        CHECK "task 1: CS", [t1_cs], SEL_KCODE
        CHECK "task 1: SS", [t1_ss], SEL_KDATA
        CHECKM "task 1: CR0.TS set by the switch", [t1_cr0], CR0_TS, CR0_TS
        CHECK "task 1: old TSS descriptor no longer busy", [t1_acc0], 0x89
        CHECK "task 1: new TSS descriptor busy", [t1_acc1], 0x8B
        CHECK "task 1: back-link untouched by JMP", [t1_link1], 0
        CHECK "TSS0 saved EIP = after the JMP", [TSS0_BASE + TSS_EIP], .back
        CHECK "TSS0 saved EAX", [TSS0_BASE + TSS_EAX], 0x0A0A0A0A
        CHECK "TSS0 saved EBP", [TSS0_BASE + TSS_EBP], 0x0F0F0F0F
        CHECK "TSS0 saved ESP", [TSS0_BASE + TSS_ESP], [m_esp]
        CHECKM "TSS0 saved EFLAGS (CF set, NT clear, bit 1)", [TSS0_BASE + TSS_EFLAGS], EFL_CF | EFL_NT | 2, EFL_CF | 2
        CHECKM "TSS0 saved CS", [TSS0_BASE + TSS_CS], 0xFFFF, SEL_KCODE
        CHECKM "TSS0 saved DS", [TSS0_BASE + TSS_DS], 0xFFFF, SEL_KDATA
        CHECKM "TSS0 saved SS", [TSS0_BASE + TSS_SS], 0xFFFF, SEL_KDATA
        CHECK "TSS0 LDT field not written", [TSS0_BASE + TSS_LDT], 0
        CHECK "back in task 0: EAX restored", [m_regs + 0], 0x0A0A0A0A
        CHECK "back in task 0: EBX restored", [m_regs + 4], 0x0B0B0B0B
        CHECK "back in task 0: ECX restored", [m_regs + 8], 0x0C0C0C0C
        CHECK "back in task 0: EDX restored", [m_regs + 12], 0x0D0D0D0D
        CHECK "back in task 0: ESI restored", [m_regs + 16], 0x05050505
        CHECK "back in task 0: EDI restored", [m_regs + 20], 0x0E0E0E0E
        CHECK "back in task 0: EBP restored", [m_regs + 24], 0x0F0F0F0F
        CHECK "back in task 0: ESP restored", [m_regs + 28], [m_esp]
        CHECKM "back in task 0: CF restored", [m_eflags], EFL_CF, EFL_CF
        xor eax, eax
        str ax
        CHECK "back in task 0: TR", eax, SEL_TSS0
        movzx eax, byte [GDT_BASE + SEL_TSS0 + 5]
        CHECK "back in task 0: TSS0 busy again", eax, 0x8B
        movzx eax, byte [GDT_BASE + SEL_TSS1 + 5]
        CHECK "back in task 0: TSS1 available again", eax, 0x89
        CHECK "TSS1 saved EIP = after task 1's JMP", [TSS1_BASE + TSS_EIP], task1.back
        CHECK "TSS1 saved EAX", [TSS1_BASE + TSS_EAX], 0x7777
        mov eax, cr0
        CHECKM "CR0.TS set again by the second switch", eax, CR0_TS, CR0_TS
        clts
        ret

task1:
        mov [t1_regs + 0], eax
        mov [t1_regs + 4], ebx
        mov [t1_regs + 8], ecx
        mov [t1_regs + 12], edx
        mov [t1_regs + 16], esi
        mov [t1_regs + 20], edi
        mov [t1_regs + 24], ebp
        mov [t1_regs + 28], esp
        pushfd
        pop dword [t1_eflags]
        xor eax, eax
        str ax
        mov [t1_tr], eax
        mov ax, cs
        mov [t1_cs], eax
        mov ax, ss
        mov [t1_ss], eax
        mov eax, cr0
        mov [t1_cr0], eax
        movzx eax, byte [GDT_BASE + SEL_TSS0 + 5]
        mov [t1_acc0], eax
        movzx eax, byte [GDT_BASE + SEL_TSS1 + 5]
        mov [t1_acc1], eax
        movzx eax, word [TSS1_BASE + TSS_LINK]
        mov [t1_link1], eax
        clts
        mov eax, 0x7777
        jmp SEL_TSS0:0
.back:  jmp .back

%include "end.inc"
