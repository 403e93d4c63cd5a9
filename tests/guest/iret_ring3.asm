; iret_ring3: IRET to outer privilege and its checks (SDM vol. 3, 5.8.6, 6.12.1; IRET and POPF in
; vol. 2).
; Proves: IRET from ring 0 to ring 3 loads CS, EIP, EFLAGS, SS, ESP from the frame and nulls
; DS/ES/FS/GS that hold data or non-conforming code of DPL < 3, keeping DPL 3 data and
; conforming code; at CPL 3 with IOPL 0, IRET and POPF leave IF and IOPL alone while changing
; other flags; with IOPL 3 IF changes but IOPL still does not; IRET to ring 1 sets CPL 1;
; refused IRETs: CS RPL 3 with DPL 0 code #GP(CS), SS RPL != CS RPL #GP(SS), SS DPL != 3
; #GP(SS), return to a more privileged level #GP(CS), not-present SS #NP(SS) or #SS(SS) (the
; SDM's exception list and pseudocode differ), EIP beyond the
; CS limit #GP(0).
%define TEST_NAME "iret_ring3"
%include "guest.inc"

SEL_CONF0  equ 0x68                     ; conforming readable code, DPL 0
SEL_RCODE0 equ 0x70                     ; non-conforming readable code, DPL 0
SEL_NPDATA3 equ 0x78                    ; not-present data DPL 3
SEL_UCODEL equ 0x80                     ; ring 3 code with limit 0xFFFF

; IRET_FRAME ss, esp, eflags-or, cs, eip
%macro IRET_FRAME 5
        push dword %1
        push dword %2
        pushfd
        or dword [esp], %3
        push dword %4
        push dword %5
%endmacro
%macro IRET_GP 6                        ; name, ss, cs, eip, vector, error
        FAULT_BEGIN
        IRET_FRAME %2, STACK3_TOP, 0, %3, %4
%%i:    iretd
        FAULT_END
        CHECK_EXC %1, %5, %6, %%i
%endmacro

test_main:
        SET_DESC SEL_CONF0, 0, 0xFFFFF, 0x9E, 0xC
        SET_DESC SEL_RCODE0, 0, 0xFFFFF, 0x9A, 0xC
        SET_DESC SEL_NPDATA3, 0, 0xFFFFF, 0x72, 0xC
        SET_DESC SEL_UCODEL, 0, 0xFFFF, ACC_CODE3, 0x4

        ; IRET to ring 3: segment registers
        mov dword [exc_resume], .back1
        mov [exc_saved_esp], esp
        mov ax, SEL_UDATA3
        mov es, ax
        mov ax, SEL_CONF0
        mov fs, ax
        mov ax, SEL_RCODE0
        mov gs, ax
        IRET_FRAME SEL_UDATA3, STACK3_TOP - 0x40, 0, SEL_UCODE3, .ring3a
        iretd
.ring3a:
        xor ebx, ebx
        mov bx, ds
        xor ecx, ecx
        mov cx, es
        xor edx, edx
        mov dx, fs
        xor esi, esi
        mov si, gs
        mov edi, esp
        int VEC_RING0
.back1: CHECK "IRET to ring 3: CS", [exc_cs], SEL_UCODE3
        CHECK "IRET to ring 3: ESP from the frame", [exc_edi], STACK3_TOP - 0x40
        CHECK "IRET to ring 3: SS from the frame", [exc_ss], SEL_UDATA3
        CHECK "IRET to ring 3: DS (DPL 0 data) nulled", [exc_ebx], 0
        CHECK "IRET to ring 3: ES (DPL 3 data) kept", [exc_ecx], SEL_UDATA3
        CHECK "IRET to ring 3: FS (conforming code) kept", [exc_edx], SEL_CONF0
        CHECK "IRET to ring 3: GS (non-conforming DPL 0 code) nulled", [exc_esi], 0

        ; CPL 3, IOPL 0: IF and IOPL are not writable by IRET or POPF
        cli
        RING3_BEGIN
        pushfd
        or dword [esp], EFL_IF | EFL_IOPL3 | EFL_CF | EFL_DF
        push cs
        push dword .after_iret
        iretd
.after_iret:
        pushfd
        pop ebx
        pushfd
        or dword [esp], EFL_IF | EFL_IOPL3
        and dword [esp], ~(EFL_CF | EFL_DF)
        popfd
        pushfd
        pop ecx
        RING3_END
        CHECKM "CPL 3 IOPL 0, IRET: IF and IOPL unchanged", [exc_ebx], EFL_IF | EFL_IOPL, 0
        CHECKM "CPL 3 IOPL 0, IRET: CF and DF loaded", [exc_ebx], EFL_CF | EFL_DF, EFL_CF | EFL_DF
        CHECKM "CPL 3 IOPL 0, POPF: IF and IOPL unchanged", [exc_ecx], EFL_IF | EFL_IOPL, 0
        CHECKM "CPL 3 IOPL 0, POPF: CF and DF cleared", [exc_ecx], EFL_CF | EFL_DF, 0

        ; CPL 3, IOPL 3: IF writable, IOPL not
        pushfd
        or dword [esp], EFL_IOPL3
        popfd
        RING3_BEGIN
        pushfd
        and dword [esp], ~EFL_IOPL
        or dword [esp], EFL_IF
        push cs
        push dword .after_iret3
        iretd
.after_iret3:
        pushfd
        pop ebx
        cli
        RING3_END
        pushfd
        and dword [esp], ~EFL_IOPL
        popfd
        CHECKM "CPL 3 IOPL 3, IRET: IF set", [exc_ebx], EFL_IF, EFL_IF
        CHECKM "CPL 3 IOPL 3, IRET: IOPL still 3", [exc_ebx], EFL_IOPL, EFL_IOPL3

        ; IRET to ring 1
        mov dword [exc_resume], .back_r1
        mov [exc_saved_esp], esp
        IRET_FRAME SEL_R1DATA | 1, STACK1_TOP, 0, SEL_R1CODE | 1, .ring1
        iretd
.ring1: xor ebx, ebx
        mov bx, cs
        xor ecx, ecx
        mov cx, ss
        int VEC_RING0
.back_r1:
        CHECK "IRET to ring 1: CS", [exc_ebx], SEL_R1CODE | 1
        CHECK "IRET to ring 1: SS", [exc_ecx], SEL_R1DATA | 1
        CHECK "IRET to ring 1: interrupt frame SS", [exc_ss], SEL_R1DATA | 1

        ; refused
        IRET_GP "IRET to CS RPL 3 naming DPL 0 code", SEL_UDATA3, SEL_KCODE | 3, .never, 13, SEL_KCODE
        IRET_GP "IRET to ring 3 with SS RPL 0", SEL_UDATA, SEL_UCODE3, .never, 13, SEL_UDATA
        IRET_GP "IRET to ring 3 with SS of DPL 0", SEL_KDATA | 3, SEL_UCODE3, .never, 13, SEL_KDATA
        FAULT_BEGIN
        IRET_FRAME SEL_NPDATA3 | 3, STACK3_TOP, 0, SEL_UCODE3, .never
.npss:  iretd
        FAULT_END
        CHECK_NP_OR_SS "IRET to ring 3 with SS not present", SEL_NPDATA3, .npss
        IRET_GP "IRET to ring 3 with EIP beyond the CS limit", SEL_UDATA3, SEL_UCODEL | 3, 0x10000, 13, 0
        RING3_BEGIN
        push dword SEL_KDATA
        push dword STACK0_TOP
        pushfd
        push dword SEL_KCODE
        push dword .never
.r3:    iretd
        RING3_END
        CHECK_EXC "IRET at ring 3 to ring 0", 13, SEL_KCODE, .r3
        ret
.never: jmp .never

%include "end.inc"
