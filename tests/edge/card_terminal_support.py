"""A demo store server process wired to a fake Adyen terminal, for the card terminal tests."""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.adapters.payments.adyen_nexo import SharedKey
from tests.fakes.adyen_terminal import FakeAdyenTerminal
from tests.support import EdgeServer, free_port, login

KEY = SharedKey(key_identifier="novapos-test-key", key_version=1, passphrase="correct horse battery staple 42")
NOTIFY_USER, NOTIFY_PASSWORD = "adyen-terminal", "display-notify-password-7f3a"
POIID = "V400m-324688179"
LANE2_POIID = "P400Plus-275000002"  # lane 2 has a terminal of its own


class CardStore:
    def __init__(self, root: Path, demo_template: Path) -> None:
        self.root = root
        self.data_dir = root / "store"
        shutil.copytree(demo_template, self.data_dir)
        secrets_dir = root / "credentials"
        secrets_dir.mkdir()
        (secrets_dir / "adyen-passphrase").write_text(KEY.passphrase + "\n")
        (secrets_dir / "adyen-notify").write_text(NOTIFY_PASSWORD + "\n")
        self.edge_port, fake_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.edge_port}"
        self.fake = FakeAdyenTerminal(KEY, port=fake_port, poiid=POIID,
                                      notify_url=f"{self.url}/api/v1/payments/adyen/display",
                                      notify_auth=(NOTIFY_USER, NOTIFY_PASSWORD))
        self.lane2 = FakeAdyenTerminal(KEY, port=free_port(), poiid=LANE2_POIID,
                                       notify_url=self.fake.notify_url, notify_auth=self.fake.notify_auth)
        config = root / "novapos.toml"
        config.write_text(f'[payments.adyen_lanes]\n"2" = {{ poiid = "{LANE2_POIID}", url = "{self.lane2.url}" }}\n')
        self.env = {
            "NOVAPOS_CONFIG": str(config),
            "CREDENTIALS_DIRECTORY": str(secrets_dir),  # as systemd's LoadCredential= sets it
            "NOVAPOS_PAYMENTS_CARD_PROVIDER": "adyen",
            "NOVAPOS_PAYMENTS_ADYEN_TERMINAL_URL": self.fake.url,
            "NOVAPOS_PAYMENTS_ADYEN_POIID": POIID,
            "NOVAPOS_PAYMENTS_ADYEN_KEY_IDENTIFIER": KEY.key_identifier,
            "NOVAPOS_PAYMENTS_ADYEN_KEY_VERSION": str(KEY.key_version),
            "NOVAPOS_PAYMENTS_ADYEN_KEY_PASSPHRASE_FILE": "adyen-passphrase",
            "NOVAPOS_PAYMENTS_ADYEN_NOTIFY_USERNAME": NOTIFY_USER,
            "NOVAPOS_PAYMENTS_ADYEN_NOTIFY_PASSWORD_FILE": "adyen-notify",
            "NOVAPOS_PAYMENTS_ADYEN_PAYMENT_TIMEOUT_S": "30",
            "NOVAPOS_PAYMENTS_ADYEN_STATUS_TIMEOUT_S": "3",
            "NOVAPOS_PAYMENTS_SWEEP_INTERVAL_S": "0.2",
        }
        self.server = EdgeServer(self.data_dir, self.edge_port, extra_env=self.env)
        self.http = httpx.Client(base_url=self.url, timeout=60)
        self._headers: dict[str, dict[str, str]] = {}
        self.answers: list[str] = []  # every API answer body, for the card-number canary

    def start(self) -> CardStore:
        self.fake.start()
        self.lane2.start()
        self.server.start()
        return self

    def stop(self) -> None:
        self.http.close()
        self.server.stop()
        self.fake.stop()
        self.lane2.stop()

    def restart_edge(self) -> None:
        self.server.start()
        self._headers.clear()

    def headers(self, user: str) -> dict[str, str]:
        if user not in self._headers:
            self._headers[user] = login(self.http, user)
        return self._headers[user]

    def call(self, method: str, path: str, user: str = "cashier", body: Any = None, *, idem: bool = True,
             http: httpx.Client | None = None) -> httpx.Response:
        headers = dict(self.headers(user))
        if idem and method == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        response = (http or self.http).request(method, path, json=body, headers=headers)
        self.answers.append(response.text)
        return response

    def product(self, index: int) -> dict[str, Any]:
        items = self.call("GET", "/api/v1/products?limit=200", "manager").json()["items"]
        return [p for p in items if not p["sold_by_weight"]][index]

    def total(self, sku: str, quantity: int = 1) -> int:
        quote = self.call("POST", "/api/v1/orders/quote", body={"lane_id": "1", "lines": [
            {"sku": sku, "quantity": quantity}]}, idem=False)
        assert quote.status_code == 200, quote.text
        return quote.json()["total_cents"]

    def card_sale(self, sku: str, quantity: int = 1, *, lane: str = "1") -> dict[str, Any]:
        total = self.total(sku, quantity)
        response = self.call("POST", "/api/v1/orders", body={
            "lane_id": lane, "lines": [{"sku": sku, "quantity": quantity}],
            "tenders": [{"method": "card", "amount_cents": total}]})
        assert response.status_code == 201, response.text
        return response.json()

    def card_sale_in_background(self, sku: str) -> tuple[threading.Thread, dict[str, Any]]:
        """Start a card sale that waits on the terminal; the answer lands in the returned dict."""
        total = self.total(sku)
        result: dict[str, Any] = {}
        headers = {**self.headers("cashier"), "Idempotency-Key": uuid.uuid4().hex}
        body = {"lane_id": "1", "lines": [{"sku": sku, "quantity": 1}],
                "tenders": [{"method": "card", "amount_cents": total}]}

        def run() -> None:
            try:
                with httpx.Client(base_url=self.url, timeout=60) as http:
                    response = http.post("/api/v1/orders", json=body, headers=headers)
                    result["status"], result["body"] = response.status_code, response.json()
            except httpx.HTTPError as err:
                result["error"] = type(err).__name__

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread, result

    def order(self, order_id: str) -> dict[str, Any]:
        return self.call("GET", f"/api/v1/orders/{order_id}").json()

    def orders_on_lane(self) -> list[dict[str, Any]]:
        return self.call("GET", "/api/v1/orders?lane_id=1&limit=200", "manager").json()["items"]


@pytest.fixture(scope="module")
def card_store(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CardStore]:
    store = CardStore(tmp_path_factory.mktemp("card-store"), demo_template).start()
    try:
        yield store
    finally:
        store.stop()


@pytest.fixture
def terminal(card_store: CardStore) -> Iterator[FakeAdyenTerminal]:
    fake = card_store.fake
    fake.script.clear()
    fake.default, fake.busy, fake.reversal, fake.host_reachable = "approved", False, "approved", True
    yield fake
    fake.release("declined:2:Refused")  # nothing left waiting for the next test
