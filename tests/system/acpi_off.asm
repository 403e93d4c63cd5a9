; A floppy boot sector that checks the ACPI tables SeaBIOS installed from bt86's fw_cfg files
; the way an OS reads them, then leaves the machine through ACPI:
;   RSDP (found in E0000-FFFFF) -> RSDT -> FACP -> FACS (64-byte aligned) and DSDT, every
;   signature and checksum; \_S5's SLP_TYPa from the DSDT's AML; the PM timer counts;
;   the ACPI_ENABLE handshake on SMI_CMD sets SCI_EN; then SLP_TYPa | SLP_EN to PM1a_CNT.
; With -DRESET it writes the FADT's reset value to its reset register instead.
; Progress goes to the debug console (port 0x402); a failure prints "ACPI FAIL <letter>" and
; ends the run through port 0xF4 (exit status 2 * 0x41.. + 1, odd).
bits 16
org 0x7C00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    in al, 0x92               ; the tables lie high in RAM: A20 on
    or al, 2
    out 0x92, al
    lgdt [gdt_desc]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp 0x08:pm32

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7C00

    mov esi, 0xE0000          ; the RSDP: on a 16-byte boundary, checksum over 20 bytes
.scan:
    cmp dword [esi], 'RSD '
    jne .next
    cmp dword [esi + 4], 'PTR '
    jne .next
    mov ecx, 20
    call sum
    test al, al
    jz .rsdp
.next:
    add esi, 16
    cmp esi, 0x100000
    jb .scan
    mov bl, 'P'
    jmp fail
.rsdp:
    mov esi, [esi + 16]
    mov eax, 'RSDT'
    mov bl, 'T'
    call table
    mov ecx, [esi + 4]
    sub ecx, 36
    shr ecx, 2
    lea edi, [esi + 36]
    mov bl, 'F'
.entry:
    test ecx, ecx
    jz fail
    mov esi, [edi]
    cmp dword [esi], 'FACP'
    je .facp
    add edi, 4
    dec ecx
    jmp .entry
.facp:
    mov eax, 'FACP'
    call table
    mov ebp, esi
    mov esi, [ebp + 36]       ; FIRMWARE_CTRL
    mov bl, 'S'
    cmp dword [esi], 'FACS'
    jne fail
    test esi, 63
    jnz fail
    mov esi, [ebp + 40]       ; DSDT
    mov eax, 'DSDT'
    mov bl, 'D'
    call table

    mov ecx, [esi + 4]        ; Name(\_S5_, Package(n) { SLP_TYPa, ... })
    sub ecx, 8
    mov bl, '5'
.s5:
    cmp dword [esi], '_S5_'
    jne .s5_next
    cmp byte [esi + 4], 0x12  ; PackageOp
    jne .s5_next
    test byte [esi + 5], 0xC0 ; a one-byte PkgLength
    jnz fail
    movzx eax, byte [esi + 7] ; the first element: Zero, One or BytePrefix n
    cmp al, 0x0A
    jne .s5_small
    movzx eax, byte [esi + 8]
    jmp .s5_got
.s5_small:
    cmp al, 1
    ja fail
.s5_got:
    mov [slp_typ], eax
    jmp .timer
.s5_next:
    inc esi
    loop .s5
    jmp fail

.timer:
    mov edx, [ebp + 76]       ; PM_TMR_BLK: the count moves on
    mov bl, 'M'
    test edx, edx
    jz fail
    in eax, dx
    mov edi, eax
    mov ecx, 2000000
.spin:
    in eax, dx
    cmp eax, edi
    jne .moved
    loop .spin
    jmp fail
.moved:
    mov edx, [ebp + 48]       ; SMI_CMD <- ACPI_ENABLE, then wait for SCI_EN
    mov al, [ebp + 52]
    mov bl, 'E'
    test edx, edx
    jz fail
    out dx, al
    mov edx, [ebp + 64]       ; PM1a_CNT_BLK
    mov ecx, 100000
.wait_sci:
    in ax, dx
    test al, 1
    jnz .acpi_mode
    loop .wait_sci
    jmp fail
.acpi_mode:
    mov esi, msg_ok
    call print
%ifdef RESET
    mov bl, 'X'
    test dword [ebp + 112], 1 << 10 ; RESET_REG_SUP
    jz fail
    cmp byte [ebp + 116], 1   ; in I/O space
    jne fail
    mov edx, [ebp + 120]
    mov al, [ebp + 128]
    out dx, al
%else
    mov edx, [ebp + 64]
    mov eax, [slp_typ]
    shl eax, 10
    or eax, 0x2000            ; SLP_EN
    out dx, ax
%endif
    mov ecx, 1000000          ; the machine should be gone by now
.linger:
    loop .linger
    mov bl, 'O'
    ; fall through

; Prints "ACPI FAIL <bl>" and exits with status (bl << 1) | 1.
fail:
    mov esi, msg_fail
    call print
    mov al, bl
    mov dx, 0x402
    out dx, al
    mov al, bl
    out 0xF4, al
.halt:
    hlt
    jmp .halt

; al = the 8-bit sum of ecx bytes at esi
sum:
    push esi
    push ecx
    xor eax, eax
.l:
    add al, [esi]
    inc esi
    loop .l
    pop ecx
    pop esi
    ret

; The table at esi has signature eax and sums to 0 over its length, else fail with bl.
table:
    cmp [esi], eax
    jne fail
    mov ecx, [esi + 4]
    call sum
    test al, al
    jnz fail
    ret

print:
    mov dx, 0x402
.c:
    lodsb
    test al, al
    jz .done
    out dx, al
    jmp .c
.done:
    ret

msg_ok: db "ACPI tables OK", 10, 0
msg_fail: db "ACPI FAIL ", 0
slp_typ: dd 0

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF     ; 0x08: flat 32-bit code
    dq 0x00CF92000000FFFF     ; 0x10: flat data
gdt_desc:
    dw gdt_desc - gdt - 1
    dd gdt

    times 510 - ($ - $$) db 0
    dw 0xAA55
    times 1474560 - ($ - $$) db 0 ; a whole 1.44 MB floppy
