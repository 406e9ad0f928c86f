"""Pure protocol codecs: bytes in, values out. No I/O, no asyncio, no clocks."""
