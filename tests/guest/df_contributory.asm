; df_contributory: double faults from the contributory rule (SDM vol. 3, 6.15 "Interrupt 8 -
; Double Fault Exception (#DF)", table 6-5 "Conditions for Generating a Double Fault").
; Proves: a contributory exception (#NP) raised while delivering a contributory one (#GP or
; #DE) becomes #DF with error code 0, delivered through gate 8; a contributory exception while
; delivering a page fault also gives #DF; while delivering a benign exception (#UD) the second
; exception is simply delivered (#NP with EXT); the processor keeps running after the #DF
; handler.
%define TEST_NAME "df_contributory"
%include "guest.inc"

SEL_NPCODE equ 0x68

test_main:
        SET_DESC SEL_NPCODE, 0, 0xFFFFF, ACC_CODE0 & 0x7F, 0xC

        ; #GP, then its gate is not present: #NP -> #DF
        and byte [IDT_BASE + 13 * 8 + 5], 0x7F
        FAULT_BEGIN
        xor eax, eax
        mov ds, ax
        mov eax, [0x100]                ; #GP(0)
        FAULT_END
        or byte [IDT_BASE + 13 * 8 + 5], 0x80
        CHECK "#GP + not-present #GP gate: vector", [exc_vector], 8
        CHECK "#GP + not-present #GP gate: error code 0", [exc_error], 0
        CHECK "#GP + not-present #GP gate: pushed CS", [exc_cs], SEL_KCODE

        ; #DE through a gate to a not-present code segment: #NP -> #DF
        SET_GATE 0, 0x1000, GATE_INT0, SEL_NPCODE
        FAULT_BEGIN
        xor edx, edx
        xor ecx, ecx
        div ecx
        FAULT_END
        SET_GATE 0, exc_stubs + 0 * STUB_SIZE, GATE_INT0
        CHECK "#DE + gate to not-present code: vector", [exc_vector], 8
        CHECK "#DE + gate to not-present code: error code 0", [exc_error], 0

        ; #UD (benign) through the same kind of gate: #NP delivered, no #DF
        SET_GATE 6, 0x1000, GATE_INT0, SEL_NPCODE
        FAULT_BEGIN
.ud:    ud2
        FAULT_END
        SET_GATE 6, exc_stubs + 6 * STUB_SIZE, GATE_INT0
        CHECK_EXC "#UD + gate to not-present code: #NP, not #DF", 11, SEL_NPCODE | 1, .ud

        ; #PF through a gate to a not-present code segment: #NP -> #DF
        call paging_init
        PAGING_ON
        SET_GATE 14, 0x1000, GATE_INT0, SEL_NPCODE
        FAULT_BEGIN
        mov eax, [TEST_LIN]
        FAULT_END
        SET_GATE 14, exc_stubs + 14 * STUB_SIZE, GATE_INT0
        PAGING_OFF
        CHECK "#PF + gate to not-present code: vector", [exc_vector], 8
        CHECK "#PF + gate to not-present code: error code 0", [exc_error], 0

        ; still alive: an ordinary exception afterwards
        FAULT_BEGIN
.u2:    ud2
        FAULT_END
        CHECK_EXC "after the double faults: #UD delivered normally", 6, 0, .u2
        ret

%include "end.inc"
