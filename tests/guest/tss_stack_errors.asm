; tss_stack_errors: faults while switching to an inner stack (SDM vol. 3, 5.8.5; 6.15 #TS and
; #SS; CALL in vol. 2).
; Proves: a call gate from ring 3 to ring 1 with a bad SS1 in the TSS raises, at the CALL and
; with the ring-3 state intact: #TS(SS1) for a code segment, an RPL other than 1, a DPL other
; than 1, or read-only data; #TS(0) for a null SS1 (EXT=0); #SS(SS1) for a not-present SS1 and
; for a new stack without room for the frame. A good SS1 then works.
%define TEST_NAME "tss_stack_errors"
%include "guest.inc"

SEL_G1     equ 0x68                     ; call gate DPL 3 -> ring 1 code, 1 parameter
SEL_RO1    equ 0x70                     ; read-only data DPL 1
SEL_NP1    equ 0x78                     ; not-present data DPL 1
SEL_SMALL1 equ 0x80                     ; data DPL 1, limit 0xF (bytes)

%macro BAD_SS1 4                        ; name, SS1, expected vector, expected error
        mov dword [TSS0_BASE + TSS_SS1], %2
        mov dword [TSS0_BASE + TSS_ESP1], STACK1_TOP
        RING3_BEGIN
        push dword 0x1234
        mov ebx, 0xB0B
%%i:    call SEL_G1 | 3:0
        RING3_END
        CHECK_EXC %1, %3, %4, %%i
        CHECK {%1, ": ring 3 ESP intact"}, [exc_esp], STACK3_TOP - 4
        CHECK {%1, ": ring 3 CS"}, [exc_cs], SEL_UCODE3
%endmacro

test_main:
        SET_GDT_GATE SEL_G1, ring1_entry, SEL_R1CODE, GATE_CALL3 | 1
        SET_DESC SEL_RO1, 0, 0xFFFFF, 0xB0, 0xC
        SET_DESC SEL_NP1, 0, 0xFFFFF, 0x32, 0xC
        SET_DESC SEL_SMALL1, 0, 0xF, 0xB2, 0x4

        BAD_SS1 "SS1 = code segment", SEL_KCODE, 10, SEL_KCODE
        BAD_SS1 "SS1 with RPL 0", SEL_R1DATA, 10, SEL_R1DATA
        BAD_SS1 "SS1 of DPL 2", SEL_R2DATA | 1, 10, SEL_R2DATA
        BAD_SS1 "SS1 read-only", SEL_RO1 | 1, 10, SEL_RO1
        BAD_SS1 "SS1 null", 0, 10, 0
        BAD_SS1 "SS1 not present", SEL_NP1 | 1, 12, SEL_NP1
        mov dword [TSS0_BASE + TSS_SS1], SEL_SMALL1 | 1
        mov dword [TSS0_BASE + TSS_ESP1], 0x10
        RING3_BEGIN
        push dword 0x1234
.s1:    call SEL_G1 | 3:0               ; needs 20 bytes below offset 0x10
        RING3_END
        CHECK_EXC "SS1 without room for the frame", 12, SEL_SMALL1, .s1

        mov dword [TSS0_BASE + TSS_SS1], SEL_R1DATA | 1
        mov dword [TSS0_BASE + TSS_ESP1], STACK1_TOP
        RING3_BEGIN
        push dword 0x1234
        call SEL_G1 | 3:0
        RING3_END
        CHECK "good SS1: ring 1 reached", [exc_ebx], 0x600D
        CHECK "good SS1: parameter copied", [exc_ecx], 0x1234
        CHECK "good SS1: interrupt came from ring 1", [exc_cs], SEL_R1CODE | 1
        ret

ring1_entry:
        mov ebx, 0x600D
        mov ecx, [esp + 8]
        int VEC_RING0

%include "end.inc"
