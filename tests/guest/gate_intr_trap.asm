; gate_intr_trap: interrupt gates vs trap gates, 32- and 16-bit gates, same privilege (SDM vol.
; 3, 6.12.1 "Exception- or Interrupt-Handler Procedures", 6.12.1.3 "Flag Usage by Exception- or
; Interrupt-Handler Procedure"; IRET in vol. 2).
; Proves: INT n through a 32-bit interrupt gate pushes EFLAGS, CS, EIP of the next instruction
; (12 bytes, no stack switch at CPL 0) and enters with IF=0; through a trap gate IF is kept;
; both clear NT and keep DF; IRET restores EFLAGS (IF=1 again, NT back); a 16-bit interrupt
; gate pushes FLAGS, CS, IP as words (6 bytes) and returns with a 16-bit IRET.
%define TEST_NAME "gate_intr_trap"
%include "guest.inc"

SEL_CODE16B equ 0x68                    ; code, base F0000, limit FFFF, 32-bit
ATTR_INT16  equ 0x8600                  ; 16-bit interrupt gate, DPL 0

        absolute TEST_VARS
hv_flags:       resd 1                  ; EFLAGS inside the handler
hv_eip:         resd 1
hv_cs:          resd 1
hv_eflags:      resd 1                  ; pushed EFLAGS
hv_esp:         resd 1                  ; ESP at handler entry
hv_count:       resd 1
after_flags:    resd 1
        section .text

test_main:
        SET_GATE 0x40, handler32, GATE_INT0
        SET_GATE 0x41, handler32, GATE_TRAP0
        SET_DESC SEL_CODE16B, ROM_BASE, 0xFFFF, ACC_CODE0, 0x4
        SET_GATE 0x42, ROMOFF(handler16), ATTR_INT16, SEL_CODE16B

        ; interrupt gate
        sti
        mov ebx, esp
.i40:   int 0x40
.a40:   pushfd
        pop dword [after_flags]
        cli
        CHECK "interrupt gate: handler ran once", [hv_count], 1
        CHECKM "interrupt gate: IF clear in the handler", [hv_flags], EFL_IF, 0
        CHECKM "interrupt gate: pushed EFLAGS has IF", [hv_eflags], EFL_IF, EFL_IF
        CHECK "interrupt gate: pushed EIP = next instruction", [hv_eip], .a40
        CHECK "interrupt gate: pushed CS", [hv_cs], SEL_KCODE
        lea eax, [ebx - 12]
        CHECK "interrupt gate: 12-byte frame on the same stack", [hv_esp], eax
        CHECKM "after IRET: IF set again", [after_flags], EFL_IF, EFL_IF

        ; trap gate
        sti
        int 0x41
        cli
        CHECKM "trap gate: IF still set in the handler", [hv_flags], EFL_IF, EFL_IF

        ; NT and DF
        pushfd
        or dword [esp], EFL_NT
        popfd
        std
        int 0x40
        pushfd
        pop dword [after_flags]
        cld
        pushfd
        and dword [esp], ~EFL_NT
        popfd
        CHECKM "gate clears NT in the handler", [hv_flags], EFL_NT, 0
        CHECKM "pushed EFLAGS keeps NT", [hv_eflags], EFL_NT, EFL_NT
        CHECKM "gate keeps DF", [hv_flags], EFL_DF, EFL_DF
        CHECKM "after IRET: NT restored", [after_flags], EFL_NT, EFL_NT

        ; 16-bit interrupt gate, from code in a segment based at F0000 (so IP fits 16 bits)
        mov dword [hv_count], 0
        jmp SEL_CODE16B:ROMOFF(.in16)
.in16:  mov ebx, esp
        int 0x42
.a16:   jmp SEL_KCODE:.back16
.back16:
        CHECK "16-bit gate: handler ran once", [hv_count], 1
        CHECK "16-bit gate: pushed IP (word)", [hv_eip], ROMOFF(.a16)
        CHECK "16-bit gate: pushed CS (word)", [hv_cs], SEL_CODE16B
        CHECKM "16-bit gate: pushed FLAGS (word, bit 1 set)", [hv_eflags], 0xFFFF0002, 0x00000002
        lea eax, [ebx - 6]
        CHECK "16-bit gate: 6-byte frame", [hv_esp], eax
        ret

handler32:
        push eax
        pushfd
        pop dword [hv_flags]
        mov eax, [esp + 4]
        mov [hv_eip], eax
        mov eax, [esp + 8]
        mov [hv_cs], eax
        mov eax, [esp + 12]
        mov [hv_eflags], eax
        lea eax, [esp + 4]
        mov [hv_esp], eax
        inc dword [hv_count]
        pop eax
        iretd

handler16:                              ; runs in SEL_CODE16B: only relative jumps here
        push eax
        movzx eax, word [esp + 4]
        mov [hv_eip], eax
        movzx eax, word [esp + 6]
        mov [hv_cs], eax
        movzx eax, word [esp + 8]
        mov [hv_eflags], eax
        lea eax, [esp + 4]
        mov [hv_esp], eax
        inc dword [hv_count]
        pop eax
        o16 iret

%include "end.inc"
