"""A pairing link as a QR code the admin screen can show: an SVG in a data: URL.

The page's Content-Security-Policy allows data: images, and an <img> never runs the SVG's
content, so the admin shows it without injecting markup.
"""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg


def qr_data_url(text: str) -> str:
    # Error correction M survives a glare spot on a tablet screen; the quiet zone of 4 modules
    # is what phone cameras and 2D scanners need to find the code.
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
