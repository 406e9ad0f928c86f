"""Byte transports (and the evdev input source) that drivers talk through."""

from hardware.transports.base import Transport
from hardware.transports.memory import MemoryTransport
from hardware.transports.serial import PortSettings, SerialTransport
from hardware.transports.tcp import TcpTransport
from hardware.transports.usb import UsbTransport

__all__ = ["MemoryTransport", "PortSettings", "SerialTransport", "TcpTransport", "Transport", "UsbTransport"]
