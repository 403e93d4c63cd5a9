; gate_rings: stack switches through rings 3 -> 2 -> 1 -> 0 and back (SDM vol. 3, 5.8.5
; "Stack Switching", 6.12.1 "Exception- or Interrupt-Handler Procedures", 7.2.1 TSS fields).
; Proves: a call gate from ring 3 to ring 2 code switches to SS2:ESP2 of the TSS, from ring 2
; to ring 1 to SS1:ESP1, an interrupt from ring 1 to ring 0 to SS0:ESP0; each new stack holds
; the caller's SS:ESP and CS:EIP (with their RPLs); CPL follows the target DPL; IRET and RETF
; unwind back to ring 3 with every stack pointer restored.
%define TEST_NAME "gate_rings"
%include "guest.inc"

SEL_G2  equ 0x68                        ; call gate DPL 3 -> ring 2 code
SEL_G1  equ 0x70                        ; call gate DPL 2 -> ring 1 code
VEC_R0  equ 0x50                        ; interrupt gate DPL 1 -> ring 0

        absolute TEST_VARS
r2_cs:  resd 1
r2_ss:  resd 1
r2_esp: resd 1
r2_frame: resd 4                        ; EIP CS ESP SS
r1_cs:  resd 1
r1_ss:  resd 1
r1_esp: resd 1
r1_frame: resd 4
r0_cs:  resd 1
r0_ss:  resd 1
r0_esp: resd 1
r0_frame: resd 5                        ; EIP CS EFLAGS ESP SS
r1_back_esp: resd 1
r2_back_esp: resd 1
        section .text

test_main:
        SET_GDT_GATE SEL_G2, ring2_entry, SEL_R2CODE, GATE_CALL3
        SET_GDT_GATE SEL_G1, ring1_entry, SEL_R1CODE, 0xCC00         ; DPL 2
        SET_GATE VEC_R0, ring0_handler, 0xAE00                       ; DPL 1
        RING3_BEGIN
        call SEL_G2 | 3:0
.ret3:  mov esi, esp
        xor edx, edx
        mov dx, ss
        RING3_END
        CHECK "ring 2: CS", [r2_cs], SEL_R2CODE | 2
        CHECK "ring 2: SS = SS2", [r2_ss], SEL_R2DATA | 2
        CHECK "ring 2: ESP = ESP2 - 16", [r2_esp], STACK2_TOP - 16
        CHECK "ring 2 frame: EIP", [r2_frame + 0], .ret3
        CHECK "ring 2 frame: CS", [r2_frame + 4], SEL_UCODE3
        CHECK "ring 2 frame: ESP", [r2_frame + 8], STACK3_TOP
        CHECK "ring 2 frame: SS", [r2_frame + 12], SEL_UDATA3
        CHECK "ring 1: CS", [r1_cs], SEL_R1CODE | 1
        CHECK "ring 1: SS = SS1", [r1_ss], SEL_R1DATA | 1
        CHECK "ring 1: ESP = ESP1 - 16", [r1_esp], STACK1_TOP - 16
        CHECK "ring 1 frame: EIP", [r1_frame + 0], ring2_entry.ret2
        CHECK "ring 1 frame: CS", [r1_frame + 4], SEL_R2CODE | 2
        CHECK "ring 1 frame: ESP", [r1_frame + 8], STACK2_TOP - 16
        CHECK "ring 1 frame: SS", [r1_frame + 12], SEL_R2DATA | 2
        CHECK "ring 0: CS", [r0_cs], SEL_KCODE
        CHECK "ring 0: SS = SS0", [r0_ss], SEL_KDATA
        CHECK "ring 0: ESP = ESP0 - 20", [r0_esp], TSS_STACK0_TOP - 20
        CHECK "ring 0 frame: EIP", [r0_frame + 0], ring1_entry.ret1
        CHECK "ring 0 frame: CS", [r0_frame + 4], SEL_R1CODE | 1
        CHECK "ring 0 frame: ESP", [r0_frame + 12], STACK1_TOP - 16
        CHECK "ring 0 frame: SS", [r0_frame + 16], SEL_R1DATA | 1
        CHECK "ring 1 after IRET: ESP", [r1_back_esp], STACK1_TOP - 16
        CHECK "ring 2 after RETF: ESP", [r2_back_esp], STACK2_TOP - 16
        CHECK "ring 3 after RETF: ESP", [exc_esi], STACK3_TOP
        CHECK "ring 3 after RETF: SS", [exc_edx], SEL_UDATA3
        CHECK "ring 3 after RETF: CS", [exc_cs], SEL_UCODE3
        ret

; each level records CS, SS, ESP and the frame it was given (DS = 0x23 is usable everywhere)
%macro RECORD 3                         ; prefix, frame dwords
        xor eax, eax
        mov ax, cs
        mov [%1_cs], eax
        mov ax, ss
        mov [%1_ss], eax
        mov [%1_esp], esp
  %assign k 0
  %rep %2
        mov eax, [esp + k * 4]
        mov [%1_frame + k * 4], eax
    %assign k k + 1
  %endrep
%endmacro

ring2_entry:
        RECORD r2, 4, 0
        call SEL_G1 | 2:0
.ret2:  mov [r2_back_esp], esp
        retf
ring1_entry:
        RECORD r1, 4, 0
        int VEC_R0
.ret1:  mov [r1_back_esp], esp
        retf
ring0_handler:
        RECORD r0, 5, 0
        iretd

%include "end.inc"
