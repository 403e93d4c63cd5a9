; sysenter: SYSENTER and SYSEXIT (vol. 2 SYSENTER/SYSEXIT; vol. 3, 5.8.7 "Performing Fast Calls
; to System Procedures with the SYSENTER and SYSEXIT Instructions").
; Proves: CPUID reports SEP; the three MSRs read back; SYSENTER from ring 3 loads CS = MSR 174h
; (RPL 0), SS = CS + 8, ESP = MSR 175h, EIP = MSR 176h, clears IF and VM, and leaves DS alone;
; SYSEXIT loads CS = MSR 174h + 16 | 3, SS = + 24 | 3, EIP = EDX, ESP = ECX, back at CPL 3;
; SYSENTER with MSR 174h = 0, SYSEXIT at CPL 3 and SYSEXIT with MSR 174h = 0 raise #GP(0).
%define TEST_NAME "sysenter"
%include "guest.inc"

MSR_CS  equ 0x174
MSR_ESP equ 0x175
MSR_EIP equ 0x176
SYS_ESP equ TSS_STACK0_TOP - 0x200

        absolute TEST_VARS
s_cs:   resd 1
s_ss:   resd 1
s_esp:  resd 1
s_eflags: resd 1
s_ds:   resd 1
        section .text

%macro WRMSR_ 2
        mov ecx, %1
        mov eax, %2
        xor edx, edx
        wrmsr
%endmacro

test_main:
        mov eax, 1
        cpuid
        CHECKM "CPUID.1:EDX.SEP", edx, 1 << 11, 1 << 11
        WRMSR_ MSR_CS, SEL_KCODE
        WRMSR_ MSR_ESP, SYS_ESP
        WRMSR_ MSR_EIP, sys_entry
        mov ecx, MSR_CS
        rdmsr
        CHECK "RDMSR 174h", eax, SEL_KCODE
        mov ecx, MSR_ESP
        rdmsr
        CHECK "RDMSR 175h", eax, SYS_ESP
        mov ecx, MSR_EIP
        rdmsr
        CHECK "RDMSR 176h", eax, sys_entry

        sti
        RING3_BEGIN
        mov ecx, STACK3_TOP - 0x40
        mov edx, .ret3
        sysenter
.ret3:  xor ebx, ebx
        mov bx, cs
        xor esi, esi
        mov si, ss
        mov edi, esp
        RING3_END
        cli
        CHECK "SYSENTER: CS", [s_cs], SEL_KCODE
        CHECK "SYSENTER: SS", [s_ss], SEL_KDATA
        CHECK "SYSENTER: ESP from MSR 175h", [s_esp], SYS_ESP
        CHECKM "SYSENTER: IF cleared", [s_eflags], EFL_IF | EFL_VM, 0
        CHECK "SYSENTER: DS untouched", [s_ds], SEL_UDATA3
        CHECK "SYSEXIT: CS", [exc_ebx], SEL_UCODE3
        CHECK "SYSEXIT: SS", [exc_esi], SEL_UDATA3
        CHECK "SYSEXIT: ESP = ECX", [exc_edi], STACK3_TOP - 0x40
        CHECK "SYSEXIT: back at CPL 3 (interrupt frame has SS:ESP)", [exc_ss], SEL_UDATA3

        RING3_BEGIN
.x3:    sysexit
        RING3_END
        CHECK_EXC "SYSEXIT at CPL 3", 13, 0, .x3

        WRMSR_ MSR_CS, 0
        RING3_BEGIN
.e3:    sysenter
        RING3_END
        CHECK_EXC "SYSENTER with MSR 174h = 0", 13, 0, .e3
        FAULT_BEGIN
        mov ecx, STACK3_TOP
        mov edx, 0x1000
.x0:    sysexit
        FAULT_END
        CHECK_EXC "SYSEXIT with MSR 174h = 0", 13, 0, .x0
        ret

sys_entry:
        xor eax, eax
        mov ax, cs
        mov [s_cs], eax
        mov ax, ss
        mov [s_ss], eax
        mov ax, ds
        mov [s_ds], eax
        mov [s_esp], esp
        pushfd
        pop dword [s_eflags]
        sysexit

%include "end.inc"
