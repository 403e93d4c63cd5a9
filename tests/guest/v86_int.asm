; v86_int: interrupts and exceptions from virtual-8086 mode (SDM vol. 3, 20.3 "Interrupt and
; Exception Handling in Virtual-8086 Mode", 20.3.1.1; INT n pseudocode in vol. 2).
; Proves: with IOPL 3, INT n goes through the protected-mode IDT (not the real-mode IVT) to a
; ring-0 handler with the 9-dword frame (EIP after the INT); a gate of DPL < 3 gives
; #GP(vector * 8 + 2); a gate to code of DPL != 0 gives #GP(code selector); processor
; exceptions (#DE, #UD, #BR) arrive at ring 0 with VM set and EIP = the faulting instruction,
; and INT3/INTO are delivered through DPL 3 gates like INT n; a ring-0 handler can IRET back
; and the virtual-8086 code continues with its registers.
%define TEST_NAME "v86_int"
%include "guest.inc"

VEC_BACK  equ 0x32                      ; DPL 3 gate, handler counts and IRETs back
VEC_DPL0  equ 0x33                      ; DPL 0 gate
VEC_R3    equ 0x34                      ; DPL 3 gate to ring-3 code

        absolute TEST_VARS
back_count:     resd 1
back_eax:       resd 1
        section .text

test_main:
        SET_GATE VEC_BACK, back, GATE_INT3
        SET_GATE VEC_DPL0, back, GATE_INT0
        SET_GATE VEC_R3, back, GATE_INT3, SEL_UCODE
        ; a real-mode IVT entry for VEC_RING0 that must not be used
        mov dword [VEC_RING0 * 4], 0xF000DEAD

        V86_BEGIN EFL_IOPL3
        mov eax, 0x1234
        int VEC_BACK
        mov [0x300], eax
        int VEC_BACK
        int VEC_RING0
.a1:
        V86_END .e1
        CHECK "INT n from v86 used the IDT: handler ran twice", [back_count], 2
        CHECK "handler saw v86 EAX", [back_eax], 0x1234
        CHECK "v86 resumed after IRET with EAX", [SCRATCH + 0x300], 0x1234
        CHECK_EXC "last INT from v86", VEC_RING0, 0, ROMOFF(.a1)
        CHECKM "last INT from v86: VM in pushed EFLAGS", [exc_eflags], EFL_VM, EFL_VM

        V86_BEGIN EFL_IOPL3
.i2:    int VEC_DPL0
        V86_END .e2
        CHECK_EXC "INT n from v86 to a DPL 0 gate", 13, VEC_DPL0 * 8 + 2, ROMOFF(.i2)
        V86_BEGIN EFL_IOPL3
.i3:    int VEC_R3
        V86_END .e3
        CHECK_EXC "INT n from v86 to a gate naming DPL 3 code", 13, SEL_UCODE, ROMOFF(.i3)

        V86_BEGIN EFL_IOPL3
        xor dx, dx
        mov ax, 1
        xor cx, cx
.i4:    div cx
        V86_END .e4
        CHECK_EXC "#DE in v86", 0, 0, ROMOFF(.i4)
        CHECKM "#DE in v86: VM in pushed EFLAGS", [exc_eflags], EFL_VM, EFL_VM
        CHECK "#DE in v86: pushed SS", [exc_ss], V86_SS
        V86_BEGIN 0
.i5:    ud2
        V86_END .e5
        CHECK_EXC "#UD in v86 (IOPL 0: exceptions are not IOPL-sensitive)", 6, 0, ROMOFF(.i5)
        mov dword [SCRATCH + 0x310], 0x00200010
        V86_BEGIN 0
        mov ax, 5
.i6:    bound ax, [0x310]
        V86_END .e6
        CHECK_EXC "#BR in v86", 5, 0, ROMOFF(.i6)

        or byte [IDT_BASE + 3 * 8 + 5], 0x60
        V86_BEGIN EFL_IOPL3
        int3
.a7:
        V86_END .e7
        CHECK_EXC "INT3 from v86 through a DPL 3 gate", 3, 0, ROMOFF(.a7)
        and byte [IDT_BASE + 3 * 8 + 5], 0x9F
        V86_BEGIN EFL_IOPL3
.i8:    int3
        V86_END .e8
        CHECK_EXC "INT3 from v86 through a DPL 0 gate", 13, 3 * 8 + 2, ROMOFF(.i8)
        ret

back:
        inc dword [ss:back_count]       ; DS is 0 here (entered from v86)
        mov [ss:back_eax], eax
        iretd

%include "end.inc"
