; tr_blocks: code shapes a binary translator must get exactly right (SDM vol. 3, 8.1.3
; "Handling Self- and Cross-Modifying Code"; vol. 3, 6.5 "Exception classifications": faults
; are reported at the faulting instruction with the state before it).
; Proves: a store into the next instruction of the running straight-line code runs the stored
; instruction (P6 and later detect it without a jump); a loop that rewrites its own immediate
; sees each new value, also when called again; a store into the next page runs there; a fault
; in the middle of straight-line code reports the faulting EIP with every earlier instruction
; done and no later one; long straight-line code (enough to fill a small code cache) computes
; the same result on every call; on a board with an 8259 and 8254 (-M pc), timer interrupts
; arrive in a tight three-instruction loop at instruction boundaries inside it.
%define TEST_NAME "tr_blocks"
%include "guest.inc"

        absolute TEST_VARS
t4_mem:         resd 1
irq0_count:     resd 1
irq0_outside:   resd 1
        section .text

CODE    equ SCRATCH + 0x10000           ; generated code (RAM, executable: no paging here)
PAGE2   equ SCRATCH + 0x12000           ; the page after a page boundary
STRAIGHT    equ SCRATCH + 0x20000           ; long straight-line code
STRAIGHT_N  equ 3000                        ; ADD EAX, ECX instructions in it

; copy_code SRC, LEN to CODE and call it
%macro RUN_AT 3                         ; %1 dest, %2 source label, %3 end label
        mov esi, %2
        mov edi, %1
        mov ecx, %3 - %2
        cld
        rep movsb
        call %1
%endmacro

test_main:
        ; ---- 1. a store into the next instruction, no jump in between
        mov eax, 0
        RUN_AT CODE, t1, t1_end
        CHECK "store into the next instruction: the stored one runs", eax, 0x22

        ; ---- 2. a loop rewriting its own immediate, twice
        RUN_AT CODE, t2, t2_end
        CHECK "loop rewriting its own ADD immediate: 1+2+3+4+5", ebx, 15
        call CODE
        CHECK "called again: 6+7+8+9+10", ebx, 40

        ; ---- 3. a store into the next page, then falling through into it
        mov esi, t3a
        mov edi, PAGE2 - (t3a_end - t3a)
        mov ecx, t3a_end - t3a
        rep movsb
        mov esi, t3b
        mov edi, PAGE2
        mov ecx, t3b_end - t3b
        rep movsb
        mov eax, 0
        call PAGE2 - (t3a_end - t3a)
        CHECK "store into the next page, fall through into it", eax, 0x33
        call PAGE2 - (t3a_end - t3a)
        CHECK "again, the page already stored", eax, 0x33

        ; ---- 4. a fault in the middle of straight-line code
        mov esi, t4
        mov edi, CODE
        mov ecx, t4_end - t4
        rep movsb
        FAULT_BEGIN
        call CODE
        FAULT_END
        CHECK_EXC "#DE in mid-block", 0, 0, CODE + (t4_div - t4)
        CHECK "#DE in mid-block: EAX before it", [exc_eax], 3
        CHECK "#DE in mid-block: EBX before it", [exc_ebx], 2
        CHECK "#DE in mid-block: ESI after the store before it", [exc_esi], 0x5A5A
        CHECK "#DE in mid-block: the store before it done", [t4_mem], 0x1234
        CHECK "#DE in mid-block: EDI after it untouched", [exc_edi], 0xD1D1D1D1
        FAULT_BEGIN
        mov dword [t4_mem], 0
        call CODE
        FAULT_END
        CHECK_EXC "#DE in mid-block, second run", 0, 0, CODE + (t4_div - t4)
        CHECK "#DE second run: the store before it done", [t4_mem], 0x1234

        ; ---- 5. long straight-line code, called three times
        mov edi, STRAIGHT
        mov ecx, STRAIGHT_N
        mov ax, 0xC801                  ; add eax, ecx
        rep stosw
        mov byte [edi], 0xC3            ; ret
        mov ecx, 7
        xor eax, eax
        call STRAIGHT
        CHECK "long code, first call", eax, 7 * STRAIGHT_N
        xor eax, eax
        call STRAIGHT
        CHECK "long code, second call", eax, 7 * STRAIGHT_N
        mov ecx, 3
        xor eax, eax
        call STRAIGHT
        CHECK "long code, third call with another ECX", eax, 3 * STRAIGHT_N

        ; ---- 6. timer interrupts in a tight loop (the PC board only)
        mov al, 0xFE                    ; is there an 8259? (IRQ 0 unmasked, read back)
        out 0x21, al
        in al, 0x21
        cmp al, 0xFE
        je .pic
        COMMENT "no 8259 on this machine: the timer-interrupt checks are skipped (run with -M pc)"
        jmp .done
.pic:   SET_GATE 0x20, irq0_handler, 0x8E00
        mov dword [irq0_count], 0
        mov dword [irq0_outside], 0
        mov al, 0x34                    ; PIT channel 0, mode 2, binary, LSB then MSB
        out 0x43, al
        mov al, 100                     ; 1193182 / 100: every ~84 us
        out 0x40, al
        xor al, al
        out 0x40, al
        xor eax, eax
        mov ebx, 2000000                ; 6 M instructions: ~6 ms of virtual time
        sti
.loop:  add eax, 1
        cmp eax, ebx
        jne .loop
        cli
        CHECK "tight loop ran to its end", eax, 2000000
        mov al, 0xFF
        out 0x21, al
        mov eax, [irq0_count]
        cmp eax, 20
        PASS_IF ae, "timer interrupts arrived in the tight loop (at least 20)"
        CHECK "every interrupt arrived at an instruction boundary of the loop", [irq0_outside], 0
.done:
        ret

irq0_handler:
        push eax
        inc dword [irq0_count]
        mov eax, [esp + 4]              ; the interrupted EIP
        cmp eax, test_main.loop
        je .in
        cmp eax, test_main.loop + 3
        je .in
        cmp eax, test_main.loop + 5
        je .in
        cmp eax, test_main.loop + 7     ; just after the loop, before CLI
        je .in
        inc dword [irq0_outside]
.in:    mov al, 0x20
        out 0x20, al
        pop eax
        iret

; ---- code templates, copied to RAM before they run

t1:     mov byte [CODE + (t1_imm - t1)], 0x22
        db 0xB0                         ; mov al, imm8
t1_imm: db 0x11
        ret
t1_end:

t2:     mov ecx, 5
        xor ebx, ebx
t2_loop: db 0x83, 0xC3                   ; add ebx, imm8
t2_imm: db 1
        inc byte [CODE + (t2_imm - t2)]
        dec ecx
        jnz t2_loop
        ret
t2_end:

t3a:    mov byte [PAGE2 + (t3b_imm - t3b)], 0x33
        nop
        nop
t3a_end:                                ; the page boundary: falls through into t3b
t3b:    db 0xB0                         ; mov al, imm8
t3b_imm: db 0x44
        ret
t3b_end:

t4:     mov edi, 0xD1D1D1D1
        mov eax, 1
        mov ebx, 2
        add eax, ebx
        mov esi, 0x5A5A
        mov dword [t4_mem], 0x1234
        xor edx, edx
        mov ecx, 0
t4_div: div ecx                         ; #DE
        mov edi, 0                      ; never runs
        mov eax, 0
        ret
t4_end:

%include "end.inc"
