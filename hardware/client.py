"""``RemoteHardwareHub``: the HardwareHub interface, over HTTP to ``novapos-hardware serve``.

Same method names, arguments and return types as ``HardwareHub``, and the same caller
errors (UnknownLane, UnknownDevice, UnsupportedAction), so the edge's hardware port does
not care which one it holds. A hub that cannot be reached is a ``DeviceUnavailable``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import httpx
import msgspec

from hardware.bus import HubEvent
from hardware.codecs.scale import ScaleReading
from hardware.errors import DeviceUnavailable, HardwareError, UnknownDevice, UnknownLane, UnsupportedAction
from hardware.models import ActionResult, Device, PrintJob, TerminalResult

T = TypeVar("T")
_PROBLEMS = {"unknown-lane": UnknownLane, "unknown-device": UnknownDevice, "unsupported-action": UnsupportedAction}


class RemoteHardwareHub:
    def __init__(self, base_url: str, token: str | None = None, timeout_s: float = 120.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # Generous read timeout: a card sale waits for the customer at the terminal.
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/") + "/api/v1", headers=headers,
                                       timeout=httpx.Timeout(timeout_s, connect=5.0), transport=transport)

    async def start(self) -> None:
        await self._call("GET", "/devices", None, dict)

    async def stop(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> RemoteHardwareHub:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def devices(self) -> list[Device]:
        return (await self._call("GET", "/devices", None, _Items[Device])).items

    async def print_receipt(self, lane_id: str, data: bytes, ref: str) -> PrintJob:
        body = {"ref": ref, "data_b64": base64.b64encode(data).decode()}
        return await self._call("POST", f"/lanes/{lane_id}/print", body, PrintJob)

    async def reprint(self, job_id: str) -> PrintJob:
        return await self._call("POST", f"/jobs/{job_id}/reprint", None, PrintJob)

    async def jobs(self, limit: int = 50) -> list[PrintJob]:
        return (await self._call("GET", f"/jobs?limit={limit}", None, _Items[PrintJob])).items

    async def kick_drawer(self, lane_id: str) -> ActionResult:
        return await self._call("POST", f"/lanes/{lane_id}/drawer/kick", None, ActionResult)

    async def read_weight(self, lane_id: str) -> ScaleReading:
        return await self._call("GET", f"/lanes/{lane_id}/weight", None, ScaleReading)

    async def terminal_sale(self, lane_id: str, ref: str, amount_cents: int, currency: str) -> TerminalResult:
        body = {"ref": ref, "amount_cents": amount_cents, "currency": currency}
        return await self._call("POST", f"/lanes/{lane_id}/terminal/sale", body, TerminalResult)

    async def terminal_refund(self, lane_id: str, ref: str, amount_cents: int, currency: str) -> TerminalResult:
        body = {"ref": ref, "amount_cents": amount_cents, "currency": currency}
        return await self._call("POST", f"/lanes/{lane_id}/terminal/refund", body, TerminalResult)

    async def terminal_void(self, lane_id: str, ref: str) -> TerminalResult:
        return await self._call("POST", f"/lanes/{lane_id}/terminal/void", {"ref": ref}, TerminalResult)

    async def terminal_last(self, lane_id: str, ref: str) -> TerminalResult:
        return await self._call("POST", f"/lanes/{lane_id}/terminal/last", {"ref": ref}, TerminalResult)

    async def show_on_display(self, lane_id: str, line1: str, line2: str = "") -> ActionResult:
        return await self._call("POST", f"/lanes/{lane_id}/display", {"line1": line1, "line2": line2},
                                ActionResult)

    async def test_action(self, device_id: str, action: str) -> ActionResult:
        return await self._call("POST", f"/devices/{device_id}/test", {"action": action}, ActionResult)

    async def events(self, lane_id: str, since_seq: int = 0) -> AsyncIterator[HubEvent]:
        """Numbered lane events: what was missed after ``since_seq``, then live ones."""
        try:
            async with self._http.stream("GET", f"/lanes/{lane_id}/events", params={"since": since_seq},
                                         timeout=httpx.Timeout(None, connect=5.0)) as response:
                if response.status_code != 200:
                    await response.aread()
                    _raise(response)
                data: list[str] = []
                async for line in response.aiter_lines():
                    if line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif not line and data:
                        yield msgspec.json.decode("\n".join(data), type=HubEvent)
                        data = []
        except httpx.TransportError as err:
            raise DeviceUnavailable(f"hardware service unreachable: {err}") from err

    async def _call(self, method: str, path: str, body: dict[str, Any] | None, into: type[T]) -> T:
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.TransportError as err:
            raise DeviceUnavailable(f"hardware service unreachable: {err}") from err
        if response.status_code >= 400:
            _raise(response)
        return msgspec.convert(response.json(), into)


class _Items(msgspec.Struct):
    items: list[Any]

    def __class_getitem__(cls, item: type) -> type:  # _Items[Device] -> a Struct with typed items
        return msgspec.defstruct(f"Items_{item.__name__}", [("items", list[item])])  # type: ignore[valid-type]


def _raise(response: httpx.Response) -> None:
    try:
        problem = response.json()
    except json.JSONDecodeError:
        problem = {"detail": response.text}
    kind = str(problem.get("type", "")).rsplit("/", 1)[-1]
    raise _PROBLEMS.get(kind, HardwareError)(problem.get("detail") or f"HTTP {response.status_code}")
