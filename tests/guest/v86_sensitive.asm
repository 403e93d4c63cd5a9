; v86_sensitive: IOPL-sensitive and privileged instructions in virtual-8086 mode (SDM vol. 3,
; 20.2.7 "Sensitive Instructions", 20.2.8.1 "Using IOPL", 20.1 instructions not recognised in
; v8086 mode).
; Proves: with IOPL < 3 (and CR4.VME=0), CLI, STI, PUSHF, POPF, INT n and IRET raise #GP(0) to
; ring 0 with the virtual-8086 frame and EIP = the instruction; with IOPL 3 they run: CLI/STI
; change IF, PUSHF pushes FLAGS, POPF cannot change IOPL, PUSHFD clears VM and RF in the
; image; HLT, MOV to CR0, LGDT, CLTS raise #GP(0) whatever IOPL; LAR, LSL, VERR, ARPL, SLDT,
; STR, LLDT, LTR raise #UD.
%define TEST_NAME "v86_sensitive"
%include "guest.inc"

%macro V86_GP 3                         ; name, eflags bits, instruction
        V86_BEGIN %2
%%i:    %3
        V86_END %%exit
        CHECK_EXC %1, 13, 0, ROMOFF(%%i)
%endmacro
%macro V86_UD 2
        V86_BEGIN EFL_IOPL3
%%i:    %2
        V86_END %%exit
        CHECK_EXC %1, 6, 0, ROMOFF(%%i)
%endmacro

test_main:
        V86_GP "IOPL 0: CLI", 0, cli
        V86_GP "IOPL 0: STI", 0, sti
        V86_GP "IOPL 0: PUSHF", 0, pushf
        V86_GP "IOPL 1: PUSHFD", 0x1000, pushfd
        V86_GP "IOPL 2: POPF", 0x2000, popf
        V86_GP "IOPL 0: INT 0x30", 0, {int VEC_RING0}
        V86_GP "IOPL 0: IRET", 0, iret
        CHECKM "IOPL 0: #GP from v86 has VM in the pushed EFLAGS", [exc_eflags], EFL_VM, EFL_VM
        CHECK "IOPL 0: #GP from v86 pushed CS", [exc_cs], 0xF000

        V86_GP "IOPL 3: HLT", EFL_IOPL3, hlt
        V86_GP "IOPL 3: MOV CR0, EAX", EFL_IOPL3, {mov cr0, eax}
        V86_GP "IOPL 3: LGDT", EFL_IOPL3, {lgdt [0]}
        V86_GP "IOPL 3: CLTS", EFL_IOPL3, clts
        V86_GP "IOPL 3: MOV EAX, DR7", EFL_IOPL3, {mov eax, dr7}

        V86_UD "LAR", {lar ax, bx}
        V86_UD "LSL", {lsl ax, bx}
        V86_UD "VERR", {verr bx}
        V86_UD "ARPL", {arpl bx, ax}
        V86_UD "SLDT", {sldt ax}
        V86_UD "STR", {str ax}
        V86_UD "LLDT", {lldt ax}
        V86_UD "LTR", {ltr ax}

        ; IOPL 3: they run
        V86_BEGIN EFL_IOPL3
        cli
        pushf
        pop word [0x200]
        sti
        pushf
        pop word [0x202]
        cli
        push word 0x0202                ; IF set, IOPL 0: POPF keeps IOPL 3
        popf
        pushf
        pop word [0x204]
        cli
        pushfd
        pop dword [0x208]
        V86_END .exit_ok
        CHECK_EXC "IOPL 3: everything ran up to the HLT", 13, 0, ROMOFF(.exit_ok)
        CHECKM "IOPL 3: CLI cleared IF", [SCRATCH + 0x200], EFL_IF, 0
        CHECKM "IOPL 3: STI set IF", [SCRATCH + 0x202], EFL_IF, EFL_IF
        CHECKM "IOPL 3: POPF set IF but left IOPL at 3", [SCRATCH + 0x204], EFL_IF | EFL_IOPL, EFL_IF | EFL_IOPL3
        CHECKM "IOPL 3: PUSHFD image has VM and RF clear", [SCRATCH + 0x208], EFL_VM | EFL_RF, 0
        CHECKM "IOPL 3: PUSHFD image has IOPL 3", [SCRATCH + 0x208], EFL_IOPL, EFL_IOPL3
        ret

%include "end.inc"
