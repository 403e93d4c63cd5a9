; v86_basic: entering and leaving virtual-8086 mode (SDM vol. 3, 20.2 "Virtual-8086 Mode",
; 20.2.5 "Entering Virtual-8086 Mode", 20.3.1.1 "Handling an Interrupt or Exception Through a
; Protected-Mode Trap or Interrupt Gate"; IRET in vol. 2).
; Proves: IRET from ring 0 with VM=1 in the popped EFLAGS enters virtual-8086 mode and loads
; ES, DS, FS, GS, SS:ESP from the 9-dword frame as real-mode segments (base = selector * 16);
; 16-bit code runs there, 66h-prefixed 32-bit operations work, segment loads set base =
; value * 16; an interrupt through a DPL 3 gate to ring 0 pushes GS, FS, DS, ES, SS, ESP,
; EFLAGS (VM=1), CS, EIP on SS0:ESP0 and enters with DS/ES/FS/GS = 0; IRET from ring 0 with
; that frame returns to virtual-8086 mode; an offset beyond 0xFFFF raises #GP(0).
%define TEST_NAME "v86_basic"
%include "guest.inc"

VEC_BOUNCE equ 0x32                     ; DPL 3 gate whose handler IRETs straight back

test_main:
        SET_GATE VEC_BOUNCE, bounce, GATE_INT3
        V86_BEGIN EFL_IOPL3
        mov ax, ds
        mov [0x100], ax
        mov ax, es
        mov [0x102], ax
        mov ax, fs
        mov [0x104], ax
        mov ax, gs
        mov [0x106], ax
        mov ax, ss
        mov [0x108], ax
        mov [0x10A], sp
        mov ax, cs
        mov [0x10C], ax
        pushf
        pop word [0x10E]
        mov eax, 0x12345678
        mov [0x110], eax
        mov ax, 0x2100
        mov es, ax
        mov word [es:0x20], 0xBEEF
        push word 0x5A5A
        pop bx
        mov [0x114], bx
        int VEC_BOUNCE
        mov word [0x116], 0xB0B0        ; reached after the IRET back
        int VEC_RING0
.after_int:
        V86_END .exit1
        CHECK "v86: DS from the IRET frame", [SCRATCH + 0x100], (V86_DS << 16) | V86_DS
        CHECK "v86: FS and GS", [SCRATCH + 0x104], (V86_DS << 16) | V86_DS
        CHECKM "v86: SS", [SCRATCH + 0x108], 0xFFFF, V86_SS
        CHECKM "v86: SP", [SCRATCH + 0x10A], 0xFFFF, V86_SP
        CHECKM "v86: CS", [SCRATCH + 0x10C], 0xFFFF, 0xF000
        CHECKM "v86: PUSHF (IOPL 3) shows IOPL 3", [SCRATCH + 0x10E], EFL_IOPL, EFL_IOPL3
        CHECK "v86: 32-bit store with 66h prefix", [SCRATCH + 0x110], 0x12345678
        CHECK "v86: ES=2100 addresses linear 0x21000", [0x21020], 0xBEEF
        CHECKM "v86: PUSH/POP through SS", [SCRATCH + 0x114], 0xFFFF, 0x5A5A
        CHECKM "v86: continued after IRET from the ring-0 handler", [SCRATCH + 0x116], 0xFFFF, 0xB0B0
        CHECK "INT from v86: vector", [exc_vector], VEC_RING0
        CHECK "INT from v86: pushed EIP = after the INT", [exc_eip], ROMOFF(.after_int)
        CHECK "INT from v86: pushed CS", [exc_cs], 0xF000
        CHECKM "INT from v86: pushed EFLAGS has VM", [exc_eflags], EFL_VM, EFL_VM
        CHECK "INT from v86: pushed ESP", [exc_esp], V86_SP
        CHECK "INT from v86: pushed SS", [exc_ss], V86_SS
        CHECK "INT from v86: pushed ES", [exc_es], 0x2100
        CHECK "INT from v86: pushed DS", [exc_ds], V86_DS
        CHECK "INT from v86: pushed FS", [exc_fs], V86_DS
        CHECK "INT from v86: pushed GS", [exc_gs], V86_DS
        CHECK "INT from v86: 9-dword frame at ESP0 - 36", [exc_frame], TSS_STACK0_TOP - 36
        CHECK "INT from v86: handler SS = SS0", [exc_hss], SEL_KDATA
        CHECK "INT from v86: handler DS = 0", [exc_hds], 0
        CHECK "INT from v86: handler ES = 0", [exc_hes], 0
        CHECK "INT from v86: handler FS = 0", [exc_hfs], 0
        CHECK "INT from v86: handler GS = 0", [exc_hgs], 0
        CHECKM "INT from v86: handler runs with VM clear", [exc_hflags], EFL_VM, 0

        V86_BEGIN EFL_IOPL3
        mov ebx, 0x10000
.big:   mov ax, [ebx]
        V86_END .exit2
        CHECK_EXC "v86: offset 0x10000 (beyond the 64 KiB limit)", 13, 0, ROMOFF(.big)
        CHECK "v86: #GP pushed CS", [exc_cs], 0xF000

        V86_BEGIN 0
        nop
        V86_END .exit3
        CHECK_EXC "v86: HLT", 13, 0, ROMOFF(.exit3)
        ret

bounce:
        iretd

%include "end.inc"
