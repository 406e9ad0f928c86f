"""Turn an ESC/POS job back into plain text (what a person would read on the paper).

Used by the printer simulator so tests and technicians can see what was "printed".
It knows the length of every command python-escpos emits; graphics, barcodes and QR codes
become short markers like ``[qr https://…]`` and ``[cut]``.
"""

from __future__ import annotations

ESC, GS, DLE, FS, LF, CR, HT = 0x1B, 0x1D, 0x10, 0x1C, 0x0A, 0x0D, 0x09

# ESC t n -> Python codec. Unknown tables fall back to cp437 (the power-on default).
_CODEPAGES = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252", 17: "cp866",
              18: "cp852", 19: "cp858"}

# Fixed-length ESC commands: command byte -> number of parameter bytes.
_ESC_ARGS = {
    ord("@"): 0, ord("!"): 1, ord("E"): 1, ord("-"): 1, ord("a"): 1, ord("d"): 1, ord("t"): 1,
    ord("M"): 1, ord("G"): 1, ord("{"): 1, ord("J"): 1, ord("2"): 0, ord("3"): 1, ord("R"): 1,
    ord(" "): 1, ord("$"): 2, ord("p"): 3, ord("r"): 1, ord("i"): 0, ord("m"): 0, ord("V"): 1,
    ord("c"): 2, ord("e"): 1, ord("K"): 1, ord("U"): 1, ord("="): 1,
}
_GS_ARGS = {
    ord("!"): 1, ord("B"): 1, ord("H"): 1, ord("h"): 1, ord("w"): 1, ord("f"): 1, ord("L"): 2,
    ord("W"): 2, ord("b"): 1, ord("r"): 1, ord("a"): 1, ord("I"): 1, ord("P"): 2, ord("T"): 1,
}


def _u16(data: bytes, at: int) -> int:
    return data[at] | (data[at + 1] << 8) if at + 1 < len(data) else 0


def escpos_to_text(data: bytes) -> str:
    out: list[str] = []
    text = bytearray()
    codec = "cp437"

    def flush() -> None:
        if text:
            out.append(text.decode(codec, errors="replace"))
            text.clear()

    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == LF:
            text.append(LF)
            i += 1
        elif b in (CR,):
            i += 1
        elif b == HT:
            text.append(HT)
            i += 1
        elif b == ESC and i + 1 < n:
            cmd = data[i + 1]
            flush()
            if cmd == ord("t") and i + 2 < n:
                codec = _CODEPAGES.get(data[i + 2], "cp437")
            if cmd == ord("d") and i + 2 < n:
                out.append("\n" * data[i + 2] if data[i + 2] < 20 else "\n")
            if cmd == ord("p"):
                out.append("[drawer]\n")
            if cmd in (ord("i"), ord("m")):
                out.append("[cut]\n")
            if cmd == ord("*") and i + 4 < n:  # bit image: m nL nH, width bytes x (1 or 3)
                m, width = data[i + 2], _u16(data, i + 3)
                out.append("[image]")
                i += 5 + width * (3 if m in (32, 33) else 1)
                continue
            i += 2 + _ESC_ARGS.get(cmd, 0)
        elif b == GS and i + 1 < n:
            cmd = data[i + 1]
            flush()
            if cmd == ord("V"):  # cut: GS V m, or GS V m n for m 65/66
                m = data[i + 2] if i + 2 < n else 0
                out.append("[cut]\n")
                i += 4 if m in (65, 66) else 3
            elif cmd == ord("k"):  # barcode
                m = data[i + 2] if i + 2 < n else 0
                if m <= 6:
                    end = data.find(b"\x00", i + 3)
                    end = n if end < 0 else end
                    payload, i = data[i + 3 : end], end + 1
                else:
                    length = data[i + 3] if i + 3 < n else 0
                    payload, i = data[i + 4 : i + 4 + length], i + 4 + length
                out.append(f"[barcode {payload.decode('ascii', 'replace')}]\n")
            elif cmd == ord("(") and i + 4 < n:  # GS ( fn pL pH ... (QR codes and others)
                fn, length = data[i + 2], _u16(data, i + 3)
                body = data[i + 5 : i + 5 + length]
                if fn == ord("k") and body[:3] == b"1P0":
                    out.append(f"[qr {body[3:].decode('utf-8', 'replace')}]\n")
                i += 5 + length
            elif cmd == ord("v") and i + 7 < n:  # GS v 0 m xL xH yL yH raster image
                width, height = _u16(data, i + 4), _u16(data, i + 6)
                out.append("[image]\n")
                i += 8 + width * height
            elif cmd == ord("8") and i + 6 < n:  # GS 8 L p1 p2 p3 p4 (large graphics)
                length = int.from_bytes(data[i + 3 : i + 7], "little")
                out.append("[image]\n")
                i += 7 + length
            else:
                i += 2 + _GS_ARGS.get(cmd, 0)
        elif b == DLE and i + 2 < n:
            flush()
            i += 5 if data[i + 1] == 0x14 else 3  # DLE DC4 fn m t, else DLE EOT n / DLE ENQ n
        elif b == FS and i + 1 < n:
            flush()
            i += 2
        elif b < 0x20:
            i += 1  # other control bytes print nothing
        else:
            text.append(b)
            i += 1
    flush()
    return "".join(out)
