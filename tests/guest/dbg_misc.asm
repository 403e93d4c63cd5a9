; dbg_misc: INT1, general detect and the debug register formats (SDM vol. 3, 17.2.3 "Debug
; Status Register (DR6)", 17.2.4 DR7.GD, 17.3.1.3 "General-Detect Exception Condition"; INT1
; in vol. 2).
; Proves: INT1 (F1) raises #DB as a trap (EIP after it); with DR7.GD=1 any MOV to or from a
; debug register raises #DB as a fault before it executes, with DR6.BD set and DR7.GD cleared
; on entry to the handler; DR6 reads back with its fixed bits (0xFFFF0FF0 after writing 0) and
; DR7 with bit 10 set (0x400 after writing 0); MOV to/from DRn at CPL 3 raises #GP(0).
%define TEST_NAME "dbg_misc"
%include "guest.inc"

test_main:
        FAULT_BEGIN
        db 0xF1
.a1:
        FAULT_END
        CHECK_EXC "INT1 (F1)", 1, 0, .a1

        xor eax, eax
        mov dr6, eax
        mov eax, dr6
        CHECK "DR6 after writing 0", eax, 0xFFFF0FF0
        xor eax, eax
        mov dr7, eax
        mov eax, dr7
        CHECK "DR7 after writing 0", eax, 0x00000400

        mov eax, 0x2000                 ; GD
        mov dr7, eax
        FAULT_BEGIN
        mov ebx, 0x1234
.g1:    mov ebx, dr0
        FAULT_END
        CHECK_EXC "GD: MOV from DR0", 1, 0, .g1
        CHECK "GD: the MOV did not execute", [exc_ebx], 0x1234
        CHECKM "GD: DR6.BD", [exc_dr6], 0x2000, 0x2000
        mov eax, dr7
        CHECKM "GD: DR7.GD cleared on entry to the handler", eax, 0x2000, 0
        mov eax, 0x2000
        mov dr7, eax
        FAULT_BEGIN
        mov eax, 0
.g2:    mov dr7, eax
        FAULT_END
        CHECK_EXC "GD: MOV to DR7", 1, 0, .g2
        xor eax, eax
        mov dr7, eax
        mov dr6, eax

        RING3_BEGIN
.r3:    mov dr0, eax
        RING3_END
        CHECK_EXC "CPL 3 MOV DR0, EAX", 13, 0, .r3
        RING3_BEGIN
.r4:    mov eax, dr6
        RING3_END
        CHECK_EXC "CPL 3 MOV EAX, DR6", 13, 0, .r4
        ret

%include "end.inc"
