; seg_np: not-present segments (SDM vol. 3, 6.15 "#NP", "#SS"; MOV/POP/far JMP/CALL in vol. 2).
; Proves: loading DS/ES/FS/GS with a not-present data or readable code segment raises
; #NP(selector) with the RPL bits cleared; the same for SS raises #SS(selector); a not-present
; LDT descriptor gives an error code with TI set; far JMP/CALL to a not-present code segment
; raise #NP(selector); the type and privilege checks come before the present check (#GP);
; the segment register keeps its old value.
%define TEST_NAME "seg_np"
%include "guest.inc"

SEL_NPDATA  equ 0x68                    ; not-present data, DPL 3
SEL_NPDATA0 equ 0x70                    ; not-present data, DPL 0
SEL_NPCODE  equ 0x78                    ; not-present code, DPL 0
SEL_NPSYS   equ 0x80                    ; not-present TSS descriptor
SEL_LDT     equ 0x88                    ; an LDT at TSS_FREE with 4 entries
SEL_NPRDCODE equ 0x90                   ; not-present readable code, DPL 3
SEL_NPXCODE equ 0x98                    ; not-present execute-only code, DPL 0
LDT_NP      equ 0x0C                    ; LDT entry 1 (TI=1): not-present data
LDT_OK      equ 0x14                    ; LDT entry 2: present data

test_main:
        SET_DESC SEL_NPDATA, 0, 0xFFFFF, ACC_DATA3 & 0x7F, 0xC
        SET_DESC SEL_NPDATA0, 0, 0xFFFFF, ACC_DATA0 & 0x7F, 0xC
        SET_DESC SEL_NPCODE, 0, 0xFFFFF, ACC_CODE0 & 0x7F, 0xC
        SET_DESC SEL_NPSYS, TSS1_BASE, 0x67, ACC_TSS & 0x7F, 0x0
        SET_DESC SEL_NPRDCODE, 0, 0xFFFFF, ACC_CODE3 & 0x7F, 0xC
        SET_DESC SEL_NPXCODE, 0, 0xFFFFF, 0x18, 0xC
        SET_DESC SEL_LDT, TSS_FREE, 4 * 8 - 1, ACC_LDT, 0x0
        mov dword [TSS_FREE + 0], 0
        mov dword [TSS_FREE + 4], 0
        mov dword [TSS_FREE + 8], 0x0000FFFF            ; entry 1: not present
        mov dword [TSS_FREE + 12], 0x00CF1200
        mov dword [TSS_FREE + 16], 0x0000FFFF           ; entry 2: present data
        mov dword [TSS_FREE + 20], 0x00CF9200
        mov ax, SEL_LDT
        lldt ax

        FAULT_BEGIN
.d1:    mov ax, SEL_NPDATA | 3
        mov ds, ax
        FAULT_END
        CHECK_EXC "DS <- not-present data (RPL 3)", 11, SEL_NPDATA, .d1 + 4   ; after the 4-byte MOV AX
        CHECK "DS kept its old value", [exc_hds], SEL_KDATA
        FAULT_BEGIN
        mov ax, SEL_NPDATA0
.d2:    mov es, ax
        FAULT_END
        CHECK_EXC "ES <- not-present data", 11, SEL_NPDATA0, .d2
        FAULT_BEGIN
        mov ax, SEL_NPRDCODE
.d3:    mov fs, ax
        FAULT_END
        CHECK_EXC "FS <- not-present readable code", 11, SEL_NPRDCODE, .d3
        FAULT_BEGIN
        mov ax, LDT_NP
.d4:    mov gs, ax
        FAULT_END
        CHECK_EXC "GS <- not-present LDT data (TI in the error code)", 11, LDT_NP, .d4
        FAULT_BEGIN
        mov ax, LDT_OK
        mov gs, ax
        FAULT_END
        CHECK "GS <- present LDT data: no exception", [exc_vector], 0xFFFFFFFF

        FAULT_BEGIN
        mov ax, SEL_NPDATA0
.s1:    mov ss, ax
        FAULT_END
        CHECK_EXC "SS <- not-present data", 12, SEL_NPDATA0, .s1
        FAULT_BEGIN
        push dword SEL_NPDATA0
.s2:    pop ss
        FAULT_END
        CHECK_EXC "POP SS of a not-present data selector", 12, SEL_NPDATA0, .s2

        FAULT_BEGIN
.j1:    jmp SEL_NPCODE:0x1000
        FAULT_END
        CHECK_EXC "far JMP to not-present code", 11, SEL_NPCODE, .j1
        FAULT_BEGIN
.c1:    call SEL_NPCODE:0x1000
        FAULT_END
        CHECK_EXC "far CALL to not-present code", 11, SEL_NPCODE, .c1

        ; the checks before the present bit
        FAULT_BEGIN
        mov ax, SEL_NPSYS
.g1:    mov ds, ax
        FAULT_END
        CHECK_EXC "DS <- not-present TSS descriptor: type first (#GP)", 13, SEL_NPSYS, .g1
        FAULT_BEGIN
        mov ax, SEL_NPXCODE
.g2:    mov ds, ax
        FAULT_END
        CHECK_EXC "DS <- not-present execute-only code: type first (#GP)", 13, SEL_NPXCODE, .g2
        RING3_BEGIN
        mov ax, SEL_NPDATA0 | 3
.g3:    mov es, ax
        RING3_END
        CHECK_EXC "ring 3 ES <- not-present DPL 0 data: privilege first (#GP)", 13, SEL_NPDATA0, .g3
        FAULT_BEGIN
        mov ax, SEL_NPDATA | 3
.g4:    mov ss, ax                      ; RPL 3 != CPL 0
        FAULT_END
        CHECK_EXC "SS <- not-present data with RPL != CPL: #GP first", 13, SEL_NPDATA, .g4
        xor eax, eax
        lldt ax
        ret

%include "end.inc"
