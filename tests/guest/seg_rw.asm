; seg_rw: segment type checks on accesses (SDM vol. 3, 5.4 "Type Checking").
; Proves: a write to a read-only data segment, a write through a CS override, a string store
; to a read-only ES and a read through CS of an execute-only code segment raise #GP(0); reads
; of read-only data and of readable code through CS work; a faulting write changes nothing.
%define TEST_NAME "seg_rw"
%include "guest.inc"

SEL_RODATA equ 0x68                     ; read-only data, base 0
SEL_XCODE  equ 0x70                     ; execute-only code, base 0, 32-bit

%macro WRITE_GP 2
        FAULT_BEGIN
        mov ax, SEL_RODATA
        mov ds, ax
        mov es, ax
%%i:    %2
        FAULT_END
        CHECK_EXC %1, 13, 0, %%i
%endmacro

test_main:
        SET_DESC SEL_RODATA, 0, 0xFFFFF, 0x90, 0xC
        SET_DESC SEL_XCODE, 0, 0xFFFFF, 0x98, 0xC
        mov dword [TEST_VARS], 0x0D0D0D0D

        FAULT_BEGIN
        mov ax, SEL_RODATA
        mov ds, ax
        mov ebx, [TEST_VARS]
        mov ecx, [cs:.const]
        FAULT_END
        CHECK "read-only data read, CS-relative read: no exception", [exc_vector], 0xFFFFFFFF
        CHECK "read-only data read", ebx, 0x0D0D0D0D
        CHECK "read through CS of readable code", ecx, 0xC0DEC0DE

        WRITE_GP "write to read-only DS", {mov dword [TEST_VARS], 1}
        WRITE_GP "INC of read-only DS memory", {inc byte [TEST_VARS]}
        mov edi, TEST_VARS + 4
        mov esi, TEST_VARS
        cld
        WRITE_GP "STOSD to read-only ES", stosd
        WRITE_GP "MOVSB to read-only ES", movsb
        push dword 3
        WRITE_GP "POP into read-only DS memory", {pop dword [TEST_VARS]}
        add esp, 4
        WRITE_GP "write through a CS override", {mov dword [cs:TEST_VARS], 2}
        CHECK "faulting writes changed nothing", [TEST_VARS], 0x0D0D0D0D

        ; an execute-only code segment
        FAULT_BEGIN
        jmp SEL_XCODE:.in_xcode
.in_xcode:
        mov ebx, 0x600D                 ; instructions run
.x1:    mov eax, [cs:.const]
        FAULT_END
        CHECK_EXC "read through CS of execute-only code", 13, 0, .x1
        CHECK "execute-only code ran", [exc_ebx], 0x600D
        CHECKM "the fault came from the execute-only segment", [exc_cs], 0xFFFF, SEL_XCODE
        ret

        align 4
.const: dd 0xC0DEC0DE

%include "end.inc"
