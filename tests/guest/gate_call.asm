; gate_call: call gates with parameter copy and RETF back (SDM vol. 3, 5.8.3 "Call Gates",
; 5.8.5 "Stack Switching", 5.8.6 "Returning from a Called Procedure"; CALL and RET in vol. 2).
; Proves: ring 3 CALL through a DPL 3 call gate (count 3) enters ring 0 on SS0:ESP0 with the
; frame [EIP, CS, param x3, ESP, SS] (parameters in the caller's order), CS = gate target,
; the gate's offset used and the CALL's ignored; RETF 12 returns to ring 3, pops the
; parameters from both stacks, restores SS:ESP, and nulls a data segment register of DPL < 3
; while keeping DPL 3 ones; a call gate to the same privilege pushes only CS:EIP and copies no
; parameters.
%define TEST_NAME "gate_call"
%include "guest.inc"

SEL_CG3 equ 0x68                        ; 32-bit call gate, DPL 3, 3 parameters -> ring 0
SEL_CG0 equ 0x70                        ; 32-bit call gate, DPL 0, 2 parameters -> ring 0

        absolute TEST_VARS
v_frame:        resd 7                  ; EIP, CS, p1, p2, p3, ESP, SS as found on the new stack
v_esp:          resd 1
v_ss:           resd 1
v_cs:           resd 1
        section .text

test_main:
        SET_GDT_GATE SEL_CG3, cg_target, SEL_KCODE, GATE_CALL3 | 3
        SET_GDT_GATE SEL_CG0, cg_same, SEL_KCODE, GATE_CALL0 | 2

        RING3_BEGIN
        mov ax, SEL_UDATA3
        mov fs, ax
        push dword 0x11111111
        push dword 0x22222222
        push dword 0x33333333
        call SEL_CG3 | 3:0x12345678      ; the offset is not used
.ret3:  mov esi, esp
        xor ebx, ebx
        mov bx, es
        xor ecx, ecx
        mov cx, fs
        xor edx, edx
        mov dx, ss
        RING3_END
        CHECK "ring 0 side: return EIP", [v_frame + 0], .ret3
        CHECK "ring 0 side: return CS", [v_frame + 4], SEL_UCODE3
        CHECK "ring 0 side: parameter at [ESP+8] (pushed last)", [v_frame + 8], 0x33333333
        CHECK "ring 0 side: parameter at [ESP+12]", [v_frame + 12], 0x22222222
        CHECK "ring 0 side: parameter at [ESP+16] (pushed first)", [v_frame + 16], 0x11111111
        CHECK "ring 0 side: caller ESP (after its pushes)", [v_frame + 20], STACK3_TOP - 12
        CHECK "ring 0 side: caller SS", [v_frame + 24], SEL_UDATA3
        CHECK "ring 0 side: ESP = ESP0 - 28", [v_esp], TSS_STACK0_TOP - 28
        CHECK "ring 0 side: SS = SS0", [v_ss], SEL_KDATA
        CHECK "ring 0 side: CS = the gate's target", [v_cs], SEL_KCODE
        CHECK "after RETF 12: back in ring 3 (INT 0x30 from there)", [exc_cs], SEL_UCODE3
        CHECK "after RETF 12: ESP = caller ESP + 12", [exc_esi], STACK3_TOP
        CHECK "after RETF 12: SS", [exc_edx], SEL_UDATA3
        CHECK "after RETF 12: ES (DPL 0 data) nulled", [exc_ebx], 0
        CHECK "after RETF 12: FS (DPL 3 data) kept", [exc_ecx], SEL_UDATA3

        ; same privilege
        mov ebx, esp
        push dword 0xAAAA
        push dword 0xBBBB
        call SEL_CG0:0
.ret0:  add esp, 8
        CHECK "same-privilege gate: return EIP", [v_frame + 0], .ret0
        CHECK "same-privilege gate: return CS", [v_frame + 4], SEL_KCODE
        CHECK "same-privilege gate: the caller's data right above (no copy)", [v_frame + 8], 0xBBBB
        lea eax, [ebx - 16]
        CHECK "same-privilege gate: no stack switch, CS:EIP pushed only", [v_esp], eax
        ret

cg_target:                              ; ring 0, entered from ring 3; DS is still 0x23
        push eax
        push ecx
        push esi
        lea esi, [esp + 12]
        mov ecx, 0
.copy:  mov eax, [esi + ecx * 4]
        mov [v_frame + ecx * 4], eax
        inc ecx
        cmp ecx, 7
        jb .copy
        mov [v_esp], esi
        xor eax, eax
        mov ax, ss
        mov [v_ss], eax
        mov ax, cs
        mov [v_cs], eax
        mov ax, SEL_KDATA               ; must not survive the return to ring 3
        mov es, ax
        pop esi
        pop ecx
        pop eax
        retf 12

cg_same:
        push eax
        mov eax, [esp + 4]
        mov [v_frame + 0], eax
        mov eax, [esp + 8]
        mov [v_frame + 4], eax
        mov eax, [esp + 12]
        mov [v_frame + 8], eax
        lea eax, [esp + 4]
        mov [v_esp], eax
        pop eax
        retf

%include "end.inc"
