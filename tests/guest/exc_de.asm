; exc_de: divide error (SDM vol. 3, 6.15 "Interrupt 0 - Divide Error Exception (#DE)"; DIV,
; IDIV, AAM in vol. 2).
; Proves: DIV and IDIV by zero, DIV with a quotient too large (8/16/32-bit), IDIV of the most
; negative value by -1, and AAM 0 raise #DE, a fault with no error code: pushed EIP = the
; instruction (including its prefixes), EAX/EDX unchanged; from ring 3 the DPL 0 gate is
; reached with the ring-3 stack pushed.
%define TEST_NAME "exc_de"
%include "guest.inc"

%macro DE 2-*                           ; name, setup..., faulting instruction
        FAULT_BEGIN
  %rep %0 - 2
    %rotate 1
        %1
  %endrep
  %rotate 1
%%i:    %1
        FAULT_END
  %rotate 1
        CHECK_EXC %1, 0, 0, %%i
%endmacro

test_main:
        DE "DIV ECX by 0", {mov eax, 0x1234}, {mov edx, 0x5678}, {xor ecx, ecx}, {div ecx}
        CHECK "DIV by 0: EAX unchanged", [exc_eax], 0x1234
        CHECK "DIV by 0: EDX unchanged", [exc_edx], 0x5678
        DE "DIV of 2^32 by 1 (quotient overflow)", {mov edx, 1}, {xor eax, eax}, {mov ecx, 1}, {div ecx}
        DE "8-bit DIV of 0x1000 by 0x10", {mov eax, 0x1000}, {mov bl, 0x10}, {div bl}
        CHECK "8-bit DIV overflow: AX unchanged", [exc_eax], 0x1000
        DE "16-bit DIV overflow (with 66 prefix)", {mov edx, 0x10}, {mov eax, 0}, {mov cx, 0x10}, {div cx}
        DE "IDIV 0x80000000 by -1", {mov eax, 0x80000000}, {cdq}, {mov ecx, -1}, {idiv ecx}
        DE "IDIV by 0 in memory", {mov dword [TEST_VARS], 0}, {mov eax, 7}, {cdq}, {idiv dword [TEST_VARS]}
        DE "8-bit IDIV -128 by -1", {mov eax, 0xFF80}, {mov bl, -1}, {idiv bl}
        DE "AAM 0", {mov eax, 0x55}, {db 0xD4, 0x00}

        ; no fault in range
        FAULT_BEGIN
        mov edx, 0
        mov eax, 100
        mov ecx, 7
        div ecx
        FAULT_END
        CHECK "DIV 100 / 7: no exception", [exc_vector], 0xFFFFFFFF
        CHECK "DIV 100 / 7: quotient", eax, 14
        CHECK "DIV 100 / 7: remainder", edx, 2

        RING3_BEGIN
        xor edx, edx
        mov eax, 1
        xor ebx, ebx
.r3:    div ebx
        RING3_END
        CHECK_EXC "ring 3 DIV by 0", 0, 0, .r3
        CHECK "ring 3 DIV by 0: pushed CS", [exc_cs], SEL_UCODE3
        CHECK "ring 3 DIV by 0: pushed ESP", [exc_esp], STACK3_TOP
        CHECK "ring 3 DIV by 0: handler stack (EIP slot at ESP0 - 20)", [exc_frame], TSS_STACK0_TOP - 20
        ret

%include "end.inc"
