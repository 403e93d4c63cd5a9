; fpu_exceptions: x87 error reporting and availability (SDM vol. 1, 8.6 "x87 FPU Exception
; Synchronization", 8.7 "Handling x87 FPU Exceptions in Software" and appendix D (MS-DOS
; compatibility: FERR#, IGNNE#, IRQ 13); vol. 3, 2.5 CR0.EM/MP/TS/NE, 6.15 #NM, #MF; FXSAVE).
; Proves: CPUID reports FPU, MMX, FXSR; with CR0.NE=1 an unmasked error is not reported by
; the instruction that causes it but as #MF (fault, no error code) at the next waiting x87
; instruction, the destination keeping its value, while FNSTSW (non-waiting) runs; with
; CR0.NE=0 the error goes out on FERR# to IRQ 13 of the 8259 when the next waiting instruction
; is reached, the handler clears it through port F0h and FNCLEX, and that instruction then runs
; (needs the PC board's 8259: on the bare test machine this part is reported as skipped);
; CR0.TS raises #NM for x87, MMX and FXSAVE, and WAIT only with MP; CR0.EM raises #NM for x87
; and FXSAVE and #UD for MMX; FXSAVE/FXRSTOR to an address that is not 16-byte aligned is
; #GP(0), an aligned one stores the control word first.
%define TEST_NAME "fpu_exceptions"
%include "guest.inc"

        absolute TEST_VARS
irq13_count:    resd 1
irq13_eip:      resd 1
marker:         resd 1
sw_value:       resd 1
result:         resq 1
        section .text

FXAREA  equ SCRATCH

%macro SET_CR0 2                        ; clear bits %1, then set bits %2
        mov eax, cr0
        and eax, ~(%1)
        or eax, %2
        mov cr0, eax
%endmacro

test_main:
        mov eax, 1
        cpuid
        CHECKM "CPUID.1 EDX: FPU, MMX, FXSR", edx, 0x01800001, 0x01800001

        ; ---- CR0.NE = 1: #MF at the next waiting instruction
        SET_CR0 CR0_EM | CR0_TS, CR0_NE | CR0_MP
        fninit
        fldcw [cw_zm]
        fldz
        fld1
        mov dword [marker], 0
        FAULT_BEGIN
        fdiv st0, st1                   ; 1/0 with ZE unmasked: pending, no fault yet
        mov dword [marker], 1
        fnstsw ax                       ; non-waiting: runs
        mov [sw_value], eax
.mf:    fld1                            ; waiting: #MF here
        FAULT_END
        CHECK_EXC "NE=1: #MF at the next waiting instruction", 16, 0, .mf
        CHECK "NE=1: the failing FDIV itself did not fault", [marker], 1
        CHECKM "NE=1: FNSTSW shows ZE, ES, B", [sw_value], 0x80FF, 0x8084
        fnclex
        fstp qword [result]             ; the destination kept 1.0
        CHECK "NE=1: an unmasked ZE leaves the destination", [result + 4], 0x3FF00000
        fnstsw ax
        CHECKM "NE=1: FNCLEX cleared the error", eax, 0x80FF, 0

        ; WAIT takes the pending error too
        fldz
        fld1
        fdiv st0, st1
        FAULT_BEGIN
.mf2:   wait
        FAULT_END
        CHECK_EXC "NE=1: WAIT raises #MF", 16, 0, .mf2
        fninit

        ; ---- CR0.NE = 0: FERR# -> IRQ 13
        mov al, 0xFB                    ; unmask the cascade; read back: is there an 8259?
        out 0x21, al
        in al, 0x21
        cmp al, 0xFB
        je .pic
        COMMENT "no 8259 on this machine: the IRQ 13 checks are skipped (run with -M pc)"
        jmp .nopic
.pic:   mov al, 0xDF                    ; IRQ 13 = slave line 5
        out 0xA1, al
        SET_GATE 0x2D, irq13_handler, 0x8E00
        SET_CR0 CR0_NE, 0
        mov dword [irq13_count], 0
        fninit
        fldcw [cw_zm]
        fldz
        fld1
        fdiv st0, st1                   ; error pending
        sti
.wait:  fld1                            ; FERR#, IRQ 13; the handler clears it; then runs
        cli
        CHECK "NE=0: one IRQ 13", [irq13_count], 1
        CHECK "NE=0: IRQ 13 returns to the waiting FLD1", [irq13_eip], .wait
        fnstsw ax
        CHECKM "NE=0: the FLD1 ran after the handler (TOP 5, no error)", eax, 0xB8FF, 0x2800
        mov al, 0xFF
        out 0x21, al
        out 0xA1, al
        SET_CR0 0, CR0_NE
.nopic:
        fninit

        ; ---- CR0.TS and CR0.EM
        SET_CR0 0, CR0_TS
        FAULT_BEGIN
.ts1:   fld1
        FAULT_END
        CHECK_EXC "TS=1: x87 instruction", 7, 0, .ts1
        FAULT_BEGIN
.ts2:   movq mm0, mm1
        FAULT_END
        CHECK_EXC "TS=1: MMX instruction", 7, 0, .ts2
        FAULT_BEGIN
.ts3:   fxsave [FXAREA]
        FAULT_END
        CHECK_EXC "TS=1: FXSAVE", 7, 0, .ts3
        FAULT_BEGIN
.ts4:   wait
        FAULT_END
        CHECK_EXC "TS=1, MP=1: WAIT", 7, 0, .ts4
        SET_CR0 CR0_TS | CR0_MP, CR0_EM
        FAULT_BEGIN
.em1:   fninit
        FAULT_END
        CHECK_EXC "EM=1: FNINIT", 7, 0, .em1
        FAULT_BEGIN
.em2:   paddb mm0, mm1
        FAULT_END
        CHECK_EXC "EM=1: MMX instruction is #UD", 6, 0, .em2
        FAULT_BEGIN
.em3:   fxsave [FXAREA]
        FAULT_END
        CHECK_EXC "EM=1: FXSAVE", 7, 0, .em3
        FAULT_BEGIN
        wait
        FAULT_END
        CHECK "EM=1, MP=0, TS=0: WAIT runs", [exc_vector], 0xFFFFFFFF
        SET_CR0 CR0_EM, CR0_MP

        ; ---- FXSAVE / FXRSTOR alignment
        fninit
        fldcw [cw_zm]
        FAULT_BEGIN
.gp1:   fxsave [FXAREA + 8]
        FAULT_END
        CHECK_EXC "FXSAVE to an address = 8 mod 16", 13, 0, .gp1
        FAULT_BEGIN
.gp2:   fxrstor [FXAREA + 4]
        FAULT_END
        CHECK_EXC "FXRSTOR from an address = 4 mod 16", 13, 0, .gp2
        FAULT_BEGIN
        fxsave [FXAREA]
        FAULT_END
        CHECK "FXSAVE to an aligned address", [exc_vector], 0xFFFFFFFF
        CHECKM "FXSAVE stores the control word at +0", [FXAREA], 0xFFFF, 0x037B
        fninit
        ret

irq13_handler:
        push eax
        mov eax, [esp + 4]
        mov [irq13_eip], eax
        inc dword [irq13_count]
        xor al, al
        out 0xF0, al                    ; clears FERR#'s latch, asserts IGNNE#
        fnclex
        mov al, 0x20
        out 0xA0, al
        out 0x20, al
        pop eax
        iret

cw_zm:  dw 0x037B                       ; every exception masked but ZE

%include "end.inc"
