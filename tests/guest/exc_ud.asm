; exc_ud: invalid opcode (SDM vol. 3, 6.15 "Interrupt 6 - Invalid Opcode Exception (#UD)"; the
; #UD conditions of each instruction in vol. 2).
; Proves: UD2, the reserved 0F FF, LOCK on a non-memory or non-lockable instruction, MOV to or
; from CR1/CR5, MOV DR4 with CR4.DE=1, register forms of LDS/LES/LEA/BOUND/CMPXCHG8B and of far
; JMP/CALL through FF /5, /3 raise #UD: a fault without error code, pushed EIP = the first byte
; (prefixes included), registers unchanged; with CR4.DE=0 DR4 aliases DR6; also from ring 3.
%define TEST_NAME "exc_ud"
%include "guest.inc"

%macro UD 2
        FAULT_BEGIN
%%i:    %2
        FAULT_END
        CHECK_EXC %1, 6, 0, %%i
%endmacro

test_main:
        UD "UD2", ud2
        UD "UD2 with 66 and F3 prefixes", {db 0x66, 0xF3, 0x0F, 0x0B}
        UD "0F FF", {db 0x0F, 0xFF}
        UD "LOCK NOP", {db 0xF0, 0x90}
        UD "LOCK ADD EAX, EBX (register destination)", {db 0xF0, 0x01, 0xD8}
        UD "LOCK MOV [mem], EAX (not lockable)", {db 0xF0, 0x89, 0x05, 0x00, 0x60, 0x00, 0x00}
        UD "MOV EAX, CR1", {db 0x0F, 0x20, 0xC8}
        UD "MOV CR5, EAX", {db 0x0F, 0x22, 0xE8}
        UD "LDS EAX, EBX (register operand)", {db 0xC5, 0xC3}
        UD "LES EAX, EBX (register operand)", {db 0xC4, 0xC3}
        UD "LEA EAX, EBX (register operand)", {db 0x8D, 0xC3}
        UD "BOUND EAX, EBX (register operand)", {db 0x62, 0xC3}
        UD "CMPXCHG8B EAX (register operand)", {db 0x0F, 0xC7, 0xC8}
        UD "JMP FAR EBX (FF /5, register operand)", {db 0xFF, 0xEB}
        UD "CALL FAR EBX (FF /3, register operand)", {db 0xFF, 0xDB}

        ; DR4/DR5: alias of DR6/DR7 with CR4.DE=0, #UD with CR4.DE=1
        mov eax, dr6
        mov ebx, eax
        db 0x0F, 0x21, 0xE0             ; MOV EAX, DR4
        CHECK "CR4.DE=0: DR4 reads as DR6", eax, ebx
        mov eax, cr4
        or eax, CR4_DE
        mov cr4, eax
        UD "CR4.DE=1: MOV EAX, DR4", {db 0x0F, 0x21, 0xE0}
        UD "CR4.DE=1: MOV DR5, EAX", {db 0x0F, 0x23, 0xE8}
        mov eax, cr4
        and eax, ~CR4_DE
        mov cr4, eax

        mov ecx, 0x1234
        UD "UD2 keeps ECX", ud2
        CHECK "UD2: ECX unchanged", [exc_ecx], 0x1234

        RING3_BEGIN
.r3:    ud2
        RING3_END
        CHECK_EXC "ring 3 UD2", 6, 0, .r3
        CHECK "ring 3 UD2: pushed CS", [exc_cs], SEL_UCODE3
        ret

%include "end.inc"
