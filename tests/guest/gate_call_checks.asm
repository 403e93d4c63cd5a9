; gate_call_checks: privilege and type checks of far CALL/JMP through call gates (SDM vol. 3,
; 5.8.4 "Accessing a Code Segment Through a Call Gate", table 5-1; CALL/JMP in vol. 2).
; Proves: #GP(gate selector) when the gate DPL < CPL or < RPL; #NP(gate selector) for a
; not-present gate; #GP(0) for a null target selector; #GP(target selector) for a target
; beyond the GDT, a data target, or a target of DPL > CPL; #NP(target) for a not-present
; target; JMP through a gate cannot change privilege (#GP(target) to a more privileged
; non-conforming segment) but may reach code of the same privilege; a gate to conforming
; code keeps the CPL and the stack.
%define TEST_NAME "gate_call_checks"
%include "guest.inc"

SEL_G_DPL0   equ 0x68                   ; gate DPL 0 -> KCODE
SEL_G_NP     equ 0x70                   ; gate not present
SEL_G_NULL   equ 0x78                   ; gate DPL 3 -> null selector
SEL_G_BEYOND equ 0x80                   ; gate DPL 3 -> 0x800
SEL_G_DATA   equ 0x88                   ; gate DPL 3 -> KDATA
SEL_G_TGTNP  equ 0x90                   ; gate DPL 3 -> not-present code
SEL_G_TO3    equ 0x98                   ; gate DPL 0 -> UCODE (DPL 3)
SEL_G_K3     equ 0xA0                   ; gate DPL 3 -> KCODE
SEL_G_U3     equ 0xA8                   ; gate DPL 3 -> UCODE
SEL_G_CONF   equ 0xB0                   ; gate DPL 3 -> conforming DPL 0 code
SEL_NPCODE   equ 0xB8
SEL_CONF0    equ 0xC0

test_main:
        SET_DESC SEL_NPCODE, 0, 0xFFFFF, ACC_CODE0 & 0x7F, 0xC
        SET_DESC SEL_CONF0, 0, 0xFFFFF, 0x9E, 0xC
        SET_GDT_GATE SEL_G_DPL0, target0, SEL_KCODE, GATE_CALL0
        SET_GDT_GATE SEL_G_NP, target0, SEL_KCODE, GATE_CALL3 & 0x7FFF
        SET_GDT_GATE SEL_G_NULL, target0, 0, GATE_CALL3
        SET_GDT_GATE SEL_G_BEYOND, target0, 0x800, GATE_CALL3
        SET_GDT_GATE SEL_G_DATA, target0, SEL_KDATA, GATE_CALL3
        SET_GDT_GATE SEL_G_TGTNP, target0, SEL_NPCODE, GATE_CALL3
        SET_GDT_GATE SEL_G_TO3, target0, SEL_UCODE, GATE_CALL0
        SET_GDT_GATE SEL_G_K3, target0, SEL_KCODE, GATE_CALL3
        SET_GDT_GATE SEL_G_U3, target3, SEL_UCODE, GATE_CALL3
        SET_GDT_GATE SEL_G_CONF, target_conf, SEL_CONF0, GATE_CALL3

        RING3_BEGIN
.a1:    call SEL_G_DPL0 | 3:0
        RING3_END
        CHECK_EXC "ring 3 CALL through a DPL 0 gate", 13, SEL_G_DPL0, .a1
        FAULT_BEGIN
.a2:    call SEL_G_DPL0 | 3:0           ; RPL 3 > gate DPL 0
        FAULT_END
        CHECK_EXC "ring 0 CALL through a DPL 0 gate with RPL 3", 13, SEL_G_DPL0, .a2
        FAULT_BEGIN
.a3:    call SEL_G_NP:0
        FAULT_END
        CHECK_EXC "CALL through a not-present gate", 11, SEL_G_NP, .a3
        FAULT_BEGIN
.a4:    call SEL_G_NULL:0
        FAULT_END
        CHECK_EXC "gate with a null target selector", 13, 0, .a4
        FAULT_BEGIN
.a5:    call SEL_G_BEYOND:0
        FAULT_END
        CHECK_EXC "gate target beyond the GDT", 13, 0x800, .a5
        FAULT_BEGIN
.a6:    call SEL_G_DATA:0
        FAULT_END
        CHECK_EXC "gate target a data segment", 13, SEL_KDATA, .a6
        FAULT_BEGIN
.a7:    call SEL_G_TGTNP:0
        FAULT_END
        CHECK_EXC "gate target not present", 11, SEL_NPCODE, .a7
        FAULT_BEGIN
.a8:    call SEL_G_TO3:0
        FAULT_END
        CHECK_EXC "ring 0 CALL through a gate to DPL 3 code", 13, SEL_UCODE, .a8
        RING3_BEGIN
.a9:    jmp SEL_G_K3 | 3:0
        RING3_END
        CHECK_EXC "ring 3 JMP through a gate to DPL 0 code", 13, SEL_KCODE, .a9

        RING3_BEGIN
        jmp SEL_G_U3 | 3:0              ; same privilege: allowed
        RING3_END
        CHECK "ring 3 JMP through a gate to DPL 3 code: no exception", [exc_vector], VEC_RING0
        CHECK "ring 3 JMP through a gate to DPL 3 code: reached the target", [exc_ebx], 0x7A3
        CHECK "ring 3 JMP through a gate: CS RPL 3", [exc_cs], SEL_UCODE3

        RING3_BEGIN
        mov esi, esp
        call SEL_G_CONF | 3:0
        RING3_END
        CHECK "ring 3 CALL through a gate to conforming DPL 0: no exception", [exc_vector], VEC_RING0
        CHECK "conforming target: CS = conforming selector with RPL 3", [exc_ebx], SEL_CONF0 | 3
        CHECK "conforming target: SS unchanged", [exc_ecx], SEL_UDATA3
        lea eax, [STACK3_TOP - 8]
        CHECK "conforming target: no stack switch (CS:EIP pushed on the ring 3 stack)", [exc_edx], eax
        ret

target0:
        jmp target0
target3:                                ; ring 3, reached with JMP: report and go back
        mov ebx, 0x7A3
        int VEC_RING0
target_conf:
        xor ebx, ebx
        mov bx, cs
        xor ecx, ecx
        mov cx, ss
        mov edx, esp
        int VEC_RING0

%include "end.inc"
