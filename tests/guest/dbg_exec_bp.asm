; dbg_exec_bp: instruction breakpoints (SDM vol. 3, 17.2 "Debug Registers", 17.3.1.1
; "Instruction-Breakpoint Exception Condition", 17.3.1.1 RF).
; Proves: DR0..DR3 with RW=00 and an L or G enable bit raise #DB as a fault before the
; instruction at that linear address executes (EIP = that address, DR6.Bn set, registers
; untouched), from ring 0 or ring 3; a handler that sets RF in the pushed EFLAGS and IRETs
; lets the instruction run once, and the breakpoint fires again on the next pass; a disabled
; breakpoint or one on a byte inside an instruction (after a prefix) does not fire.
%define TEST_NAME "dbg_exec_bp"
%include "guest.inc"

        absolute TEST_VARS
rf_count:       resd 1
rf_dr6:         resd 1
rf_eip:         resd 1
rf_ran:         resd 1
        section .text

%macro SET_DR7 1
        mov eax, %1
        mov dr7, eax
%endmacro
%macro CLEAR_DR6 0
        xor eax, eax
        mov dr6, eax
%endmacro

test_main:
        mov eax, .bp0
        mov dr0, eax
        CLEAR_DR6
        SET_DR7 0x00000001              ; L0, execute, length 1
        FAULT_BEGIN
        mov ebx, 7
.bp0:   inc ebx
        FAULT_END
        SET_DR7 0
        CHECK_EXC "DR0 execute breakpoint", 1, 0, .bp0
        CHECK "DR0 execute breakpoint: instruction not executed", [exc_ebx], 7
        CHECKM "DR0 execute breakpoint: DR6.B0 (not BS)", [exc_dr6], 0x400F, 0x0001

        mov eax, .bp1
        mov dr1, eax
        CLEAR_DR6
        SET_DR7 0x00000008              ; G1
        FAULT_BEGIN
        nop
.bp1:   nop
        FAULT_END
        SET_DR7 0
        CHECK_EXC "DR1 execute breakpoint (G1)", 1, 0, .bp1
        CHECKM "DR1: DR6.B1", [exc_dr6], 0x000F, 0x0002

        ; disabled
        mov eax, .bp2
        mov dr2, eax
        SET_DR7 0
        FAULT_BEGIN
.bp2:   nop
        FAULT_END
        CHECK "DR2 set but not enabled: no exception", [exc_vector], 0xFFFFFFFF

        ; on the byte after a prefix: not the instruction's address
        mov eax, .pre + 1
        mov dr3, eax
        SET_DR7 0x00000040              ; L3
        FAULT_BEGIN
.pre:   db 0x66, 0x90                   ; XCHG AX, AX with an operand-size prefix
        FAULT_END
        SET_DR7 0
        CHECK "breakpoint on the opcode after a prefix: no exception", [exc_vector], 0xFFFFFFFF

        ; ring 3
        mov eax, .bp3
        mov dr0, eax
        CLEAR_DR6
        SET_DR7 0x00000001
        RING3_BEGIN
.bp3:   nop
        RING3_END
        SET_DR7 0
        CHECK_EXC "execute breakpoint in ring 3", 1, 0, .bp3
        CHECK "execute breakpoint in ring 3: pushed CS", [exc_cs], SEL_UCODE3

        ; RF: the handler resumes the instruction once
        SET_GATE 1, db_rf, GATE_INT0
        mov eax, bp_func
        mov dr0, eax
        CLEAR_DR6
        SET_DR7 0x00000001
        call bp_func
        call bp_func
        SET_DR7 0
        SET_GATE 1, exc_stubs + 1 * STUB_SIZE, GATE_INT0
        CHECK "RF: one #DB per pass", [rf_count], 2
        CHECK "RF: the instruction ran after each #DB", [rf_ran], 2
        CHECK "RF: pushed EIP = the breakpoint", [rf_eip], bp_func
        CHECKM "RF: DR6.B0", [rf_dr6], 1, 1
        ret

bp_func:
        inc dword [rf_ran]
        ret

db_rf:
        push eax
        inc dword [rf_count]
        mov eax, [esp + 4]
        mov [rf_eip], eax
        mov eax, dr6
        mov [rf_dr6], eax
        xor eax, eax
        mov dr6, eax
        or dword [esp + 12], EFL_RF
        pop eax
        iretd

%include "end.inc"
