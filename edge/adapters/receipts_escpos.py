"""ESC/POS bytes for a receipt, from python-escpos's `Dummy` printer (it only collects bytes).

`ESC @` first and an explicit profile, so accents and the euro sign survive (python-escpos
#144, #321); the QR code links to the e-receipt; a member's card code prints as a CODE128
barcode with its text under it, so the slip can be scanned at the lane like the card.
"""

from __future__ import annotations

import contextlib
import io

from edge.service.receipts import WIDTH, ReceiptView, header_of, lines_of


def render_escpos(r: ReceiptView) -> bytes:
    # python-escpos pulls in Pillow, qrcode and python-barcode (9 MB): load them with the first
    # receipt, not in a store server whose receipts print elsewhere or not at all.
    from escpos.printer import Dummy

    printer = Dummy(profile="default")
    printer._raw(b"\x1b@")
    printer.set(align="center", bold=True)
    for line in header_of(r):
        printer.textln(line)
    printer.set(align="left", bold=False)
    printer.textln("-" * WIDTH)
    for left, right in lines_of(r):
        printer.textln(left.ljust(WIDTH - len(right)) + right if left or right else "")
    printer.textln("-" * WIDTH)
    printer.set(align="center")
    with contextlib.redirect_stdout(io.StringIO()):  # the library prints renderer notes to stdout
        if r.member_card and r.member_card.isascii() and r.member_card.isalnum():
            # Code set B ("{B") carries the letters and digits as they are; 2-dot modules keep the
            # 14-character code (189 modules) inside a 58 mm printer's 384 dots.
            printer.barcode("{B" + r.member_card, "CODE128", height=64, width=2, pos="BELOW", font="A",
                            function_type="B")
            printer.ln()
        printer.qr(r.url, size=4, native=True)
    if r.copy:
        printer.textln("*** COPY ***")
    printer.cut()
    return bytes(printer.output)
