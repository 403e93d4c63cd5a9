; A 64 KiB firmware for the PC board (bt86 -M pc -bios pcreset.bin) that resets the machine
; the way the build selects, and checks on the next boot what the reset did:
;   -DCF9_HARD  port 0xCF9 = 06h (system reset)     -DCF9_SOFT  port 0xCF9 = 04h (CPU INIT)
;   -DKBC       8042 command FEh (pulse reset)      -DP92       port 0x92 bit 0 (fast INIT)
; The first boot leaves a marker in RAM and sets the 8259's mask to 5Ah. The second finds the
; marker (RAM is kept by every reset) and reads the mask back: a hard reset cleared it, an
; INIT left it. It reports on the debug console (0x402) and leaves through the exit port.
; With -DLOOP it resets on every boot: a reset loop bt86 must notice.
        bits 16
        org 0

DEBUGCON  equ 0x402
MARKER_AT equ 0x500
MARKER    equ 0x5352                    ; "RS"
MASK      equ 0x5A

start:
        cli
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7000
%ifndef LOOP
        cmp word [MARKER_AT], MARKER
        je second_boot
%endif
        mov word [MARKER_AT], MARKER
        mov al, MASK
        out 0x21, al
        mov si, msg_first
        call puts
%ifdef CF9_HARD
        mov al, 0x06
        mov dx, 0xCF9
        out dx, al
%elifdef CF9_SOFT
        mov al, 0x04
        mov dx, 0xCF9
        out dx, al
%elifdef KBC
.ibf:   in al, 0x64                     ; wait for the input buffer to be empty
        test al, 0x02
        jnz .ibf
        mov al, 0xFE
        out 0x64, al
%elifdef P92
        in al, 0x92
        and al, 0xFE                    ; the reset fires on the bit's rising edge
        out 0x92, al
        or al, 0x01
        out 0x92, al
%else
%error "choose a reset: -DCF9_HARD, -DCF9_SOFT, -DKBC or -DP92"
%endif
        mov cx, 1000                    ; the reset takes effect between instructions
.spin:  loop .spin
        mov si, msg_no_reset
        call puts
        mov al, 0x7F
        out 0xF4, al
        hlt

second_boot:
        mov word [MARKER_AT], 0
        in al, 0x21
%ifdef HARD
        cmp al, 0
%else
        cmp al, MASK
%endif
        jne .bad
        mov si, msg_pass
        call puts
        mov al, 0x10                    ; host status (0x10 << 1) | 1 = 33
        out 0xF4, al
        hlt
.bad:   mov si, msg_bad_mask
        call puts
        mov al, 0x7E
        out 0xF4, al
        hlt

puts:                                   ; CS:SI, zero-terminated
        mov dx, DEBUGCON
.next:  cs lodsb
        test al, al
        jz .done
        out dx, al
        jmp .next
.done:  ret

msg_first:    db "pcreset: first boot, resetting", 10, 0
msg_no_reset: db "pcreset: FAIL no reset happened", 10, 0
%ifdef HARD
msg_pass:     db "pcreset: PASS second boot, RAM kept, devices reset", 10, 0
msg_bad_mask: db "pcreset: FAIL the 8259 kept its mask across a hard reset", 10, 0
%else
msg_pass:     db "pcreset: PASS second boot, RAM kept, devices kept (INIT)", 10, 0
msg_bad_mask: db "pcreset: FAIL the 8259 lost its mask across an INIT", 10, 0
%endif

        times 0xFFF0 - ($ - $$) db 0xFF
        jmp 0xF000:start                ; reset vector, F000:FFF0
        times 0x10000 - ($ - $$) db 0xFF
