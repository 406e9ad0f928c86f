"""NovaPOS hardware hub: the store's printers, drawers, scanners, scales, terminals and displays.

Layers, each importing only the ones above it:

    transports/   byte pipes: TCP, pyserial (incl. socket://), USB, evdev input, memory
    codecs/       pure protocol code: bytes in, values out (ESC/POS, HID keys, scales, terminal, display)
    drivers/      one per device kind, one command at a time per device
    simulators/   devices that speak the real protocols, on TCP, socat PTYs and pipes
    registry.py   what is plugged in (discovery.py), config overrides, lane assignment
    bus.py        per-lane numbered events with replay
    service.py    HardwareHub, the one interface (client.py: the same over HTTP)

Start here: ``hardware.service.HardwareHub`` (or ``await HardwareHub.simulated()``).
This package imports nothing from ``edge`` or ``cloud``.
"""
