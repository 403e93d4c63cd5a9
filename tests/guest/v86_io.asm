; v86_io: I/O in virtual-8086 mode (SDM vol. 3, 20.2.8 "Protection of I/O", 19.5 "I/O
; Permission Bit Map"; IN/OUT in vol. 2).
; Proves: in virtual-8086 mode IN/OUT/INS/OUTS are checked against the TSS I/O permission
; bitmap whatever IOPL is (IOPL 3 does not grant access), a clear bit allows the port, every
; bit of a multi-byte access must be clear, a denied access raises #GP(0) at the instruction
; with registers unchanged; allowed accesses run on to the closing HLT.
%define TEST_NAME "v86_io"
%include "guest.inc"

PORT    equ 0x2E0                       ; an unused port range (reads return something)

%macro IO_GP 3-4                        ; name, eflags, [setup,] instruction
        V86_BEGIN %2
        mov dx, PORT
        mov ax, 0x1234
  %if %0 == 4
        %3
%%i:    %4
  %else
%%i:    %3
  %endif
        V86_END %%exit
        CHECK_EXC %1, 13, 0, ROMOFF(%%i)
        CHECKM {%1, ": AX unchanged"}, [exc_eax], 0xFFFF, 0x1234
%endmacro
%macro IO_OK 3-4
        V86_BEGIN %2
        mov dx, PORT
        %3
  %if %0 == 4
        %4
  %endif
        V86_END %%exit
        CHECK_EXC %1, 13, 0, ROMOFF(%%exit)
%endmacro

test_main:
        ; bitmap: port PORT allowed, PORT+1 denied, PORT+2..PORT+3 allowed
        and byte [IOMAP_BASE + PORT / 8], ~(1 << (PORT % 8))
        and byte [IOMAP_BASE + PORT / 8], ~(1 << (PORT % 8 + 2))
        and byte [IOMAP_BASE + PORT / 8], ~(1 << (PORT % 8 + 3))

        IO_GP "IOPL 3, bit set: IN AL, DX of PORT+1", EFL_IOPL3, {inc dx}, {in al, dx}
        IO_OK "IOPL 3, bit clear: IN AL, DX", EFL_IOPL3, {in al, dx}
        IO_OK "IOPL 0, bit clear: OUT DX, AL", 0, {out dx, al}
        IO_GP "IOPL 0, bit set: OUT imm8 to 0x80", 0, {out 0x80, al}
        IO_GP "IOPL 0: IN AX, DX over PORT (clear) and PORT+1 (set)", 0, {in ax, dx}
        IO_OK "IOPL 0: IN AX, DX from PORT+2 (both clear)", 0, {add dx, 2}, {in ax, dx}
        IO_GP "IOPL 0: OUT DX, EAX over PORT..PORT+3", 0, {out dx, eax}
        IO_GP "IOPL 3: INSB from PORT+1", EFL_IOPL3, {inc dx}, {insb}
        IO_OK "IOPL 0: OUTSB to PORT", 0, {xor si, si}, {outsb}
        ret

%include "end.inc"
