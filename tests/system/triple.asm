; A 4 KiB real-mode ROM for bt86's reset tests. The first boot leaves a marker in RAM, says so
; on COM1 and triple-faults: with a zero-limit IVT, INT3 raises #GP, delivering #GP raises
; #DF, delivering #DF shuts the CPU down. A PC resets on shutdown with RAM kept, so the second
; boot finds the marker, prints PASS and leaves through the exit port.
; Built with -DLOOP it triple-faults on every boot: a reset loop bt86 must notice.
        bits 16
        org 0xF000                      ; the last 4 KiB below 1 MiB: F000:F000

COM1      equ 0x3F8
MARKER_AT equ 0x500
MARKER    equ 0x4B52                    ; "RK"

start:
        cli
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7000
        call uart_init
%ifndef LOOP
        cmp word [MARKER_AT], MARKER
        je second_boot
%endif
        mov word [MARKER_AT], MARKER
        mov al, 0x01
        out 0x80, al
        mov si, msg_first
        call puts
        lidt [cs:empty_ivt]
        int3
        mov si, msg_survived            ; only if the CPU did not shut down
        call puts
        hlt

second_boot:
        mov al, 0x02
        out 0x80, al
        mov si, msg_second
        call puts
        mov al, 0x10                    ; host status (0x10 << 1) | 1 = 33
        out 0xF4, al
        hlt

uart_init:
        mov dx, COM1 + 3
        mov al, 0x80
        out dx, al
        mov dx, COM1
        mov al, 12                      ; 9600 baud
        out dx, al
        inc dx
        xor al, al
        out dx, al
        mov dx, COM1 + 3
        mov al, 0x03
        out dx, al
        ret

puts:                                   ; CS:SI, zero-terminated
        mov dx, COM1 + 5
.wait:  in al, dx
        test al, 0x20                   ; THRE
        jz .wait
        cs lodsb
        test al, al
        jz .done
        mov dx, COM1
        out dx, al
        jmp puts
.done:  ret

msg_first:    db "triple: first boot, faulting", 10, 0
msg_second:   db "triple: PASS second boot found the marker", 10, 0
msg_survived: db "triple: FAIL the CPU did not shut down", 10, 0
empty_ivt:    dw 0
              dd 0

        times 0xFF0 - ($ - $$) db 0xFF
        jmp 0xF000:start                ; reset vector, F000:FFF0
        times 0x1000 - ($ - $$) db 0xFF
