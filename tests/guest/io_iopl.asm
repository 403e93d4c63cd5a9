; io_iopl: IOPL in protected mode (SDM vol. 3, 19.5.1 "I/O Privilege Level" in vol. 1 ch. 19;
; CLI/STI/POPF/IN/OUT in vol. 2).
; Proves: with CPL <= IOPL, IN/OUT/INS/OUTS run whatever the I/O bitmap says and CLI/STI work
; (ring 3 with IOPL 3, ring 1 with IOPL 1); with CPL > IOPL, CLI/STI raise #GP(0) and I/O
; falls back to the bitmap; POPF at CPL > IOPL silently keeps IF; POPF at CPL 0 changes IOPL;
; POPF/IRET at CPL > 0 never change IOPL.
%define TEST_NAME "io_iopl"
%include "guest.inc"

PORT    equ 0x2E0                       ; denied in the bitmap (the library denies all)

%macro SET_IOPL 1
        pushfd
        and dword [esp], ~EFL_IOPL
        or dword [esp], (%1) << 12
        popfd
%endmacro

test_main:
        ; IOPL 3, CPL 3
        SET_IOPL 3
        RING3_BEGIN
        mov dx, PORT
        in al, dx
        out dx, al
        in eax, dx
        mov edi, TEST_VARS
        insb
        mov esi, TEST_VARS
        outsd
        cli
        sti
        cli
        RING3_END
        CHECK "CPL 3, IOPL 3: I/O to a bitmap-denied port, CLI, STI all run", [exc_vector], VEC_RING0

        ; IOPL 1: ring 1 may, ring 3 may not
        SET_IOPL 1
        mov dword [exc_resume], .back_r1
        mov [exc_saved_esp], esp
        pushfd
        pop dword [exc_saved_eflags]
        push dword SEL_R1DATA | 1
        push dword STACK1_TOP
        pushfd
        push dword SEL_R1CODE | 1
        push dword .ring1
        iretd
.ring1: mov dx, PORT
        in al, dx
        cli
        sti
        cli
        mov ebx, 0x0101
        int VEC_RING0
.back_r1:
        CHECK "CPL 1, IOPL 1: I/O and CLI/STI run", [exc_ebx], 0x0101
        RING3_BEGIN
.c3:    cli
        RING3_END
        CHECK_EXC "CPL 3, IOPL 1: CLI", 13, 0, .c3
        RING3_BEGIN
.s3:    sti
        RING3_END
        CHECK_EXC "CPL 3, IOPL 1: STI", 13, 0, .s3
        RING3_BEGIN
        mov dx, PORT
.i3:    in al, dx
        RING3_END
        CHECK_EXC "CPL 3, IOPL 1: IN from a denied port", 13, 0, .i3
        RING3_BEGIN
.o3:    out 0x80, al
        RING3_END
        CHECK_EXC "CPL 3, IOPL 1: OUT to a denied port", 13, 0, .o3

        ; POPF at CPL 3 > IOPL: IF kept, IOPL kept, no fault
        SET_IOPL 0
        cli
        RING3_BEGIN
        pushfd
        or dword [esp], EFL_IF | EFL_IOPL3
        popfd
        pushfd
        pop ebx
        RING3_END
        CHECKM "CPL 3, IOPL 0: POPF leaves IF and IOPL", [exc_ebx], EFL_IF | EFL_IOPL, 0
        ; POPF at CPL 0 changes IOPL
        SET_IOPL 2
        pushfd
        pop eax
        SET_IOPL 0
        CHECKM "CPL 0: POPF sets IOPL", eax, EFL_IOPL, 0x2000
        ; POPF at CPL 3 with IOPL 3: IF changes, IOPL does not
        SET_IOPL 3
        RING3_BEGIN
        pushfd
        and dword [esp], ~EFL_IOPL
        or dword [esp], EFL_IF
        popfd
        pushfd
        pop ebx
        cli
        RING3_END
        SET_IOPL 0
        CHECKM "CPL 3, IOPL 3: POPF sets IF, IOPL stays 3", [exc_ebx], EFL_IF | EFL_IOPL, EFL_IF | EFL_IOPL3
        ret

%include "end.inc"
