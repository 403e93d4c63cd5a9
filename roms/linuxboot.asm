; linuxboot.asm: bt86's option ROM for `-kernel` on the PC (machine/linuxboot.h).
;
; bt86 hands SeaBIOS this ROM as the fw_cfg file "genroms/linuxboot.bin" and puts it first in
; "bootorder". SeaBIOS runs its init entry during POST (nothing to do) and, at boot, calls its
; PnP boot entry vector (BEV). There the ROM copies the Linux pieces bt86 prepared into RAM
; with fw_cfg DMA (real mode cannot reach 1 MiB otherwise), then enters the kernel's real-mode
; setup code as the boot protocol says: DS=ES=FS=GS=SS = the setup segment, CS = it + 0x20.
; If anything is missing it prints why and returns, so SeaBIOS tries the next boot device.
;
; bt86 fills in the PnP and whole-ROM checksums when it loads the file (linux_prepare_rom).

bits 16
org 0
cpu 686

FW_SEL      equ 0x510
FW_DATA     equ 0x511
FW_DMA_HI   equ 0x514
FW_DMA_LO   equ 0x518

KEY_ID            equ 0x01
KEY_KERNEL_ADDR   equ 0x07
KEY_KERNEL_SIZE   equ 0x08
KEY_INITRD_ADDR   equ 0x0A
KEY_INITRD_SIZE   equ 0x0B
KEY_KERNEL_DATA   equ 0x11
KEY_INITRD_DATA   equ 0x12
KEY_CMDLINE_ADDR  equ 0x13
KEY_CMDLINE_SIZE  equ 0x14
KEY_CMDLINE_DATA  equ 0x15
KEY_SETUP_ADDR    equ 0x16
KEY_SETUP_SIZE    equ 0x17
KEY_SETUP_DATA    equ 0x18

ROM_BLOCKS  equ 2                   ; 1 KiB

DMA_ERROR   equ 0x01
DMA_READ    equ 0x02
DMA_SELECT  equ 0x08
ID_DMA      equ 0x02

rom_start:
    db 0x55, 0xAA
    db ROM_BLOCKS
    jmp short init              ; offset 3: SeaBIOS calls this during POST
    times 0x18 - ($ - $$) db 0
    dw 0                        ; no PCI data structure
    dw pnp                      ; PnP expansion header

    align 16
pnp:
    db '$PnP'
    db 1                        ; structure revision
    db 2                        ; length: 32 bytes
    dw 0                        ; no next header
    db 0
    db 0                        ; checksum: filled in by bt86
    dd 0                        ; device id
    dw manufacturer
    dw product
    db 0, 0, 0                  ; device type
    db 0                        ; device indicators
    dw 0                        ; BCV: none, this is a boot device
    dw 0                        ; disconnect vector
    dw boot                     ; bootstrap entry vector
    dw 0
    dw 0                        ; static resource information

manufacturer: db 'bt86', 0
product:      db 'Linux kernel (-kernel)', 0

init:
    retf

; The BEV. On failure everything is restored and control goes back to SeaBIOS.
boot:
    pushad
    push ds
    push es
    cld
    push cs
    pop ds

    mov ax, KEY_ID
    call fw_read32
    test al, ID_DMA
    mov si, msg_nodma
    jz .fail
    mov ax, KEY_SETUP_SIZE
    call fw_read32
    test eax, eax
    mov si, msg_nokernel
    jz .fail

    ; A 16-byte DMA descriptor on the stack, addressed by bp (through SS).
    sub sp, 16
    mov bp, sp

    mov ax, KEY_SETUP_ADDR
    call fw_read32
    mov edi, eax                ; edi = setup address, kept for the jump
    mov bx, KEY_SETUP_SIZE
    mov cx, KEY_SETUP_DATA
    call load_item
    jc .fail_dma
    mov ax, KEY_KERNEL_ADDR
    call fw_read32
    mov bx, KEY_KERNEL_SIZE
    mov cx, KEY_KERNEL_DATA
    call load_item
    jc .fail_dma
    mov ax, KEY_CMDLINE_ADDR
    call fw_read32
    mov bx, KEY_CMDLINE_SIZE
    mov cx, KEY_CMDLINE_DATA
    call load_item
    jc .fail_dma
    mov ax, KEY_INITRD_ADDR
    call fw_read32
    mov bx, KEY_INITRD_SIZE
    mov cx, KEY_INITRD_DATA
    call load_item
    jc .fail_dma

    ; Enter the setup code. Its heap_end_ptr (set by bt86) makes it place its own stack.
    cli
    mov eax, edi
    shr eax, 4
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov sp, 0xFFF0
    add ax, 0x20
    push ax
    push word 0
    retf

.fail_dma:
    add sp, 16
    mov si, msg_dma
.fail:
    call print
    pop es
    pop ds
    popad
    retf

; load_item: eax = destination address, bx = size key, cx = data key. Copies the item with
; DMA; an item of size 0 is skipped. CF set on a DMA error. Uses the descriptor at ss:bp.
load_item:
    push eax
    mov ax, bx
    call fw_read32
    mov edx, eax                ; edx = size
    pop eax
    test edx, edx
    jz .done                    ; CF clear
    ; control = key << 16 | SELECT | READ, big-endian like every descriptor field
    movzx ebx, cx
    shl ebx, 16
    or ebx, DMA_SELECT | DMA_READ
    bswap ebx
    mov [bp + 0], ebx
    bswap edx
    mov [bp + 4], edx
    mov dword [bp + 8], 0
    bswap eax
    mov [bp + 12], eax
    ; the descriptor's physical address: ss * 16 + bp
    xor eax, eax
    mov ax, ss
    shl eax, 4
    movzx ebx, bp
    add eax, ebx
    bswap eax
    mov dx, FW_DMA_HI
    push eax
    xor eax, eax
    out dx, eax
    pop eax
    mov dx, FW_DMA_LO
    out dx, eax                 ; starts the transfer
.wait:
    mov eax, [bp + 0]
    bswap eax
    test eax, DMA_ERROR
    jnz .error
    test eax, eax
    jnz .wait
.done:
    clc
    ret
.error:
    stc
    ret

; fw_read32: ax = key. Returns its first 4 bytes (little-endian) in eax. Clobbers dx.
fw_read32:
    mov dx, FW_SEL
    out dx, ax
    mov dx, FW_DATA
    push cx
    mov cx, 4
.byte:
    in al, dx
    ror eax, 8
    loop .byte
    pop cx
    ret

; print: ds:si, a NUL-terminated message, through the video BIOS.
print:
    lodsb
    test al, al
    jz .end
    mov ah, 0x0E
    mov bx, 7
    int 0x10
    jmp print
.end:
    ret

msg_nodma: db 'bt86 linuxboot: fw_cfg has no DMA interface', 13, 10, 0
msg_nokernel: db 'bt86 linuxboot: fw_cfg holds no kernel', 13, 10, 0
msg_dma:   db 'bt86 linuxboot: fw_cfg DMA failed', 13, 10, 0

    times ROM_BLOCKS * 512 - 1 - ($ - $$) db 0
    db 0                        ; checksum: filled in by bt86
