"""QR codes for the lane, as `data:` URLs (the lane's CSP allows `img-src data:`, nothing inline)."""

from __future__ import annotations

import base64


def qr_data_url(text: str) -> str:
    """An SVG QR code of `text` (error correction M: a phone reads it off a lane screen)."""
    # qrcode imports Pillow (several MB): load it with the first QR, not with the server.
    import qrcode
    import qrcode.image.svg

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2,
                         image_factory=qrcode.image.svg.SvgPathImage)
    code.add_data(text)
    code.make(fit=True)
    svg = code.make_image().to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
