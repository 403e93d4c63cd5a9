; exc_gp: general protection from privileged and malformed instructions (SDM vol. 3, 6.15
; "Interrupt 13 - General Protection Exception (#GP)", 5.9 "Privileged Instructions",
; 2.5 control registers; vol. 2 per instruction).
; Proves: at CPL 3, HLT, LGDT, LIDT, LLDT, LTR, MOV to/from CR0/CR3/DR7, CLTS, INVD, WBINVD,
; RDMSR, WRMSR, and CLI/STI with IOPL 0 raise #GP(0) at the instruction; RDTSC with CR4.TSD=1
; and RDPMC with CR4.PCE=0 too; at CPL 0, setting CR0.PG without PE, CR0.NW without CD, a
; reserved CR4 bit, RDMSR/WRMSR of an unknown MSR, and an instruction longer than 15 bytes
; raise #GP(0) with nothing changed.
%define TEST_NAME "exc_gp"
%include "guest.inc"

%macro GP3 2                            ; ring 3
        RING3_BEGIN
%%i:    %2
        RING3_END
        CHECK_EXC %1, 13, 0, %%i
%endmacro
%macro GP0 2-*                          ; ring 0: name, setup..., faulting instruction
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
        GP3 "CPL3 HLT", hlt
        GP3 "CPL3 LGDT", {lgdt [lib_tmp]}
        GP3 "CPL3 LIDT", {lidt [lib_tmp]}
        GP3 "CPL3 LLDT", {lldt ax}
        GP3 "CPL3 LTR", {ltr ax}
        GP3 "CPL3 MOV EAX, CR0", {mov eax, cr0}
        GP3 "CPL3 MOV CR3, EAX", {mov cr3, eax}
        GP3 "CPL3 MOV EAX, DR7", {mov eax, dr7}
        GP3 "CPL3 CLTS", clts
        GP3 "CPL3 INVD", invd
        GP3 "CPL3 WBINVD", wbinvd
        GP3 "CPL3 RDMSR", rdmsr
        GP3 "CPL3 WRMSR", wrmsr
        GP3 "CPL3 CLI with IOPL 0", cli
        GP3 "CPL3 STI with IOPL 0", sti
        mov eax, cr4
        or eax, CR4_TSD
        mov cr4, eax
        GP3 "CPL3 RDTSC with CR4.TSD=1", rdtsc
        mov eax, cr4
        and eax, ~CR4_TSD
        mov cr4, eax
        RING3_BEGIN
        rdtsc
        RING3_END
        CHECK "CPL3 RDTSC with CR4.TSD=0: no exception", [exc_vector], VEC_RING0
        RING3_BEGIN
        xor ecx, ecx
.pmc:   rdpmc
        RING3_END
        CHECK_EXC "CPL3 RDPMC with CR4.PCE=0", 13, 0, .pmc

        mov eax, cr0
        mov [TEST_VARS], eax
        GP0 "CR0.PG=1 with PE=0", {mov eax, cr0}, {and eax, ~CR0_PE}, {or eax, CR0_PG}, {mov cr0, eax}
        GP0 "CR0.NW=1 with CD=0", {mov eax, cr0}, {and eax, ~0x40000000}, {or eax, 0x20000000}, {mov cr0, eax}
        mov eax, cr0
        CHECK "refused CR0 loads changed nothing", eax, [TEST_VARS]
        GP0 "CR4 reserved bit 31", {mov eax, cr4}, {or eax, 0x80000000}, {mov cr4, eax}
        GP0 "RDMSR of MSR 0x12345678", {mov ecx, 0x12345678}, rdmsr
        GP0 "WRMSR of MSR 0x12345678", {mov ecx, 0x12345678}, {xor eax, eax}, {xor edx, edx}, wrmsr
        FAULT_BEGIN
.long:  times 15 db 0x66
        nop
        FAULT_END
        CHECK_EXC "16-byte instruction (15 prefixes + NOP)", 13, 0, .long
        FAULT_BEGIN
        times 14 db 0x66
        nop
        FAULT_END
        CHECK "15-byte instruction: no exception", [exc_vector], 0xFFFFFFFF
        ret

%include "end.inc"
