; dbg_step: single-step traps (SDM vol. 3, 17.3.1.4 "Single-Step Exception Condition", 2.3
; EFLAGS.TF).
; Proves: with TF=1 a #DB trap follows every instruction (EIP = the next instruction or a
; branch target, DR6.BS set); when POPF or IRET sets TF the first trap comes after the
; instruction that follows; the instruction that clears TF (POPF) is still followed by a trap;
; the handler runs with TF clear (one trap per instruction, none inside the handler); a
; faulting instruction is not followed by a single-step trap.
%define TEST_NAME "dbg_step"
%include "guest.inc"

        absolute TEST_VARS
n_steps:        resd 1
step_eip:       resd 16
step_dr6:       resd 16
stop_at:        resd 1
        section .text

%macro STEP_AT 2                        ; name, index, expected EIP
        CHECK %1, [step_eip + (%2) * 4], %3
%endmacro

test_main:
        SET_GATE 1, step_rec, GATE_INT0
        xor eax, eax
        mov dr6, eax

        ; TF set by POPF
        mov dword [n_steps], 0
        mov dword [stop_at], .stop1
        pushfd
        or dword [esp], EFL_TF
        popfd
.i1:    nop
.i2:    mov eax, 1
.i3:    add eax, eax
.i4:    jmp .i6
        nop
.i6:    nop
.stop1:
        CHECK "POPF sets TF: traps taken (none after the POPF itself)", [n_steps], 5
        CHECK "step 1: after NOP", [step_eip + 0], .i2
        CHECK "step 2: after MOV", [step_eip + 4], .i3
        CHECK "step 3: after ADD", [step_eip + 8], .i4
        CHECK "step 4: JMP -> its target", [step_eip + 12], .i6
        CHECK "step 5: after NOP", [step_eip + 16], .stop1
        CHECKM "DR6.BS set", [step_dr6 + 0], 0x4000, 0x4000

        ; the POPF that clears TF is followed by a trap
        mov dword [n_steps], 0
        mov dword [stop_at], 0
        pushfd
        or dword [esp], EFL_TF
        popfd
        nop
        pushfd
        and dword [esp], ~EFL_TF
.clr:   popfd
.after_clr:
        nop
        CHECK "TF cleared by POPF: traps (NOP, PUSHFD, AND, POPF)", [n_steps], 4
        CHECK "last trap: after the clearing POPF", [step_eip + 12], .after_clr

        ; TF set by IRET
        mov dword [n_steps], 0
        mov dword [stop_at], .stop2
        pushfd
        or dword [esp], EFL_TF
        push cs
        push dword .j1
        iretd
.j1:    nop
.stop2:
        CHECK "IRET sets TF: one trap, after the next instruction", [n_steps], 1
        CHECK "IRET sets TF: trap EIP", [step_eip], .stop2

        ; a faulting instruction: #UD, no single-step trap for it
        mov dword [n_steps], 0
        mov dword [stop_at], 0
        FAULT_BEGIN
        pushfd
        or dword [esp], EFL_TF
        popfd
        nop
.ud:    ud2
        FAULT_END
        CHECK "faulting instruction: #UD delivered", [exc_vector], 6
        CHECK "faulting instruction: only the NOP trapped", [n_steps], 1
        SET_GATE 1, exc_stubs + 1 * STUB_SIZE, GATE_INT0
        ret

; #DB handler: record EIP and DR6, clear DR6; clear TF when EIP reaches stop_at
step_rec:
        push eax
        push ebx
        mov ebx, [n_steps]
        cmp ebx, 16
        jae .full
        mov eax, [esp + 8]
        mov [step_eip + ebx * 4], eax
        mov eax, dr6
        mov [step_dr6 + ebx * 4], eax
        inc dword [n_steps]
.full:  xor eax, eax
        mov dr6, eax
        mov eax, [esp + 8]
        cmp eax, [stop_at]
        jne .out
        and dword [esp + 16], ~EFL_TF
.out:   pop ebx
        pop eax
        iretd

%include "end.inc"
