; gate_int_dpl: privilege checks of software interrupts (SDM vol. 3, 6.12.1.1 "Protection of
; Exception- and Interrupt-Handler Procedures"; INT n/INTO/INT3/INT1 in vol. 2).
; Proves: from ring 3, INT n, INT3 (CC), INT 3 (CD 03) and INTO through a DPL 0 gate raise
; #GP(vector * 8 + 2) at the instruction; through DPL 3 gates they are delivered as traps
; (pushed EIP = next instruction) with the ring-3 SS:ESP pushed; processor exceptions (#DE) and
; INT1/ICEBP (F1) ignore the gate DPL.
%define TEST_NAME "gate_int_dpl"
%include "guest.inc"

test_main:
        RING3_BEGIN
.r1:    int 0x40
        RING3_END
        CHECK_EXC "ring 3 INT 0x40, DPL 0 gate", 13, 0x40 * 8 + 2, .r1
        CHECK "ring 3 INT 0x40: faulting CS", [exc_cs], SEL_UCODE3

        RING3_BEGIN
.r2:    int3
        RING3_END
        CHECK_EXC "ring 3 INT3 (CC), DPL 0 gate", 13, 3 * 8 + 2, .r2
        RING3_BEGIN
.r3:    int 3
        RING3_END
        CHECK_EXC "ring 3 INT 3 (CD 03), DPL 0 gate", 13, 3 * 8 + 2, .r3
        RING3_BEGIN
        mov al, 0x7F
        add al, 1                       ; OF=1
.r4:    into
        RING3_END
        CHECK_EXC "ring 3 INTO with OF=1, DPL 0 gate", 13, 4 * 8 + 2, .r4

        RING3_BEGIN
        xor edx, edx
        xor eax, eax
        xor ecx, ecx
.r5:    div ecx
        RING3_END
        CHECK_EXC "ring 3 #DE through a DPL 0 gate (no DPL check)", 0, 0, .r5
        RING3_BEGIN
        db 0xF1                         ; INT1 / ICEBP
.a6:
        RING3_END
        CHECK_EXC "ring 3 INT1 (F1) through a DPL 0 gate (no DPL check)", 1, 0, .a6

        ; DPL 3 gates
        or byte [IDT_BASE + 3 * 8 + 5], 0x60
        or byte [IDT_BASE + 4 * 8 + 5], 0x60
        RING3_BEGIN
        int VEC_SPARE
.a7:
        RING3_END
        CHECK_EXC "ring 3 INT 0x31, DPL 3 gate", VEC_SPARE, 0, .a7
        CHECK "ring 3 INT 0x31: pushed CS", [exc_cs], SEL_UCODE3
        CHECK "ring 3 INT 0x31: pushed SS", [exc_ss], SEL_UDATA3
        CHECK "ring 3 INT 0x31: pushed ESP", [exc_esp], STACK3_TOP
        RING3_BEGIN
        int3
.a8:
        RING3_END
        CHECK_EXC "ring 3 INT3, DPL 3 gate", 3, 0, .a8
        RING3_BEGIN
        mov al, 0x7F
        add al, 1
        into
.a9:
        RING3_END
        CHECK_EXC "ring 3 INTO with OF=1, DPL 3 gate", 4, 0, .a9
        RING3_BEGIN
        mov al, 1
        add al, 1                       ; OF=0: INTO does nothing
        into
        RING3_END
        CHECK "ring 3 INTO with OF=0: no interrupt", [exc_vector], VEC_RING0

        ; ring 0 may use the DPL 0 gate
        FAULT_BEGIN
        int 0x40
.a10:
        FAULT_END
        CHECK_EXC "ring 0 INT 0x40, DPL 0 gate", 0x40, 0, .a10
        ret

%include "end.inc"
