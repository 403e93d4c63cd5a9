; seg_load: type and privilege checks of segment-register loads (SDM vol. 3, 5.6 "Privilege
; Level Checking When Accessing Data Segments", 5.7 "... Loading the SS Register"; MOV in
; vol. 2).
; Proves: DS/ES/FS/GS accept data and readable code segments when max(CPL, RPL) <= DPL, and a
; conforming readable code segment at any privilege; they refuse execute-only code, system
; descriptors, DPL < max(CPL, RPL), selectors beyond the GDT limit and LDT selectors without an
; LDT, each with #GP(selector & ~3); SS needs a writable data segment with RPL = DPL = CPL
; (#GP(selector) otherwise); the refused load leaves the register unchanged.
%define TEST_NAME "seg_load"
%include "guest.inc"

SEL_XCODE   equ 0x68                    ; execute-only code, DPL 0
SEL_RCODE   equ 0x70                    ; readable code, DPL 0
SEL_CONF0   equ 0x78                    ; conforming readable code, DPL 0
SEL_RODATA  equ 0x80                    ; read-only data, DPL 0
SEL_DATA2   equ 0x88                    ; data, DPL 2
SEL_RCODE3  equ 0x90                    ; readable code, DPL 3

; LOAD_GP name, selector, instruction-using-AX, expected error code
%macro LOAD_GP 4
        FAULT_BEGIN
        mov ax, %2
%%i:    %3
        FAULT_END
        CHECK_EXC %1, 13, %4, %%i
%endmacro
%macro LOAD_OK 3
        FAULT_BEGIN
        mov ax, %2
        %3
        FAULT_END
        CHECK %1, [exc_vector], 0xFFFFFFFF
%endmacro

test_main:
        SET_DESC SEL_XCODE, 0, 0xFFFFF, 0x98, 0xC
        SET_DESC SEL_RCODE, 0, 0xFFFFF, 0x9A, 0xC
        SET_DESC SEL_CONF0, 0, 0xFFFFF, 0x9E, 0xC
        SET_DESC SEL_RODATA, 0, 0xFFFFF, 0x90, 0xC
        SET_DESC SEL_DATA2, 0, 0xFFFFF, 0xD2, 0xC
        SET_DESC SEL_RCODE3, 0, 0xFFFFF, 0xFA, 0xC

        ; CPL 0
        LOAD_OK "CPL0: DS <- DPL 0 data", SEL_KDATA, {mov ds, ax}
        LOAD_OK "CPL0: ES <- DPL 3 data with RPL 0", SEL_UDATA, {mov es, ax}
        LOAD_OK "CPL0: FS <- readable code", SEL_RCODE, {mov fs, ax}
        LOAD_OK "CPL0: GS <- read-only data", SEL_RODATA, {mov gs, ax}
        LOAD_OK "CPL0: DS <- DPL 2 data with RPL 2", SEL_DATA2 | 2, {mov ds, ax}
        LOAD_GP "CPL0: DS <- DPL 0 data with RPL 3", SEL_KDATA | 3, {mov ds, ax}, SEL_KDATA
        LOAD_GP "CPL0: ES <- DPL 2 data with RPL 3", SEL_DATA2 | 3, {mov es, ax}, SEL_DATA2
        LOAD_GP "CPL0: FS <- execute-only code", SEL_XCODE, {mov fs, ax}, SEL_XCODE
        LOAD_GP "CPL0: GS <- TSS descriptor", SEL_TSS1, {mov gs, ax}, SEL_TSS1
        LOAD_GP "CPL0: DS <- selector beyond the GDT limit", 0x800, {mov ds, ax}, 0x800
        LOAD_GP "CPL0: DS <- LDT selector, no LDT", 0x0C, {mov ds, ax}, 0x0C
        CHECK "refused load: DS unchanged", [exc_hds], SEL_KDATA
        LOAD_GP "CPL0: SS <- read-only data", SEL_RODATA, {mov ss, ax}, SEL_RODATA
        LOAD_GP "CPL0: SS <- DPL 3 data (DPL != CPL)", SEL_UDATA, {mov ss, ax}, SEL_UDATA
        LOAD_GP "CPL0: SS <- DPL 0 data, RPL 3", SEL_KDATA | 3, {mov ss, ax}, SEL_KDATA
        LOAD_GP "CPL0: SS <- readable code", SEL_RCODE, {mov ss, ax}, SEL_RCODE
        LOAD_GP "CPL0: SS <- TSS descriptor", SEL_TSS1, {mov ss, ax}, SEL_TSS1

        ; CPL 3
        RING3_BEGIN
        mov ax, SEL_UDATA3
        mov fs, ax
        mov ax, SEL_CONF0 | 3
        mov gs, ax                      ; conforming: no DPL check
        mov ax, SEL_RCODE3 | 3
        mov es, ax
        mov ax, SEL_UDATA3
        mov ss, ax
        RING3_END
        CHECK "CPL3: DPL 3 data, conforming DPL 0 code, DPL 3 code, SS: no exception", [exc_vector], VEC_RING0
        RING3_BEGIN
        mov ax, SEL_KDATA | 3
.r1:    mov ds, ax
        RING3_END
        CHECK_EXC "CPL3: DS <- DPL 0 data", 13, SEL_KDATA, .r1
        RING3_BEGIN
        mov ax, SEL_DATA2 | 3
.r2:    mov es, ax
        RING3_END
        CHECK_EXC "CPL3: ES <- DPL 2 data", 13, SEL_DATA2, .r2
        RING3_BEGIN
        mov ax, SEL_RCODE | 3
.r3:    mov fs, ax
        RING3_END
        CHECK_EXC "CPL3: FS <- non-conforming DPL 0 readable code", 13, SEL_RCODE, .r3
        RING3_BEGIN
        mov ax, SEL_UDATA               ; RPL 0 != CPL 3
.r4:    mov ss, ax
        RING3_END
        CHECK_EXC "CPL3: SS <- DPL 3 data with RPL 0", 13, SEL_UDATA, .r4
        RING3_BEGIN
        mov ax, SEL_KDATA | 3
.r5:    mov ss, ax
        RING3_END
        CHECK_EXC "CPL3: SS <- DPL 0 data", 13, SEL_KDATA, .r5
        ret

%include "end.inc"
