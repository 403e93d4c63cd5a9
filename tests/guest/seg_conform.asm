; seg_conform: direct far transfers and conforming code (SDM vol. 3, 5.8.1 "Direct Calls or
; Jumps to Code Segments", 5.8.1.2 "Accessing Conforming Code Segments").
; Proves: ring 3 may JMP/CALL a conforming DPL 0 segment and keeps CPL 3 (CS.RPL = 3, SS and
; data privileges unchanged, RETF comes back); a non-conforming segment needs DPL = CPL and
; RPL <= CPL, else #GP(selector); a conforming segment needs DPL <= CPL; the RPL of the loaded
; CS is set to the CPL.
%define TEST_NAME "seg_conform"
%include "guest.inc"

SEL_CONF0 equ 0x68                      ; conforming readable code, DPL 0
SEL_CONF3 equ 0x70                      ; conforming readable code, DPL 3

%macro JMP_GP 3                          ; name, far target, expected selector
        FAULT_BEGIN
%%i:    jmp %2
        FAULT_END
        CHECK_EXC %1, 13, %3, %%i
%endmacro

test_main:
        SET_DESC SEL_CONF0, 0, 0xFFFFF, 0x9E, 0xC
        SET_DESC SEL_CONF3, 0, 0xFFFFF, 0xFE, 0xC

        ; ring 3 calls conforming DPL 0 code
        RING3_BEGIN
        call SEL_CONF0:conf_routine
        mov esi, esp
        RING3_END
        CHECK "ring 3 CALL to conforming DPL 0: came back", [exc_vector], VEC_RING0
        CHECK "inside: CS = conforming selector with RPL 3", [exc_ebx], SEL_CONF0 | 3
        CHECK "inside: SS unchanged (no stack switch)", [exc_ecx], SEL_UDATA3
        CHECK "inside: the return CS pushed", [exc_edx], SEL_UCODE3
        CHECK "after RETF: ESP back", [exc_esi], STACK3_TOP
        CHECK "back in ring 3: CS", [exc_cs], SEL_UCODE3

        ; the CPL stays 3 inside: DPL 0 data is refused
        RING3_BEGIN
        call SEL_CONF0:conf_load_kdata
        RING3_END
        CHECK "in conforming code at CPL 3: DS <- DPL 0 data: vector", [exc_vector], 13
        CHECK "in conforming code at CPL 3: DS <- DPL 0 data: error code", [exc_error], SEL_KDATA
        CHECK "in conforming code at CPL 3: faulting CS", [exc_cs], SEL_CONF0 | 3

        ; ring 3 JMP into conforming code and back to its own
        RING3_BEGIN
        jmp SEL_CONF0:.conf_jmp
.conf_jmp:
        mov ebx, 0
        mov bx, cs
        jmp SEL_UCODE:.back3            ; RPL 0 <= CPL 3, DPL 3 = CPL: allowed, RPL becomes 3
.back3: mov ecx, 0
        mov cx, cs
        RING3_END
        CHECK "ring 3 JMP to conforming DPL 0: CS", [exc_ebx], SEL_CONF0 | 3
        CHECK "ring 3 JMP to DPL 3 code with an RPL 0 selector: CS gets RPL 3", [exc_ecx], SEL_UCODE3

        ; refused transfers
        RING3_BEGIN
.r1:    call SEL_KCODE:.never
        RING3_END
        CHECK_EXC "ring 3 CALL to non-conforming DPL 0", 13, SEL_KCODE, .r1
        RING3_BEGIN
.r2:    jmp SEL_KCODE | 3:.never
        RING3_END
        CHECK_EXC "ring 3 JMP to non-conforming DPL 0 (RPL 3)", 13, SEL_KCODE, .r2
        JMP_GP "ring 0 JMP to conforming DPL 3", SEL_CONF3:.never, SEL_CONF3
        JMP_GP "ring 0 JMP to non-conforming DPL 3", SEL_UCODE:.never, SEL_UCODE
        JMP_GP "ring 0 JMP to non-conforming DPL 0 with RPL 3", SEL_KCODE | 3:.never, SEL_KCODE

        ; ring 0 to conforming DPL 0 with RPL 3: allowed, CS.RPL = 0
        FAULT_BEGIN
        jmp SEL_CONF0 | 3:.conf0
.conf0: mov ebx, 0
        mov bx, cs
        jmp SEL_KCODE:.conf0_back
.conf0_back:
        FAULT_END
        CHECK "ring 0 JMP to conforming DPL 0, RPL 3: no exception", [exc_vector], 0xFFFFFFFF
        CHECK "ring 0 JMP to conforming DPL 0, RPL 3: CS.RPL = CPL 0", ebx, SEL_CONF0
        ret
.never: jmp .never

; far-called from ring 3
conf_routine:
        xor ebx, ebx
        mov bx, cs
        xor ecx, ecx
        mov cx, ss
        mov edx, [esp + 4]
        retf
conf_load_kdata:
        mov ax, SEL_KDATA
        mov ds, ax
        retf

%include "end.inc"
