"""Pick a transport from a device address string in the configuration.

    tcp://10.0.0.5:9100          network printer, terminal
    socket://127.0.0.1:7001      serial device reached through a TCP bridge or simulator
    /dev/serial/by-id/usb-…      serial device (settings like "9600 7E1" apply)
    usb://04b8:0202              USB printer through python-escpos (needs pyusb)
"""

from __future__ import annotations

from urllib.parse import urlsplit

from hardware.errors import ConfigError
from hardware.transports.base import Transport
from hardware.transports.serial import PortSettings, SerialTransport
from hardware.transports.tcp import TcpTransport
from hardware.transports.usb import UsbTransport

SERIAL_SCHEMES = ("socket", "loop", "rfc2217", "spy")


def transport_for(address: str, settings: PortSettings | None = None) -> Transport:
    parts = urlsplit(address)
    if parts.scheme == "tcp":
        if not parts.hostname or not parts.port:
            raise ConfigError(f"address {address!r} needs a host and port, e.g. tcp://10.0.0.5:9100")
        return TcpTransport(parts.hostname, parts.port)
    if parts.scheme in SERIAL_SCHEMES or address.startswith("/"):
        return SerialTransport(address, settings)
    if parts.scheme == "usb":
        try:
            vendor, product = (int(x, 16) for x in parts.netloc.split(":"))
        except ValueError as err:
            raise ConfigError(f"address {address!r} must be like usb://04b8:0202") from err
        return UsbTransport(vendor, product)
    raise ConfigError(
        f"address {address!r} is not tcp://host:port, socket://host:port, /dev/… or usb://vid:pid"
    )
