; io_bitmap: the I/O permission bitmap in protected mode (SDM vol. 1, 19.5.2 "I/O Permission
; Bit Map"; vol. 3 7.2.1 TSS I/O map base).
; Proves: at CPL 3 with IOPL 0, a port is allowed only if its bit is clear; every bit of a
; word/dword access must be clear (an access straddling a byte of the map included); INS and
; OUTS are checked the same way; the map offset comes from the TSS and bits beyond the TSS limit
; count as set, and the processor reads two map bytes per check (a limit that cuts the map, a map offset beyond the limit, and port 0xFFFF's
; word access needing the byte after the map); a denied access raises #GP(0) with nothing done.
%define TEST_NAME "io_bitmap"
%include "guest.inc"

%macro IN3_GP 3                         ; name, port, instruction (DX = port)
        RING3_BEGIN
        mov edx, %2
        mov eax, 0x55AA55AA
        mov edi, TEST_VARS
        mov esi, TEST_VARS
%%i:    %3
        RING3_END
        CHECK_EXC %1, 13, 0, %%i
        CHECK {%1, ": EAX unchanged"}, [exc_eax], 0x55AA55AA
%endmacro
%macro IN3_OK 3
        RING3_BEGIN
        mov edx, %2
        mov edi, TEST_VARS
        mov esi, TEST_VARS
        %3
        RING3_END
        CHECK %1, [exc_vector], VEC_RING0
%endmacro
%macro ALLOW 1
        and byte [IOMAP_BASE + (%1) / 8], ~(1 << ((%1) % 8))
%endmacro
; reload TR after changing the TSS0 descriptor (limit) or its map offset
%macro RELOAD_TR 0
        and byte [GDT_BASE + SEL_TSS0 + 5], ~2
        mov ax, SEL_TSS0
        ltr ax
%endmacro

test_main:
        ALLOW 0x2E0
        ALLOW 0x2E2
        ALLOW 0x2E3
        ALLOW 0x2E4
        ALLOW 0x2E5
        ALLOW 0x2E6
        ALLOW 0x2E7
        ALLOW 0x2E8                     ; 0x2E8 starts a new byte of the map
        ALLOW 0xFFFF
        ALLOW 0xFFFE
        IN3_OK "port 0x2E0 allowed: IN AL", 0x2E0, {in al, dx}
        IN3_GP "port 0x2E1 denied: IN AL", 0x2E1, {in al, dx}
        IN3_OK "ports 0x2E2-3 allowed: IN AX", 0x2E2, {in ax, dx}
        IN3_GP "IN AX over 0x2E0 (allowed) and 0x2E1 (denied)", 0x2E0, {in ax, dx}
        IN3_OK "IN EAX of 0x2E4-7", 0x2E4, {in eax, dx}
        IN3_OK "IN EAX of 0x2E5-8 (two bytes of the map)", 0x2E5, {in eax, dx}
        IN3_GP "IN EAX of 0x2E6-9 (0x2E9 denied)", 0x2E6, {in eax, dx}
        IN3_GP "OUT imm8 0x80 denied", 0x80, {out 0x80, al}
        IN3_OK "INSB from an allowed port", 0x2E0, insb
        IN3_GP "OUTSW to 0x2E0 (0x2E1 denied)", 0x2E0, outsw
        IN3_OK "port 0xFFFF byte access (bit clear)", 0xFFFF, {in al, dx}
        IN3_OK "port 0xFFFE word access", 0xFFFE, {in ax, dx}
        IN3_GP "word at port 0xFFFF (its second bit is in the 0xFF byte after the map)", 0xFFFF, {in ax, dx}

        ; a TSS limit that ends the map with the byte of ports 0x2E8-0x2EF: the processor
        ; always reads two bytes of the map, so ports 0x2E8-0x2EF lose their second byte
        SET_DESC SEL_TSS0, TSS0_BASE, IOMAP_BASE - TSS0_BASE + 0x2E8 / 8, ACC_TSS, 0x0
        RELOAD_TR
        IN3_OK "map cut by the TSS limit: 0x2E0 (both map bytes inside) allowed", 0x2E0, {in al, dx}
        IN3_OK "map cut by the TSS limit: word at 0x2E7 (bits in two bytes, inside) allowed", 0x2E7, {in ax, dx}
        IN3_GP "map cut by the TSS limit: 0x2E8 (second map byte beyond the limit) denied", 0x2E8, {in al, dx}
        ; map offset beyond the limit: no map at all
        SET_DESC SEL_TSS0, TSS0_BASE, 0x67, ACC_TSS, 0x0
        RELOAD_TR
        IN3_GP "no map (offset beyond the limit): 0x2E0 denied", 0x2E0, {in al, dx}
        ; a different map offset in the TSS
        SET_DESC SEL_TSS0, TSS0_BASE, TSS0_LIMIT, ACC_TSS, 0x0
        mov word [TSS0_BASE + TSS_IOMAP], IOMAP_BASE - TSS0_BASE + 1    ; map shifted by 8 ports
        RELOAD_TR
        IN3_OK "map offset + 1: port 0x2E0 now uses the bit of 0x2E8", 0x2E0, {in al, dx}
        IN3_GP "map offset + 1: port 0x2E1 now uses the bit of 0x2E9 (set)", 0x2E1, {in al, dx}
        IN3_OK "map offset + 1: port 0x2D8 now uses the bit of 0x2E0 (clear)", 0x2D8, {in al, dx}
        mov word [TSS0_BASE + TSS_IOMAP], IOMAP_BASE - TSS0_BASE
        RELOAD_TR
        ret

%include "end.inc"
