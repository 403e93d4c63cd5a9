; dbg_data_bp: data and I/O breakpoints (SDM vol. 3, 17.2.4 "Debug Control Register (DR7)",
; 17.2.5 "Breakpoint Field Recognition", 17.3.1.2 "Data Memory and I/O Breakpoint Exception
; Conditions").
; Proves: RW=01 fires on writes only, RW=11 on reads and writes, as a trap after the access
; (EIP = next instruction, the write done, DR6.Bn); the LEN field sets the watched range and
; any access overlapping it fires, others do not; a breakpoint fires in ring 3 too; with
; CR4.DE=1, RW=10 fires on IN/OUT of the port in DRn.
%define TEST_NAME "dbg_data_bp"
%include "guest.inc"

WATCH   equ TEST_VARS + 0x100

%macro DR7_FOR 2                        ; RW, LEN (for DR0, L0 enabled)
        mov eax, 1 | ((%1) << 16) | ((%2) << 18)
        mov dr7, eax
%endmacro
%macro HIT 2                            ; name, instruction: a trap right after it
        xor eax, eax
        mov dr6, eax
        FAULT_BEGIN
        %2
%%after:
        FAULT_END
        CHECK_EXC %1, 1, 0, %%after
        CHECKM {%1, ": DR6.B0"}, [exc_dr6], 0x400F, 0x0001
%endmacro
%macro MISS 2
        FAULT_BEGIN
        %2
        FAULT_END
        CHECK %1, [exc_vector], 0xFFFFFFFF
%endmacro

test_main:
        mov eax, WATCH
        mov dr0, eax
        DR7_FOR 1, 3                    ; write, 4 bytes
        HIT "write bp: dword write", {mov dword [WATCH], 0x12345678}
        CHECK "write bp: the write was done", [WATCH], 0x12345678
        MISS "write bp: dword read does not fire", {mov eax, [WATCH]}
        HIT "write bp: byte write to the last watched byte", {mov byte [WATCH + 3], 1}
        MISS "write bp: byte write just past the range", {mov byte [WATCH + 4], 1}
        HIT "write bp: word write overlapping the start", {mov word [WATCH - 1], 1}
        DR7_FOR 3, 3                    ; read/write, 4 bytes
        HIT "read/write bp: dword read", {mov eax, [WATCH]}
        HIT "read/write bp: ADD to memory", {add dword [WATCH], 1}
        mov eax, WATCH + 2
        mov dr0, eax
        DR7_FOR 1, 0                    ; write, 1 byte at WATCH + 2
        HIT "1-byte write bp: dword write covering it", {mov dword [WATCH], 0}
        MISS "1-byte write bp: byte write to the next byte", {mov byte [WATCH + 3], 0}
        MISS "1-byte write bp: word write to the two bytes before", {mov word [WATCH], 0}
        mov eax, WATCH
        mov dr0, eax
        DR7_FOR 1, 1                    ; write, 2 bytes
        HIT "2-byte write bp: byte write to its second byte", {mov byte [WATCH + 1], 0}
        MISS "2-byte write bp: byte write to WATCH + 2", {mov byte [WATCH + 2], 0}

        DR7_FOR 1, 3
        xor eax, eax
        mov dr6, eax
        RING3_BEGIN
        mov dword [WATCH], 3
.a3:
        RING3_END
        CHECK_EXC "write bp in ring 3", 1, 0, .a3
        CHECK "write bp in ring 3: pushed CS", [exc_cs], SEL_UCODE3
        mov eax, 0
        mov dr7, eax

        ; I/O breakpoint
        mov eax, cr4
        or eax, CR4_DE
        mov cr4, eax
        mov eax, 0x2E0
        mov dr0, eax
        DR7_FOR 2, 0
        mov edx, 0x2E0
        HIT "I/O bp (CR4.DE=1): IN AL, DX", {in al, dx}
        HIT "I/O bp: OUT DX, AL", {out dx, al}
        mov edx, 0x2E1
        MISS "I/O bp: another port", {in al, dx}
        mov eax, 0
        mov dr7, eax
        mov eax, cr4
        and eax, ~CR4_DE
        mov cr4, eax
        ret

%include "end.inc"
