; A Multiboot test kernel for bt86's system tests. It prints what the loader handed it on COM1
; (polling LSR.THRE before each byte), marks progress on the POST port and leaves through the
; exit port 0xF4.
;
; Built twice from this source: as ELF32 (nasm -f elf32, linked with mbkernel.ld) and, with
; -DAOUT, as a flat binary whose header uses the a.out kludge.
;
; With "triple" in its command line it tests the reset path instead: the first boot leaves a
; marker in RAM outside the image, dirties its .data and .bss, and triple-faults; the second
; boot (the machine reloaded the kernel, RAM otherwise kept) finds the marker and checks that
; .data is back to its initial value and .bss is zero again.
;
; With "echo" in its command line it reads one line from COM1 (polling LSR.DR) and prints it
; back, which tests host input through -serial stdio.
;
; -DAOUT -DNOKLUDGE builds a flat image whose header lacks the a.out kludge: a loader must
; refuse it (it is not ELF either).
        bits 32

COM1      equ 0x3F8
EXIT_PORT equ 0xF4
POST_PORT equ 0x80
MARKER_AT equ 0x500              ; free low RAM, not part of the image
MARKER    equ 0x544F4F42         ; "BOOT"
EXIT_OK   equ 0x2A               ; host status (0x2A << 1) | 1 = 85
EXIT_REBOOT_OK equ 0x15          ; host status 43
EXIT_FAIL equ 0x01               ; host status 3

MB_MAGIC  equ 0x1BADB002
%ifdef NOKLUDGE
MB_FLAGS  equ 0x00000003
%elifdef AOUT
MB_FLAGS  equ 0x00010003         ; page-align modules, memory info, a.out kludge
%else
MB_FLAGS  equ 0x00000003
%endif

%ifdef AOUT
        org 0x100000
        section .text
%else
        section .multiboot progbits alloc noexec nowrite align=4
%endif
        align 4
mb_header:
        dd MB_MAGIC
        dd MB_FLAGS
        dd -(MB_MAGIC + MB_FLAGS)
%ifdef AOUT
        dd mb_header                    ; header_addr
        dd 0x100000                     ; load_addr: the file starts here
        dd data_end                     ; load_end_addr
        dd bss_end                      ; bss_end_addr
        dd start                        ; entry_addr
%endif

        section .text
        global start
start:
        mov esp, stack_top
        mov [boot_magic], eax
        mov [boot_info], ebx
        mov al, 0x11
        out POST_PORT, al
        call uart_init

        mov esi, ebx                    ; the info structure
        mov edx, [esi + 4 * 0]
        test edx, 4
        jz .no_triple
        mov ebx, [esi + 16]
        mov edi, word_triple
        call find_word
        jc reboot_test
        mov edi, word_echo
        call find_word
        jc echo_test
.no_triple:
        mov esi, msg_magic
        call puts
        mov eax, [boot_magic]
        call put_hex
        mov esi, msg_flags
        call puts
        mov ebx, [boot_info]
        mov eax, [ebx]
        call put_hex
        mov esi, msg_lower
        call puts
        mov eax, [ebx + 4]
        call put_dec
        mov esi, msg_upper
        call puts
        mov eax, [ebx + 8]
        call put_dec
        call newline

        test dword [ebx], 4             ; command line
        jz .no_cmdline
        mov esi, msg_cmdline
        call puts
        mov esi, [ebx + 16]
        call puts
        mov esi, msg_quote_nl
        call puts
.no_cmdline:
        test dword [ebx], 0x200         ; boot loader name
        jz .no_name
        mov esi, msg_loader
        call puts
        mov esi, [ebx + 64]
        call puts
        mov esi, msg_quote_nl
        call puts
.no_name:
        test dword [ebx], 0x40          ; memory map
        jz .no_mmap
        mov edi, [ebx + 48]             ; first entry
        mov ecx, [ebx + 44]
        add ecx, edi                    ; end of the map
.mmap:  cmp edi, ecx
        jae .no_mmap
        mov esi, msg_mmap
        call puts
        mov eax, [edi + 8]              ; base, high then low
        call put_hex
        mov eax, [edi + 4]
        call put_hex
        mov esi, msg_len
        call puts
        mov eax, [edi + 16]
        call put_hex
        mov eax, [edi + 12]
        call put_hex
        mov esi, msg_type
        call puts
        mov eax, [edi + 20]
        call put_dec
        call newline
        add edi, [edi]                  ; size excludes the size field itself
        add edi, 4
        jmp .mmap
.no_mmap:
        ; The loader zeroed .bss and the segments hold what the loader was told.
        mov esi, msg_bss
        call puts
        mov esi, msg_zero
        cmp dword [bss_probe], 0
        je .bss_ok
        mov esi, msg_dirty
.bss_ok:
        call puts
        mov esi, msg_data
        call puts
        mov eax, [data_probe]
        call put_hex
        call newline
        mov al, 0x22
        out POST_PORT, al
        mov esi, msg_bye
        call puts
        mov al, EXIT_OK
        out EXIT_PORT, al
        hlt                             ; not reached

; The reset test. Runs with the info structure's command line containing "triple".
reboot_test:
        cmp dword [MARKER_AT], MARKER
        je .second
        mov dword [MARKER_AT], MARKER
        mov dword [data_probe], 0xDEADDEAD
        mov dword [bss_probe], 0xDEADDEAD
        mov esi, msg_first
        call puts
        mov al, 0x33
        out POST_PORT, al
        lidt [empty_idt]                ; limit 0: every vector faults
        int3                            ; #GP, #DF, shutdown
        jmp fail
.second:
        mov esi, msg_second
        call puts
        cmp dword [data_probe], 0x12345678
        jne fail
        cmp dword [bss_probe], 0
        jne fail
        mov esi, msg_reload_ok
        call puts
        mov al, 0x44
        out POST_PORT, al
        mov al, EXIT_REBOOT_OK
        out EXIT_PORT, al
        hlt
fail:
        mov esi, msg_fail
        call puts
        mov al, EXIT_FAIL
        out EXIT_PORT, al
        hlt

; Reads a line from COM1 into line_buf and prints it back.
echo_test:
        mov esi, msg_ready
        call puts
        mov edi, line_buf
.next:  mov dx, COM1 + 5
.wait:  in al, dx
        test al, 0x01                   ; DR
        jz .wait
        mov dx, COM1
        in al, dx
        cmp al, 10
        je .eol
        cmp edi, line_buf + 63
        jae .next                       ; keep the buffer bounded
        mov [edi], al
        inc edi
        jmp .next
.eol:   mov byte [edi], 0
        mov esi, msg_echo
        call puts
        mov esi, line_buf
        call puts
        mov esi, msg_quote_nl
        call puts
        mov al, EXIT_OK
        out EXIT_PORT, al
        hlt

; CF set if the zero-terminated string at EBX contains the one at EDI.
find_word:
        push ebx
        push edx
        push esi
        push edi
.next:  cmp byte [ebx], 0
        je .no
        mov esi, ebx
        mov edx, edi
.cmp:   mov al, [edx]
        test al, al
        jz .yes
        cmp al, [esi]
        jne .adv
        inc esi
        inc edx
        jmp .cmp
.adv:   inc ebx
        jmp .next
.yes:   stc
        jmp .out
.no:    clc
.out:   pop edi
        pop esi
        pop edx
        pop ebx
        ret

uart_init:
        mov dx, COM1 + 3
        mov al, 0x80                    ; DLAB
        out dx, al
        mov dx, COM1
        mov al, 1                       ; 115200 baud
        out dx, al
        inc dx
        xor al, al
        out dx, al
        mov dx, COM1 + 3
        mov al, 0x03                    ; 8N1
        out dx, al
        mov dx, COM1 + 2
        mov al, 0xC7                    ; FIFOs on and cleared, 14-byte trigger
        out dx, al
        ret

putc:                                   ; AL
        push edx
        push eax
        mov dx, COM1 + 5
.wait:  in al, dx
        test al, 0x20                   ; THRE
        jz .wait
        pop eax
        mov dx, COM1
        out dx, al
        pop edx
        ret

puts:                                   ; ESI: zero-terminated
        push eax
        push esi
.loop:  lodsb
        test al, al
        jz .done
        call putc
        jmp .loop
.done:  pop esi
        pop eax
        ret

newline:
        push eax
        mov al, 10
        call putc
        pop eax
        ret

put_hex:                                ; EAX, 8 digits
        push eax
        push ecx
        push edx
        mov edx, eax
        mov ecx, 8
.digit: rol edx, 4
        mov eax, edx
        and eax, 15
        mov al, [hex_digits + eax]
        call putc
        loop .digit
        pop edx
        pop ecx
        pop eax
        ret

put_dec:                                ; EAX, unsigned
        push eax
        push ebx
        push ecx
        push edx
        mov ebx, 10
        xor ecx, ecx
.div:   xor edx, edx
        div ebx
        push edx
        inc ecx
        test eax, eax
        jnz .div
.emit:  pop eax
        add al, '0'
        call putc
        loop .emit
        pop edx
        pop ecx
        pop ebx
        pop eax
        ret

%ifndef AOUT
        section .rodata
%endif
hex_digits:   db "0123456789ABCDEF"
word_triple:  db "triple", 0
word_echo:    db "echo", 0
msg_ready:    db "mbtest: type a line", 10, 0
msg_echo:     db "mbtest: echo '", 0
msg_magic:    db "mbtest: magic=", 0
msg_flags:    db " flags=", 0
msg_lower:    db " mem_lower=", 0
msg_upper:    db " mem_upper=", 0
msg_cmdline:  db "mbtest: cmdline='", 0
msg_loader:   db "mbtest: loader='", 0
msg_quote_nl: db "'", 10, 0
msg_mmap:     db "mbtest: mmap base=", 0
msg_len:      db " len=", 0
msg_type:     db " type=", 0
msg_bss:      db "mbtest: bss=", 0
msg_zero:     db "zero", 0
msg_dirty:    db "DIRTY", 0
msg_data:     db " data=", 0
msg_bye:      db "mbtest: done", 10, 0
msg_first:    db "mbtest: first boot, triple-faulting", 10, 0
msg_second:   db "mbtest: second boot after the reset", 10, 0
msg_reload_ok: db "mbtest: PASS kernel reloaded (.data restored, .bss zero)", 10, 0
msg_fail:     db "mbtest: FAIL", 10, 0
        align 4
empty_idt:    dw 0
              dd 0

%ifndef AOUT
        section .data
%endif
        align 4
data_probe:   dd 0x12345678
data_end:

        section .bss
        alignb 4
boot_magic:   resd 1
boot_info:    resd 1
bss_probe:    resd 1
line_buf:     resb 64
              resb 4096
stack_top:
bss_end:
