; exc_ac: alignment check (SDM vol. 3, 6.15 "Interrupt 17 - Alignment Check Exception (#AC)").
; Proves: at CPL 3 with CR0.AM=1 and EFLAGS.AC=1 a misaligned word, dword or stack access
; raises #AC with error code 0 (fault: EIP = the instruction); aligned accesses do not; AC=0 or
; AM=0 or CPL 0 disable the check. (QEMU's TCG does not implement #AC.)
%define TEST_NAME "exc_ac"
%include "guest.inc"

%macro AC3 2                            ; ring 3 with EFLAGS.AC=1
        RING3_BEGIN
        pushfd
        or dword [esp], EFL_AC
        popfd
%%i:    %2
        RING3_END
        CHECK_EXC %1, 17, 0, %%i
%endmacro
%macro NOAC3 2
        RING3_BEGIN
        pushfd
        or dword [esp], EFL_AC
        popfd
        %2
        RING3_END
        CHECK %1, [exc_vector], VEC_RING0
%endmacro

test_main:
        mov eax, cr0
        or eax, CR0_AM
        mov cr0, eax
        AC3 "misaligned dword read", {mov eax, [TEST_VARS + 1]}
        AC3 "misaligned word write", {mov word [TEST_VARS + 3], 0}
        AC3 "dword read at offset 2", {mov eax, [TEST_VARS + 2]}
        RING3_BEGIN
        pushfd
        or dword [esp], EFL_AC
        popfd
        sub esp, 1
.push:  push eax
        RING3_END
        CHECK_EXC "PUSH with a misaligned ESP", 17, 0, .push
        NOAC3 "aligned dword and word accesses", {mov eax, [TEST_VARS + 4]}
        NOAC3 "byte accesses are never misaligned", {mov al, [TEST_VARS + 3]}
        ; AC=0
        RING3_BEGIN
        mov eax, [TEST_VARS + 1]
        RING3_END
        CHECK "AC=0: no check", [exc_vector], VEC_RING0
        ; CPL 0
        FAULT_BEGIN
        pushfd
        or dword [esp], EFL_AC
        popfd
        mov eax, [TEST_VARS + 1]
        pushfd
        and dword [esp], ~EFL_AC
        popfd
        FAULT_END
        CHECK "CPL 0: no check", [exc_vector], 0xFFFFFFFF
        ; AM=0
        mov eax, cr0
        and eax, ~CR0_AM
        mov cr0, eax
        NOAC3 "CR0.AM=0: no check", {mov eax, [TEST_VARS + 1]}
        ret

%include "end.inc"
