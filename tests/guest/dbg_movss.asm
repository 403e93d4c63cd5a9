; dbg_movss: the MOV SS / POP SS shadow (SDM vol. 3, 6.8.3 "Masking Exceptions and Interrupts
; When Switching Stacks", 17.3.1.4; MOV and POP in vol. 2).
; Proves: with TF=1 no single-step trap comes between MOV SS (or POP SS) and the next
; instruction: one trap arrives after that instruction; a data breakpoint hit by MOV SS from
; memory is likewise held until after the next instruction; STI does not hold a single-step
; trap back.
%define TEST_NAME "dbg_movss"
%include "guest.inc"

        absolute TEST_VARS
n_steps:        resd 1
step_eip:       resd 16
stop_at:        resd 1
ss_value:       resd 1
        section .text

test_main:
        SET_GATE 1, step_rec, GATE_INT0
        xor eax, eax
        mov dr6, eax
        mov ax, SEL_KDATA

        mov dword [n_steps], 0
        mov dword [stop_at], .stop1
        pushfd
        or dword [esp], EFL_TF
        popfd
.m0:    nop
.m1:    mov ss, ax
.m2:    nop
.stop1:
        CHECK "MOV SS: traps", [n_steps], 2
        CHECK "MOV SS: first trap after the NOP before it", [step_eip + 0], .m1
        CHECK "MOV SS: next trap only after the instruction following MOV SS", [step_eip + 4], .stop1

        mov dword [n_steps], 0
        mov dword [stop_at], .stop2
        push dword SEL_KDATA
        pushfd
        or dword [esp], EFL_TF
        popfd
.p0:    pop ss
.p1:    nop
.stop2:
        CHECK "POP SS: one trap", [n_steps], 1
        CHECK "POP SS: trap after the instruction following POP SS", [step_eip + 0], .stop2

        mov dword [n_steps], 0
        mov dword [stop_at], .stop3
        pushfd
        or dword [esp], EFL_TF
        popfd
.s0:    sti
.s1:    cli
.stop3:
        CHECK "STI: traps (STI does not hold the trap)", [n_steps], 2
        CHECK "STI: first trap right after STI", [step_eip + 0], .s1
        SET_GATE 1, exc_stubs + 1 * STUB_SIZE, GATE_INT0

        ; data breakpoint on MOV SS, [mem]
        mov dword [ss_value], SEL_KDATA
        mov eax, ss_value
        mov dr0, eax
        mov eax, 1 | (3 << 16) | (1 << 18)      ; L0, read/write, 2 bytes
        mov dr7, eax
        xor eax, eax
        mov dr6, eax
        FAULT_BEGIN
        mov ss, [ss_value]
        mov ebx, 0x55
.after: nop
        FAULT_END
        xor eax, eax
        mov dr7, eax
        CHECK_EXC "data breakpoint on MOV SS: delivered after the next instruction", 1, 0, .after
        CHECK "data breakpoint on MOV SS: the next instruction ran", [exc_ebx], 0x55
        CHECKM "data breakpoint on MOV SS: DR6.B0", [exc_dr6], 1, 1
        ret

step_rec:
        push eax
        push ebx
        mov ebx, [n_steps]
        cmp ebx, 16
        jae .full
        mov eax, [esp + 8]
        mov [step_eip + ebx * 4], eax
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
