"""Errors raised by the hardware hub.

Callers catch at the level they care about: the service catches ``DeviceError`` to turn a
printer failure into a failed job, a test may catch ``FrameError`` to check a codec.

    HardwareError
    ├── ConfigError                 bad hub configuration (names the key)
    ├── UnknownDevice               no device with that id
    ├── UnknownLane                 the lane has no device of that kind
    ├── UnsupportedAction           test action not valid for the device kind
    ├── ProtocolError               bytes that do not follow the device protocol
    │   ├── FrameError              malformed frame (no STX/ETX/CR, bad field count)
    │   └── ChecksumError           LRC mismatch
    └── DeviceError                 the device could not do what was asked
        ├── DeviceUnavailable       cannot open / connection refused / closed mid-job
        │   └── DeviceUnplugged     the device went away (errno 19, EOF on an input device)
        ├── DeviceTimeout           the device accepted but never answered
        └── PrinterNotReady         status check said the printer cannot print
"""

from __future__ import annotations


class HardwareError(Exception):
    """Base of every error the hub raises on purpose."""


class ConfigError(HardwareError):
    pass


class UnknownDevice(HardwareError):
    pass


class UnknownLane(HardwareError):
    pass


class UnsupportedAction(HardwareError):
    pass


class ProtocolError(HardwareError):
    pass


class FrameError(ProtocolError):
    pass


class ChecksumError(ProtocolError):
    pass


class DeviceError(HardwareError):
    pass


class DeviceUnavailable(DeviceError):
    pass


class DeviceUnplugged(DeviceUnavailable):
    pass


class DeviceTimeout(DeviceError):
    pass


class PrinterNotReady(DeviceError):
    """The printer answered a status query with a state that prevents printing.

    ``reason`` is one of ``offline``, ``paper_out``, ``cover_open``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
