; bt86 demo firmware: a 64 KiB real-mode ROM. It greets on the debug console (port 0x402),
; counts the primes below 1000 with a sieve in RAM, prints the count, and halts.
; The count (168) is a fact of arithmetic, so a system test can check the CPU with it.
        bits 16
        org 0                           ; mapped at F000:0000 (physical F0000-FFFFF)

DEBUGCON equ 0x402
SIEVE    equ 0x1000                     ; sieve bytes at 0000:1000
LIMIT    equ 1000

start:
        cli
        cld
        xor ax, ax
        mov ss, ax
        mov sp, 0x7C00
        mov ds, ax
        mov es, ax
        mov si, banner
        call print_cs

        ; mark every number as prime, then cross out multiples
        mov di, SIEVE
        mov cx, LIMIT
        mov al, 1
        rep stosb
        mov byte [SIEVE + 0], 0
        mov byte [SIEVE + 1], 0
        mov bx, 2
.outer: mov ax, bx
        mul bx                          ; dx:ax = bx*bx
        cmp ax, LIMIT
        jae .count
        cmp byte [SIEVE + bx], 0
        je .next
        mov di, ax
.cross: mov byte [SIEVE + di], 0
        add di, bx
        cmp di, LIMIT
        jb .cross
.next:  inc bx
        jmp .outer

.count: xor dx, dx
        mov si, SIEVE
        mov cx, LIMIT
.cnt:   lodsb
        add dl, al
        adc dh, 0
        loop .cnt

        mov si, result
        call print_cs
        mov ax, dx
        call print_dec
        mov si, done
        call print_cs
        hlt                             ; IF is clear: nothing wakes the CPU, bt86 exits
        jmp $

; print the zero-terminated string at CS:SI
print_cs:
        push ax
        push dx
        mov dx, DEBUGCON
.loop:  mov al, [cs:si]
        test al, al
        jz .out
        out dx, al
        inc si
        jmp .loop
.out:   pop dx
        pop ax
        ret

; print AX in decimal
print_dec:
        push ax
        push bx
        push cx
        push dx
        mov bx, 10
        xor cx, cx
.div:   xor dx, dx
        div bx
        push dx
        inc cx
        test ax, ax
        jnz .div
        mov dx, DEBUGCON
.emit:  pop ax
        add al, '0'
        out dx, al
        loop .emit
        pop dx
        pop cx
        pop bx
        pop ax
        ret

banner: db "bt86 demo firmware: real mode up", 10, 0
result: db "primes below 1000: ", 0
done:   db 10, "halting", 10, 0

        times 0xFFF0 - ($ - $$) db 0xFF
reset:  jmp 0xF000:start               ; the reset vector, F000:FFF0
        times 0x10000 - ($ - $$) db 0xFF
