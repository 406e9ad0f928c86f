"""One driver per device kind. Each holds an asyncio.Lock so a device runs one command at a
time: two lanes printing on a shared printer must not interleave their bytes."""
