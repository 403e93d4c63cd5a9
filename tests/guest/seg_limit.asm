; seg_limit: segment limit checks (SDM vol. 3, 5.3 "Limit Checking"; 6.15 #GP, #SS).
; Proves: a data access any byte of which lies beyond the limit faults #GP(0) (DS, ES, FS, GS,
; string stores) and leaves registers untouched; the last byte inside the limit is accessible;
; with G=1 the limit is scaled (limit 0 -> 0xFFF); accesses through SS beyond its limit raise
; #SS(0) instead; a near JMP beyond the CS limit raises #GP(0) at the JMP; an instruction whose
; bytes run past the CS limit raises #GP(0) at its first byte; one ending exactly at the limit
; runs and the next fetch faults.
%define TEST_NAME "seg_limit"
%include "guest.inc"

SEL_LIM   equ 0x68                      ; data, base SCRATCH, limit 0xFFF (bytes)
SEL_LIMG  equ 0x70                      ; data, base SCRATCH, limit 0 with G=1 (0xFFF)
SEL_SS1M  equ 0x78                      ; stack, base 0, limit 0xFFFFF (bytes)
SEL_CODEL equ 0x80                      ; code, base 0, limit set at run time

test_main:
        SET_DESC SEL_LIM, SCRATCH, 0xFFF, ACC_DATA0, 0x4
        SET_DESC SEL_LIMG, SCRATCH, 0, ACC_DATA0, 0xC
        SET_DESC SEL_SS1M, 0, 0xFFFFF, ACC_DATA0, 0x4
        mov dword [SCRATCH + 0xFFC], 0x1A57D0D0

        mov ax, SEL_LIM
        mov ds, ax
        mov edx, [0xFFC]
        movzx ebx, byte [0xFFF]
        mov ax, SEL_KDATA
        mov ds, ax
        CHECK "last dword inside the limit", edx, 0x1A57D0D0
        CHECK "last byte inside the limit", ebx, 0x1A

        mov ecx, 0x5555
        FAULT_BEGIN
        mov ax, SEL_LIM
        mov ds, ax
.d1:    mov ecx, [0xFFD]
        FAULT_END
        CHECK_EXC "DS dword read crossing the limit", 13, 0, .d1
        CHECK "DS dword read crossing the limit: ECX untouched", [exc_ecx], 0x5555
        FAULT_BEGIN
        mov ax, SEL_LIM
        mov ds, ax
.d2:    mov al, [0x1000]
        FAULT_END
        CHECK_EXC "DS byte read at limit + 1", 13, 0, .d2
        FAULT_BEGIN
        mov ax, SEL_LIM
        mov ds, ax
.d3:    mov al, [0xFFFFFFFF]
        FAULT_END
        CHECK_EXC "DS byte read at 0xFFFFFFFF", 13, 0, .d3
        FAULT_BEGIN
        mov ax, SEL_LIM
        mov es, ax
.e1:    mov word [es:0xFFF], 0
        FAULT_END
        CHECK_EXC "ES word write crossing the limit", 13, 0, .e1
        CHECK "ES word write crossing the limit: byte inside untouched", [SCRATCH + 0xFFC], 0x1A57D0D0
        FAULT_BEGIN
        mov ax, SEL_LIM
        mov fs, ax
.f1:    mov eax, [fs:0x2000]
        FAULT_END
        CHECK_EXC "FS read beyond the limit", 13, 0, .f1
        FAULT_BEGIN
        mov ax, SEL_LIM
        mov gs, ax
.g1:    add [gs:0x1000], eax
        FAULT_END
        CHECK_EXC "GS ADD beyond the limit", 13, 0, .g1
        FAULT_BEGIN
        mov ax, SEL_LIM
        mov es, ax
        mov edi, 0xFFE
        cld
.s1:    stosd
        FAULT_END
        CHECK_EXC "STOSD crossing the ES limit", 13, 0, .s1
        CHECK "STOSD crossing the ES limit: EDI untouched", [exc_edi], 0xFFE

        ; G=1
        mov ax, SEL_LIMG
        mov ds, ax
        mov edx, [0xFFC]
        mov bx, SEL_KDATA
        mov ds, bx
        CHECK "G=1, limit 0: offset 0xFFC readable", edx, 0x1A57D0D0
        FAULT_BEGIN
        mov ax, SEL_LIMG
        mov ds, ax
.gr:    mov eax, [0xFFD]
        FAULT_END
        CHECK_EXC "G=1, limit 0: dword at 0xFFD", 13, 0, .gr

        ; SS limit: #SS(0)
        FAULT_BEGIN
        mov ax, SEL_SS1M
        mov ss, ax
        push eax                        ; inside the limit: fine
        pop eax
.ss1:   mov eax, [ss:0x100000]
        FAULT_END
        CHECK_EXC "SS read beyond the limit", 12, 0, .ss1
        FAULT_BEGIN
        mov ax, SEL_SS1M
        mov ss, ax
        mov ebp, 0xFFFFE
.ss2:   mov eax, [ebp]                  ; EBP addresses SS
        FAULT_END
        CHECK_EXC "[EBP] dword crossing the SS limit", 12, 0, .ss2

        ; CS limit: a code segment that ends at .cs_end
        SET_DESC_R SEL_CODEL, 0, .cs_end, ACC_CODE0, 0x4
        FAULT_BEGIN
        jmp SEL_CODEL:.in_limited
.in_limited:
        mov eax, .beyond
.j1:    jmp eax
        FAULT_END
        CHECK_EXC "near JMP beyond the CS limit", 13, 0, .j1
        SET_DESC_R SEL_CODEL, 0, .straddle + 2, ACC_CODE0, 0x4
        FAULT_BEGIN
        jmp SEL_CODEL:.straddle
        FAULT_END
        CHECK_EXC "instruction running past the CS limit", 13, 0, .straddle
        SET_DESC_R SEL_CODEL, 0, .cs_end, ACC_CODE0, 0x4
        mov ebx, 0
        FAULT_BEGIN
        jmp SEL_CODEL:.at_end
        FAULT_END
        CHECK_EXC "fetch after an instruction ending at the CS limit", 13, 0, .at_end + 1
        CHECK "instruction ending at the CS limit executed", [exc_ebx], 1
        ret

.straddle:
        mov ecx, 0x12345678             ; 5 bytes; the limit is its third byte
        jmp $

        ; the limited code segment's last bytes
.at_end:
        inc ebx                         ; the last byte inside the limit
.cs_end equ .at_end                     ; limit = offset of that byte
.beyond:
        nop
        nop
        jmp $

%include "end.inc"
