; Interpreter benchmark workload: flat 32-bit ring-0 code, loaded at 1 MiB by bench_interp.c.
;
; In:  EBP = number of iterations of the main loop.
; Out: EAX = checksum, EDX = number of iterations whose state had bit 31 set; then HLT.
;
; Every iteration runs a fixed mix: ALU (xorshift32 on EBX), loads and stores through a
; 256-entry table, data-dependent branches, a CALL/RET to a small mixing function, and string
; instructions (REP MOVSD, REP STOSB, LODSD). bench_interp.c recomputes the checksum in C, so
; an interpreter that executes something wrong cannot report a speed.
;
; Code and data live on different pages on purpose: a store to the code page would be
; self-modifying code and would measure the invalidation path instead.

bits 32
org 0x100000

TABLE   equ 0x200000            ; 256 dwords
BUF     equ 0x201000            ; 16 dwords, REP MOVSD destination
BYTES   equ 0x202000            ; 32 bytes, REP STOSB destination
ACC     equ 0x203000            ; checksum accumulator
HICOUNT equ 0x203004
STACK   equ 0x300000

start:
        mov     esp, STACK
        cld
        mov     ebx, 0x12345678         ; x, the generator state
        xor     eax, eax
        mov     [ACC], eax
        mov     [HICOUNT], eax
        mov     edi, TABLE              ; table[i] = i * 0x01010101
        mov     ecx, 256
.init:  stosd
        add     eax, 0x01010101
        loop    .init

main_loop:
        ; --- ALU: x ^= x << 13; x ^= x >> 17; x ^= x << 5
        mov     eax, ebx
        shl     eax, 13
        xor     ebx, eax
        mov     eax, ebx
        shr     eax, 17
        xor     ebx, eax
        mov     eax, ebx
        shl     eax, 5
        xor     ebx, eax

        ; --- loads and stores: t[x & 255] += x; acc += t[x & 255] ^ t[(x >> 8) & 255]
        mov     eax, ebx
        and     eax, 0xFF
        mov     edx, [TABLE + eax*4]
        add     edx, ebx
        mov     [TABLE + eax*4], edx
        mov     eax, ebx
        shr     eax, 8
        movzx   eax, al
        xor     edx, [TABLE + eax*4]
        add     [ACC], edx

        ; --- data-dependent branches
        test    bl, 1
        jz      .even
        add     dword [ACC], 0x9E3779B9
        jmp     .joined
.even:  xor     dword [ACC], 0x7F4A7C15
.joined:
        cmp     ebx, 0x80000000
        jb      .low
        inc     dword [HICOUNT]
.low:

        ; --- CALL/RET
        mov     eax, ebx
        call    mix
        add     [ACC], eax

        ; --- string instructions
        mov     esi, ebx                ; copy 16 dwords from t[((x >> 4) & 0x3C0) / 4]
        shr     esi, 4
        and     esi, 0x3C0
        add     esi, TABLE
        mov     edi, BUF
        mov     ecx, 16
        rep movsd
        mov     edi, BYTES              ; fill 32 bytes with x & 255
        mov     al, bl
        mov     ecx, 32
        rep stosb
        mov     esi, BUF                ; acc ^= buf[0] + buf[1] + buf[2] + buf[3]
        mov     ecx, 4
        xor     edx, edx
.sum:   lodsd
        add     edx, eax
        dec     ecx
        jnz     .sum
        xor     [ACC], edx
        movzx   eax, byte [BYTES + 31]  ; acc += x & 255, as stored by REP STOSB
        add     [ACC], eax

        dec     ebp
        jnz     main_loop

        mov     eax, [ACC]
        mov     edx, [HICOUNT]
        hlt

; eax = (eax + 2 * ror(eax, 7) + 0x1234) * 0x2545F491
mix:
        push    ecx
        mov     ecx, eax
        ror     ecx, 7
        lea     eax, [eax + ecx*2 + 0x1234]
        imul    eax, eax, 0x2545F491
        pop     ecx
        ret
