"""QR codes the web apps show (a crypto invoice at the lane, a pairing code in the admin), as
SVG `data:` URLs: the pages' Content-Security-Policy allows `img-src data:`, and an <img> never
runs the SVG's content, so nothing is injected into the page."""

from __future__ import annotations

import base64


def qr_data_url(text: str) -> str:
    """An SVG QR code of `text`. Error correction M survives a glare spot on a screen; the quiet
    zone of 4 modules is what phone cameras and 2D scanners need to find the code."""
    # qrcode imports Pillow (several MB): load it with the first QR, not with the server.
    import qrcode
    import qrcode.image.svg

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4,
                         image_factory=qrcode.image.svg.SvgPathImage)
    code.add_data(text)
    code.make(fit=True)
    svg = code.make_image().to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
