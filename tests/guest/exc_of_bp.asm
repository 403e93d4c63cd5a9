; exc_of_bp: INTO, INT3 and INT n as traps (SDM vol. 3, 6.15 "Interrupt 3 - Breakpoint
; Exception (#BP)", "Interrupt 4 - Overflow Exception (#OF)"; 6.5 trap classification).
; Proves: INTO with OF=1 raises #OF after the instruction (pushed EIP = next instruction, no
; error code) and does nothing with OF=0; INT3 (CC) and INT 3 (CD 03) raise #BP with EIP after
; the 1- or 2-byte instruction; INT 0x0E delivered by software pushes no error code even
; though #PF does; registers and flags are kept.
%define TEST_NAME "exc_of_bp"
%include "guest.inc"

        absolute TEST_VARS
v_esp_in:       resd 1
v_word0:        resd 1
        section .text

test_main:
        FAULT_BEGIN
        mov al, 0x7F
        add al, 1
        into
.a1:
        FAULT_END
        CHECK_EXC "INTO with OF=1", 4, 0, .a1
        CHECKM "INTO: pushed EFLAGS has OF", [exc_eflags], EFL_OF, EFL_OF

        FAULT_BEGIN
        mov al, 1
        add al, 1
        into
        FAULT_END
        CHECK "INTO with OF=0: no exception", [exc_vector], 0xFFFFFFFF

        FAULT_BEGIN
        mov ebx, 0x3B
        int3
.a2:
        FAULT_END
        CHECK_EXC "INT3 (CC)", 3, 0, .a2
        CHECK "INT3: EBX kept", [exc_ebx], 0x3B
        FAULT_BEGIN
        int 3
.a3:
        FAULT_END
        CHECK_EXC "INT 3 (CD 03)", 3, 0, .a3

        ; INT 0x0E by software: no error code on the stack
        SET_GATE 14, soft_pf, GATE_INT0
        mov [v_esp_in], esp
        int 14
.a4:    SET_GATE 14, exc_stubs + 14 * STUB_SIZE, GATE_INT0
        CHECK "INT 14 by software: first word on the stack is EIP (no error code)", [v_word0], .a4
        ret

soft_pf:
        push eax
        mov eax, [esp + 4]
        mov [v_word0], eax
        pop eax
        iretd

%include "end.inc"
