; retf_outer: far RET to an outer privilege level (SDM vol. 3, 5.8.6 "Returning from a Called
; Procedure"; RET in vol. 2).
; Proves: RETF from ring 0 with CS RPL 3 pops EIP, CS, ESP, SS, switches to ring 3 and nulls
; DS/ES/FS/GS of DPL < 3; RETF n adds n to the popped ESP; RETF to conforming DPL 0 code with
; RPL 3 returns to CPL 3; refused returns: SS RPL != 3 #GP(SS), SS DPL != 3 #GP(SS), CS RPL <
; CPL #GP(CS), non-conforming code with DPL != RPL #GP(CS), not-present SS #NP(SS) or #SS(SS) (the
; SDM's exception list and pseudocode differ).
%define TEST_NAME "retf_outer"
%include "guest.inc"

SEL_CONF0 equ 0x68
SEL_NPDATA3 equ 0x70                    ; not-present data, DPL 3

%macro RETF_FRAME 4                     ; ss, esp, cs, eip
        push dword %1
        push dword %2
        push dword %3
        push dword %4
%endmacro
%macro RETF_GP 5                        ; name, ss, cs, eip, error
        FAULT_BEGIN
        RETF_FRAME %2, STACK3_TOP, %3, %4
%%i:    retf
        FAULT_END
        CHECK_EXC %1, 13, %5, %%i
%endmacro

test_main:
        SET_DESC SEL_CONF0, 0, 0xFFFFF, 0x9E, 0xC
        SET_DESC SEL_NPDATA3, 0, 0xFFFFF, 0x72, 0xC

        mov dword [exc_resume], .back1
        mov [exc_saved_esp], esp
        mov ax, SEL_KDATA
        mov ds, ax
        mov ax, SEL_UDATA3
        mov fs, ax
        RETF_FRAME SEL_UDATA3, STACK3_TOP - 0x20, SEL_UCODE3, .ring3a
        retf
.ring3a:
        xor ebx, ebx
        mov bx, ds
        xor ecx, ecx
        mov cx, fs
        mov esi, esp
        xor edx, edx
        mov dx, ss
        int VEC_RING0
.back1: CHECK "RETF to ring 3: CS", [exc_cs], SEL_UCODE3
        CHECK "RETF to ring 3: ESP popped", [exc_esi], STACK3_TOP - 0x20
        CHECK "RETF to ring 3: SS popped", [exc_edx], SEL_UDATA3
        CHECK "RETF to ring 3: DS (DPL 0) nulled", [exc_ebx], 0
        CHECK "RETF to ring 3: FS (DPL 3) kept", [exc_ecx], SEL_UDATA3

        ; RETF 8: parameters released from the outer stack
        mov dword [exc_resume], .back2
        mov [exc_saved_esp], esp
        push dword SEL_UDATA3
        push dword STACK3_TOP - 0x20
        push dword 0xAAAA               ; "parameters" on the inner stack
        push dword 0xBBBB
        push dword SEL_UCODE3
        push dword .ring3b
        retf 8
.ring3b:
        mov esi, esp
        int VEC_RING0
.back2: CHECK "RETF 8 to ring 3: ESP = popped ESP + 8", [exc_esi], STACK3_TOP - 0x18

        ; RETF to conforming DPL 0 code with RPL 3
        mov dword [exc_resume], .back3
        mov [exc_saved_esp], esp
        RETF_FRAME SEL_UDATA3, STACK3_TOP, SEL_CONF0 | 3, .conf3
        retf
.conf3: xor ebx, ebx
        mov bx, cs
        int VEC_RING0
.back3: CHECK "RETF to conforming DPL 0 with RPL 3: CS", [exc_ebx], SEL_CONF0 | 3
        CHECK "RETF to conforming DPL 0 with RPL 3: CPL 3 (interrupt frame has SS:ESP)", [exc_ss], SEL_UDATA3

        RETF_GP "RETF to ring 3 with SS RPL 0", SEL_UDATA, SEL_UCODE3, .never, SEL_UDATA
        RETF_GP "RETF to ring 3 with SS DPL 0", SEL_KDATA | 3, SEL_UCODE3, .never, SEL_KDATA
        RETF_GP "RETF to CS RPL 3 naming non-conforming DPL 0 code", SEL_UDATA3, SEL_KCODE | 3, .never, SEL_KCODE
        FAULT_BEGIN
        RETF_FRAME SEL_NPDATA3 | 3, STACK3_TOP, SEL_UCODE3, .never
.np:    retf
        FAULT_END
        CHECK_NP_OR_SS "RETF to ring 3 with SS not present", SEL_NPDATA3, .np
        RING3_BEGIN
        push dword SEL_KCODE
        push dword .never
.r3:    retf
        RING3_END
        CHECK_EXC "RETF at ring 3 to ring 0", 13, SEL_KCODE, .r3
        ret
.never: jmp .never

%include "end.inc"
