; seg_null: null selectors (SDM vol. 3, 5.4 "Checking Caller Access Privileges"... 3.4.2 "Segment
; Selectors": a null selector may be loaded into DS/ES/FS/GS but using it faults).
; Proves: loading 0 or 1..3 into DS/ES/FS/GS does not fault and the selector reads back; any
; memory access through such a register (read, write, string, PUSH mem) raises #GP(0); loading
; a null selector into SS (MOV, POP, LSS) raises #GP(0); a far JMP or CALL to a null selector
; raises #GP(0); LDS with a null selector loads it; ring 3 gets the same.
%define TEST_NAME "seg_null"
%include "guest.inc"

; NULL_USE name, setup instructions..., faulting instruction
%macro NULL_USE 2-*
        FAULT_BEGIN
  %rep %0 - 2
    %rotate 1
        %1
  %endrep
  %rotate 1
%%i:    %1
        FAULT_END
  %rotate 1
        CHECK_EXC %1, 13, 0, %%i
%endmacro

test_main:
        FAULT_BEGIN
        xor eax, eax
        mov ds, ax
        mov ebx, 3
        mov es, bx
        mov fs, ax
        mov gs, bx
        mov ax, ds
        mov bx, gs
        mov ecx, 0
        mov cx, es
        FAULT_END
        CHECK "loading null selectors: no exception", [exc_vector], 0xFFFFFFFF
        CHECK "DS reads back 0", eax, 0
        CHECK "GS reads back 3", ebx, 3
        CHECK "ES reads back 3", ecx, 3

        NULL_USE "DS=0 read", {xor eax, eax}, {mov ds, ax}, {mov eax, [0x100]}
        NULL_USE "DS=3 write", {mov eax, 3}, {mov ds, ax}, {mov dword [0x100], 0}
        NULL_USE "ES=0 write", {xor eax, eax}, {mov es, ax}, {mov byte [es:0x100], 0}
        NULL_USE "FS=0 read", {xor eax, eax}, {mov fs, ax}, {mov al, [fs:0]}
        NULL_USE "GS=0 RMW", {xor eax, eax}, {mov gs, ax}, {inc dword [gs:0x200]}
        NULL_USE "STOSB with ES=0", {xor eax, eax}, {mov es, ax}, {mov edi, 0x6000}, stosb
        NULL_USE "LODSB with DS=0", {xor eax, eax}, {mov ds, ax}, {mov esi, 0x6000}, lodsb
        NULL_USE "MOVSB with DS=0 (source)", {xor eax, eax}, {mov ds, ax}, {mov esi, 0x6000}, {mov edi, 0x6100}, movsb
        NULL_USE "PUSH [mem] with DS=0", {xor eax, eax}, {mov ds, ax}, {push dword [0x6000]}
        NULL_USE "MOV SS, 0", {xor eax, eax}, {mov ss, ax}
        NULL_USE "MOV SS, 3", {mov eax, 3}, {mov ss, ax}
        NULL_USE "POP SS of 0", {push dword 0}, {pop ss}
        mov dword [TEST_VARS], 0x1234
        mov word [TEST_VARS + 4], 0
        NULL_USE "LSS with a null selector", {lss eax, [TEST_VARS]}
        NULL_USE "far JMP to selector 0", {jmp 0:0x1000}
        NULL_USE "far CALL to selector 0", {call 0:0x1000}
        NULL_USE "far JMP through memory to selector 3", {mov word [TEST_VARS + 4], 3}, {jmp far [TEST_VARS]}

        FAULT_BEGIN
        mov word [TEST_VARS + 4], 0
        lds eax, [TEST_VARS]
        mov bx, ds
        FAULT_END
        CHECK "LDS with a null selector: no exception", [exc_vector], 0xFFFFFFFF
        CHECK "LDS with a null selector: offset loaded", eax, 0x1234
        CHECKM "LDS with a null selector: DS = 0", ebx, 0xFFFF, 0

        RING3_BEGIN
        xor eax, eax
        mov ds, ax
.r3:    mov eax, [0x6000]
        RING3_END
        CHECK_EXC "ring 3, DS=0 read", 13, 0, .r3
        CHECK "ring 3, DS=0 read: pushed CS", [exc_cs], SEL_UCODE3
        ret

%include "end.inc"
