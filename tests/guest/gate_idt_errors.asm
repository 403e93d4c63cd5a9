; gate_idt_errors: faults raised while reading an IDT gate (SDM vol. 3, 6.13 "Error Code",
; 6.10 "Interrupt Descriptor Table"; INT n pseudocode in vol. 2).
; Proves: a not-present gate gives #NP(vector * 8 + 2); a gate of a type not allowed in the
; IDT gives #GP(vector * 8 + 2); a vector beyond the IDT limit gives #GP(vector * 8 + 2) while
; the last vector inside the limit works; a gate selector that is null gives #GP(0), one beyond
; the GDT or naming a data segment gives #GP(selector), one naming a not-present code segment
; gives #NP(selector), one naming code of DPL > CPL gives #GP(selector); for a processor
; exception (#UD) the EXT bit (bit 0) is set in these error codes.
%define TEST_NAME "gate_idt_errors"
%include "guest.inc"

SEL_NPCODE equ 0x68                     ; not-present code

%macro INT_FAULT 4                      ; name, vector, expected vector, expected error
        FAULT_BEGIN
%%i:    int %2
        FAULT_END
        CHECK_EXC %1, %3, %4, %%i
%endmacro

test_main:
        SET_DESC SEL_NPCODE, 0, 0xFFFFF, ACC_CODE0 & 0x7F, 0xC
        and byte [IDT_BASE + 0x43 * 8 + 5], 0x7F                ; not present
        SET_GATE 0x44, 0x1000, 0x8C00                           ; call-gate type: invalid here
        SET_GATE 0x45, 0x1000, GATE_INT0, 0                     ; null selector
        SET_GATE 0x46, 0x1000, GATE_INT0, SEL_KDATA             ; data segment
        SET_GATE 0x47, 0x1000, GATE_INT0, SEL_NPCODE            ; not-present code
        SET_GATE 0x48, 0x1000, GATE_INT0, 0x800                 ; beyond the GDT
        SET_GATE 0x49, 0x1000, GATE_INT0, SEL_UCODE             ; DPL 3 code from CPL 0

        INT_FAULT "not-present gate", 0x43, 11, 0x43 * 8 + 2
        INT_FAULT "call-gate type in the IDT", 0x44, 13, 0x44 * 8 + 2
        INT_FAULT "gate with a null selector", 0x45, 13, 0
        INT_FAULT "gate to a data segment", 0x46, 13, SEL_KDATA
        INT_FAULT "gate to a not-present code segment", 0x47, 11, SEL_NPCODE
        INT_FAULT "gate selector beyond the GDT limit", 0x48, 13, 0x800
        INT_FAULT "gate to DPL 3 code from CPL 0", 0x49, 13, SEL_UCODE

        ; IDT limit
        mov word [lib_tmp], 0x80 * 8 - 1
        mov dword [lib_tmp + 2], IDT_BASE
        lidt [lib_tmp]
        FAULT_BEGIN
.i1:    int 0x80
        FAULT_END
        mov word [lib_tmp], IDT_LIMIT
        lidt [lib_tmp]
        CHECK_EXC "vector 0x80 beyond an IDT limit of 0x3FF", 13, 0x80 * 8 + 2, .i1
        mov word [lib_tmp], 0x80 * 8 - 1
        lidt [lib_tmp]
        FAULT_BEGIN
        int 0x7F
.a2:
        FAULT_END
        mov word [lib_tmp], IDT_LIMIT
        lidt [lib_tmp]
        CHECK_EXC "vector 0x7F, the last inside the limit", 0x7F, 0, .a2

        ; EXT: a processor exception whose delivery faults
        SET_GATE 6, 0x1000, GATE_INT0, SEL_NPCODE
        FAULT_BEGIN
.u1:    ud2
        FAULT_END
        CHECK_EXC "#UD through a gate to not-present code: EXT set", 11, SEL_NPCODE | 1, .u1
        and byte [IDT_BASE + 6 * 8 + 5], 0x7F
        FAULT_BEGIN
.u2:    ud2
        FAULT_END
        CHECK_EXC "#UD through a not-present gate: IDT and EXT set", 11, 6 * 8 + 2 + 1, .u2
        ret

%include "end.inc"
