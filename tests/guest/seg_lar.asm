; seg_lar: LAR, LSL, VERR, VERW (vol. 2 LAR/LSL/VERR/VERW; vol. 3, 5.10.3 "Checking Access
; Rights", 5.10.4 "Checking Read/Write Rights", 5.10.5 "Checking That the Pointer Offset Is
; Within Limits").
; Proves: ZF and results of LAR/LSL for data, code, conforming code, TSS, LDT and call-gate
; descriptors at CPL 0 and 3 (privilege applies except to conforming code; LSL refuses gates;
; LAR refuses interrupt gates); LSL scales a G=1 limit; VERR accepts data and readable code and
; refuses execute-only code; VERW accepts only writable data; null and out-of-table selectors
; give ZF=0 without a fault; a refused LAR/LSL leaves the destination unchanged.
%define TEST_NAME "seg_lar"
%include "guest.inc"

SEL_XCODE  equ 0x68                     ; execute-only code
SEL_RODATA equ 0x70                     ; read-only data, limit 0x12345 bytes
SEL_CONF0  equ 0x78                     ; conforming readable DPL 0
SEL_CGATE  equ 0x80                     ; call gate DPL 3
SEL_IGATE  equ 0x88                     ; interrupt-gate type in the GDT (not valid for LAR)
SEL_LDTD   equ 0x90                     ; LDT descriptor
SEL_G      equ 0x98                     ; G=1, limit 0x00012 -> 0x12FFF

; ZF of the last instruction -> EDX (1 or 0)
%macro ZF_TO_EDX 0
        mov edx, 0
        setz dl
%endmacro

test_main:
        SET_DESC SEL_XCODE, 0, 0xFFFFF, 0x98, 0xC
        SET_DESC SEL_RODATA, 0, 0x12345, 0x90, 0x4
        SET_DESC SEL_CONF0, 0, 0xFFFFF, 0x9E, 0xC
        SET_GDT_GATE SEL_CGATE, 0x1234, SEL_KCODE, GATE_CALL3
        SET_DESC SEL_IGATE, 0, 0, 0x8E, 0x0
        SET_DESC SEL_LDTD, TSS_FREE, 0x1F, ACC_LDT, 0x0
        SET_DESC SEL_G, 0, 0x12, 0x92, 0xC

        mov eax, 0x11111111
        mov ebx, SEL_RODATA
        lar eax, ebx
        ZF_TO_EDX
        CHECK "LAR read-only data: ZF", edx, 1
        CHECKM "LAR read-only data: access rights (bits 19:16 undefined)", eax, 0xFFF0FFFF, 0x00409000
        mov ebx, SEL_RODATA
        lsl eax, ebx
        CHECK "LSL read-only data (byte granular)", eax, 0x12345
        mov ebx, SEL_G
        lsl eax, ebx
        CHECK "LSL with G=1 (scaled)", eax, 0x12FFF
        mov ebx, SEL_TSS0
        lar eax, ebx
        ZF_TO_EDX
        CHECK "LAR busy TSS: ZF", edx, 1
        CHECKM "LAR busy TSS: type 11, present", eax, 0xFF00, 0x8B00
        mov ebx, SEL_LDTD
        lsl eax, ebx
        ZF_TO_EDX
        CHECK "LSL LDT descriptor: ZF", edx, 1
        CHECK "LSL LDT descriptor", eax, 0x1F
        mov ebx, SEL_CGATE
        lar eax, ebx
        ZF_TO_EDX
        CHECK "LAR call gate: ZF", edx, 1
        CHECKM "LAR call gate: type 12, DPL 3", eax, 0xFF00, 0xEC00
        mov eax, 0x22222222
        mov ebx, SEL_CGATE
        lsl eax, ebx
        ZF_TO_EDX
        CHECK "LSL call gate: ZF=0 (gates have no limit)", edx, 0
        CHECK "LSL call gate: destination unchanged", eax, 0x22222222
        mov ebx, SEL_IGATE
        lar eax, ebx
        ZF_TO_EDX
        CHECK "LAR interrupt-gate type in the GDT: ZF=0", edx, 0
        FAULT_BEGIN
        mov eax, 0x33333333
        mov ebx, 0
        lar eax, ebx
        ZF_TO_EDX
        mov esi, edx
        mov ebx, 0x800
        lsl eax, ebx
        ZF_TO_EDX
        FAULT_END
        CHECK "LAR/LSL of null and out-of-table selectors: no exception", [exc_vector], 0xFFFFFFFF
        CHECK "LAR null selector: ZF=0", esi, 0
        CHECK "LSL beyond the GDT: ZF=0", edx, 0
        CHECK "LAR/LSL refused: destination unchanged", eax, 0x33333333

        mov ebx, SEL_RODATA
        verr bx
        ZF_TO_EDX
        CHECK "VERR read-only data", edx, 1
        verw bx
        ZF_TO_EDX
        CHECK "VERW read-only data", edx, 0
        mov ebx, SEL_KDATA
        verw bx
        ZF_TO_EDX
        CHECK "VERW writable data", edx, 1
        mov ebx, SEL_XCODE
        verr bx
        ZF_TO_EDX
        CHECK "VERR execute-only code", edx, 0
        mov ebx, SEL_KCODE
        verr bx
        ZF_TO_EDX
        CHECK "VERR readable code", edx, 1
        verw bx
        ZF_TO_EDX
        CHECK "VERW code", edx, 0
        mov ebx, SEL_TSS1
        verr bx
        ZF_TO_EDX
        CHECK "VERR TSS", edx, 0

        ; CPL 3: privilege applies, except to conforming code (ZF=1 results as bits of ESI)
        RING3_BEGIN
        xor esi, esi
        mov ebx, SEL_KDATA | 3
        lar eax, ebx
        jnz .c1
        or esi, 1
.c1:    mov ebx, SEL_CONF0 | 3
        lar eax, ebx
        jnz .c2
        or esi, 2
.c2:    mov ebx, SEL_UDATA3
        lsl eax, ebx
        jnz .c3
        or esi, 4
.c3:    mov ebx, SEL_KDATA
        verr bx
        jnz .c4
        or esi, 8
.c4:    mov ebx, SEL_CGATE | 3
        lar eax, ebx
        jnz .c5
        or esi, 16
.c5:
        RING3_END
        CHECKM "CPL3: LAR DPL 0 data: ZF=0", [exc_esi], 1, 0
        CHECKM "CPL3: LAR conforming DPL 0 code: ZF=1", [exc_esi], 2, 2
        CHECKM "CPL3: LSL DPL 3 data: ZF=1", [exc_esi], 4, 4
        CHECKM "CPL3: VERR DPL 0 data: ZF=0", [exc_esi], 8, 0
        CHECKM "CPL3: LAR DPL 3 call gate: ZF=1", [exc_esi], 16, 16
        ret

%include "end.inc"
