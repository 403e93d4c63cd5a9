; seg_expdown: expand-down data and stack segments (SDM vol. 3, 3.4.5.1 "Code- and Data-Segment
; Descriptor Types", 5.3 "Limit Checking").
; Proves: valid offsets of an expand-down segment run from limit + 1 to 0xFFFFFFFF (B=1) or
; 0xFFFF (B=0); accesses at or below the limit, or crossing it, or (B=0) above 0xFFFF raise
; #GP(0) through DS and #SS(0) through SS; a PUSH from ring 3 that would go below the limit of
; an expand-down stack raises #SS(0) with ESP untouched and the handler on the ring-0 stack.
%define TEST_NAME "seg_expdown"
%include "guest.inc"

SEL_ED32  equ 0x68                      ; expand-down, B=1, base SCRATCH, limit 0xFFF
SEL_ED16  equ 0x70                      ; expand-down, B=0, base SCRATCH, limit 0xFFF
SEL_EDSS  equ 0x78                      ; expand-down stack, B=1, base 0, limit 0x7FFF
SEL_EDSS3 equ 0x80                      ; the same with DPL 3
ACC_ED0   equ 0x96                      ; present, DPL 0, data, expand-down, writable
ACC_ED3   equ 0xF6

%macro DS_FAULT 3                       ; name, selector, instruction
        FAULT_BEGIN
        mov ax, %2
        mov ds, ax
%%i:    %3
        FAULT_END
        CHECK_EXC %1, 13, 0, %%i
%endmacro

test_main:
        SET_DESC SEL_ED32, SCRATCH, 0xFFF, ACC_ED0, 0x4
        SET_DESC SEL_ED16, SCRATCH, 0xFFF, ACC_ED0, 0x0
        SET_DESC SEL_EDSS, 0, 0x7FFF, ACC_ED0, 0x4
        SET_DESC SEL_EDSS3, 0, 0x7FFF, ACC_ED3, 0x4
        mov dword [SCRATCH + 0x1000], 0xED000001
        mov dword [SCRATCH + 0xFFFC], 0xED000002
        mov dword [SCRATCH - 4], 0xED000003

        FAULT_BEGIN
        mov ax, SEL_ED32
        mov ds, ax
        mov ebx, [0x1000]
        mov ecx, [0xFFFFFFFC]
        mov ax, SEL_ED16
        mov ds, ax
        mov edx, [0xFFFC]
        mov esi, [0x1000]
        FAULT_END
        CHECK "valid offsets: no exception", [exc_vector], 0xFFFFFFFF
        CHECK "B=1: offset limit + 1", ebx, 0xED000001
        CHECK "B=1: offset 0xFFFFFFFC (wraps below the base)", ecx, 0xED000003
        CHECK "B=0: offset 0xFFFC", edx, 0xED000002
        CHECK "B=0: offset limit + 1", esi, 0xED000001

        DS_FAULT "B=1: byte at the limit", SEL_ED32, {mov al, [0xFFF]}
        DS_FAULT "B=1: offset 0", SEL_ED32, {mov al, [0]}
        DS_FAULT "B=1: dword crossing the limit upwards", SEL_ED32, {mov eax, [0xFFE]}
        DS_FAULT "B=0: dword crossing 0xFFFF", SEL_ED16, {mov eax, [0xFFFD]}
        DS_FAULT "B=0: offset 0x10000", SEL_ED16, {mov al, [0x10000]}
        DS_FAULT "B=0: write at the limit", SEL_ED16, {mov byte [0xFFF], 1}

        mov eax, SEL_ED32
        lsl ebx, eax
        CHECK "LSL of an expand-down segment gives the limit field", ebx, 0xFFF

        ; ring 0: expand-down SS
        FAULT_BEGIN
        mov ax, SEL_EDSS
        mov ss, ax                      ; ESP (about 0x8Fxx) is a valid offset
        push dword 0x1234
        pop eax
        mov ebx, [ss:0x8000]
.ss1:   mov ecx, [ss:0x7FFE]
        FAULT_END
        CHECK_EXC "expand-down SS: dword crossing the limit", 12, 0, .ss1
        CHECK "expand-down SS: PUSH/POP above the limit worked", [exc_eax], 0x1234

        ; ring 3: PUSH below the limit of an expand-down stack
        RING3_BEGIN
        mov ax, SEL_EDSS3 | 3
        mov ss, ax
        mov esp, 0x8008
        push dword 1
        push dword 2
.p3:    push dword 3
        RING3_END
        CHECK_EXC "ring 3 PUSH below an expand-down stack's limit", 12, 0, .p3
        CHECK "ring 3 PUSH: ESP untouched", [exc_esp], 0x8000
        CHECK "ring 3 PUSH: pushed SS", [exc_ss], SEL_EDSS3 | 3
        CHECK "ring 3 PUSH: handler on SS0", [exc_hss], SEL_KDATA
        CHECK "ring 3 PUSH: the two pushes above the limit landed", [0x8000], 2
        ret

%include "end.inc"
