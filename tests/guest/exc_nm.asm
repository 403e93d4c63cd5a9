; exc_nm: device not available (SDM vol. 3, 6.15 "Interrupt 7 - Device Not Available Exception
; (#NM)", 2.5 CR0.EM/MP/TS, table 2-2; CLTS and WAIT in vol. 2).
; Proves: with CR0.EM=1 an x87 instruction raises #NM (fault, no error code, EIP = the
; instruction, prefix included); with TS=1 an x87 instruction raises #NM whatever EM; WAIT
; raises #NM only when TS=1 and MP=1; CLTS clears TS, and then WAIT runs.
%define TEST_NAME "exc_nm"
%include "guest.inc"

%macro SET_CR0 1                        ; set EM/MP/TS to %1 (other bits kept)
        mov eax, cr0
        and eax, ~(CR0_EM | CR0_MP | CR0_TS)
        or eax, %1
        mov cr0, eax
%endmacro
%macro NM 2
        FAULT_BEGIN
%%i:    %2
        FAULT_END
        CHECK_EXC %1, 7, 0, %%i
%endmacro
%macro NONM 2
        FAULT_BEGIN
        %2
        FAULT_END
        CHECK %1, [exc_vector], 0xFFFFFFFF
%endmacro

test_main:
        SET_CR0 CR0_EM
        NM "EM=1: FLD1", fld1
        NM "EM=1: FNINIT", fninit
        NM "EM=1: FADD with operand-size prefix", {db 0x66, 0xD8, 0xC1}
        NONM "EM=1, MP=0, TS=0: WAIT runs", wait
        SET_CR0 CR0_TS
        NM "TS=1: FLD1", fld1
        NONM "TS=1, MP=0: WAIT runs", wait
        SET_CR0 CR0_TS | CR0_MP
        NM "TS=1, MP=1: WAIT", wait
        SET_CR0 CR0_TS | CR0_MP | CR0_EM
        NM "TS=1, MP=1, EM=1: WAIT", wait
        SET_CR0 CR0_TS | CR0_MP
        clts
        mov eax, cr0
        CHECKM "CLTS clears CR0.TS", eax, CR0_TS, 0
        NONM "after CLTS, MP=1: WAIT runs", wait
        SET_CR0 CR0_MP
        ret

%include "end.inc"
