; hlt_wakeup.asm: a 64 KiB firmware image for the PC board (bt86 -M pc -bios) checking that
; an interrupt whose timer falls due in the same run-loop slice as a HLT wakes the CPU.
; Found booting Linux: a guest idle with no timer left and the last timer's interrupt raised
; as the slice ended was declared halted (bt86 exited) instead of taking the interrupt.
;
; Each round programs the PIT for a one-shot interrupt 838 ns away (mode 0, count 1), spins
; past that deadline with interrupts off, then does STI; HLT. The interrupt is pending by
; then and nothing else is armed, so a HLT must return at once into the IRQ 0 handler. After
; ROUNDS rounds with varying spin lengths it reports on COM1 and leaves through the exit port
; with 0x21 (host status 67). If the CPU is not woken, the run ends as "halted" (status 0).
        bits 16
        org 0                           ; mapped at F000:0000

ROUNDS  equ 40
FLAG    equ 0x500                       ; set by the IRQ 0 handler
COM1    equ 0x3F8

start:
        cli
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7000
        mov word [8 * 4], irq0          ; IRQ 0 at vector 8, as a BIOS sets the 8259
        mov word [8 * 4 + 2], 0xF000
        ; 8259 pair: ICW1 edge + ICW4, ICW2 vector base, ICW3 cascade on IR2, ICW4 8086
        mov al, 0x11
        out 0x20, al
        out 0xA0, al
        mov al, 0x08
        out 0x21, al
        mov al, 0x70
        out 0xA1, al
        mov al, 0x04
        out 0x21, al
        mov al, 0x02
        out 0xA1, al
        mov al, 0x01
        out 0x21, al
        out 0xA1, al
        mov al, 0xFE                    ; only IRQ 0
        out 0x21, al
        mov al, 0xFF
        out 0xA1, al

        xor bx, bx                      ; round
.round:
        mov byte [FLAG], 0
        mov al, 0x30                    ; channel 0, lobyte/hibyte, mode 0
        out 0x43, al
        mov al, 1
        out 0x40, al
        xor al, al
        out 0x40, al
        mov cx, bx                      ; spin 1000 + 37 * round LOOPs: past the deadline
        imul cx, cx, 37
        add cx, 1000
.spin:
        loop .spin
        sti
        hlt
        cli
        cmp byte [FLAG], 1
        jne fail
        inc bx
        cmp bx, ROUNDS
        jb .round

        mov si, msg_pass
        call puts
        mov al, 0x21
        out 0xF4, al
        hlt

fail:
        mov si, msg_fail
        call puts
        mov al, 0x22
        out 0xF4, al
        hlt

irq0:
        mov byte [FLAG], 1
        push ax
        mov al, 0x20                    ; EOI
        out 0x20, al
        pop ax
        iret

puts:                                   ; CS:SI, zero-terminated, on COM1 (polled)
        mov dx, COM1 + 5
.wait:
        in al, dx
        test al, 0x20
        jz .wait
        mov dx, COM1
        cs lodsb
        test al, al
        jz .done
        out dx, al
        jmp puts
.done:
        ret

msg_pass: db 'hlt_wakeup: PASS: every HLT woke for the pending IRQ 0', 13, 10, 0
msg_fail: db 'hlt_wakeup: FAIL: woke without the IRQ 0', 13, 10, 0

        times 0xFFF0 - ($ - $$) db 0xF4
reset:
        jmp 0xF000:start
        times 0x10000 - ($ - $$) db 0xF4
