; exc_br: BOUND range exceeded (SDM vol. 3, 6.15 "Interrupt 5 - BOUND Range Exceeded Exception
; (#BR)"; BOUND in vol. 2).
; Proves: BOUND compares signed against both bounds inclusively; an index below the lower or
; above the upper bound raises #BR, a fault without error code, pushed EIP = the BOUND; the
; 16-bit form reads word bounds; ring 3 reaches the DPL 0 gate (an exception, not INT n).
%define TEST_NAME "exc_br"
%include "guest.inc"

%macro BR 3                             ; name, index, instruction
        FAULT_BEGIN
        mov eax, %2
%%i:    %3
        FAULT_END
        CHECK_EXC %1, 5, 0, %%i
%endmacro
%macro NOBR 3
        FAULT_BEGIN
        mov eax, %2
        %3
        FAULT_END
        CHECK %1, [exc_vector], 0xFFFFFFFF
%endmacro

test_main:
        mov dword [TEST_VARS], 10       ; [10, 20]
        mov dword [TEST_VARS + 4], 20
        mov dword [TEST_VARS + 8], -5   ; [-5, 5]
        mov dword [TEST_VARS + 12], 5
        mov word [TEST_VARS + 16], 0x100        ; 16-bit [0x100, 0x1FF]
        mov word [TEST_VARS + 18], 0x1FF

        NOBR "index 15 in [10, 20]", 15, {bound eax, [TEST_VARS]}
        NOBR "index 10 = lower bound", 10, {bound eax, [TEST_VARS]}
        NOBR "index 20 = upper bound", 20, {bound eax, [TEST_VARS]}
        BR "index 9 below [10, 20]", 9, {bound eax, [TEST_VARS]}
        BR "index 21 above [10, 20]", 21, {bound eax, [TEST_VARS]}
        BR "index 0xFFFFFFFF (-1) below [10, 20] (signed)", -1, {bound eax, [TEST_VARS]}
        NOBR "index -5 in [-5, 5]", -5, {bound eax, [TEST_VARS + 8]}
        BR "index -6 below [-5, 5]", -6, {bound eax, [TEST_VARS + 8]}
        BR "index 0x80000000 below [-5, 5]", 0x80000000, {bound eax, [TEST_VARS + 8]}
        NOBR "16-bit: index 0x1FF", 0xFFFF01FF, {bound ax, [TEST_VARS + 16]}
        BR "16-bit: index 0x200 (upper word of EAX ignored)", 0x200, {bound ax, [TEST_VARS + 16]}
        CHECK "#BR: EAX unchanged", [exc_eax], 0x200

        RING3_BEGIN
        mov eax, 100
.r3:    bound eax, [TEST_VARS]
        RING3_END
        CHECK_EXC "ring 3 BOUND out of range", 5, 0, .r3
        ret

%include "end.inc"
