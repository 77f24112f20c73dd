"""Software installs through Snipe-IT (REST API v1): a title's license seat is checked
out to the device's asset, and checked in again to uninstall.

* the asset: ``GET /api/v1/hardware?search=<device>``, the row whose ``name`` or
  ``asset_tag`` is exactly the device;
* the license: ``GET /api/v1/licenses?search=<title>``, the row whose ``name`` is the
  title (case-insensitive);
* its seats: ``GET /api/v1/licenses/<id>/seats``; a seat whose ``assigned_asset`` is the
  asset means the title is already there, else the first free seat (no asset, no user);
* checkout: ``PATCH /api/v1/licenses/<id>/seats/<seat>`` with ``{"asset_id": N}``;
  checkin: the same with ``asset_id`` and ``assigned_to`` null.

Snipe-IT answers a refused change with HTTP 200 and ``{"status": "error", "messages"}``;
that is an ``ActionFailedError``.  A network failure, HTTP 429 or 5xx is a
``TargetUnavailableError`` (the runtime retries later, so each call is made once; see
``gateway.http``).  Values reach Snipe-IT only as
encoded query parameters or JSON, and ids in paths only as integers the server gave.
The token is sent as ``Authorization: Bearer`` and never appears in a message.
"""

from __future__ import annotations

from typing import Any

import httpx

from gateway.devices.installer import InstallResult
from gateway.devices.snipeit_settings import SnipeItSettings
from gateway.errors import ActionFailedError, TargetUnavailableError
from gateway.http import Failure, RetryingClient, RetryPolicy, map_failure, open_client

__all__ = ["SnipeItInstaller", "SnipeItSettings"]


def _id(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ActionFailedError(f"snipe-it answered {what} without a valid id")
    return value


class SnipeItInstaller:
    """A ``SoftwareInstaller`` over Snipe-IT; ``transport`` replaces the network in tests."""

    def __init__(
        self, settings: SnipeItSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.name = settings.name
        client = open_client(
            base_url=settings.base_url + "/api/v1",
            token=settings.secret("token"),
            timeout=settings.timeout_seconds,
            transport=transport,
        )
        self._http = RetryingClient(
            client,
            name=self.name,
            policy=RetryPolicy(max_retries=0),
            unavailable=self._unavailable,
        )

    def _unavailable(self, failure: Failure) -> TargetUnavailableError:
        return map_failure(
            failure,
            lambda text: TargetUnavailableError(self.name, text),
            lambda f: f.error_name or f"HTTP {f.status}",
        )

    def _call(self, method: str, path: str, **options: Any) -> Any:
        response = self._http.request(method, path, **options)
        if response.status_code in (401, 403):
            raise ActionFailedError(
                f"{self.name} refused the API token (HTTP {response.status_code})"
            )
        if response.status_code != 200:
            raise ActionFailedError(
                f"{self.name} answered HTTP {response.status_code} to {method} {path}"
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise ActionFailedError(f"{self.name} answered something that is not JSON") from exc
        if not isinstance(body, dict):
            raise ActionFailedError(f"{self.name} answered an unexpected shape")
        if body.get("status") == "error":
            raise ActionFailedError(f"{self.name} refused: {str(body.get('messages'))[:200]}")
        return body

    def _rows(self, path: str, **params: Any) -> list[dict[str, Any]]:
        body = self._call("GET", path, params={"limit": self.settings.page_size, **params})
        rows = body.get("rows")
        if not isinstance(rows, list):
            raise ActionFailedError(f"{self.name} answered a list without rows")
        return [row for row in rows if isinstance(row, dict)]

    def _asset(self, device: str) -> int:
        for row in self._rows("/hardware", search=device):
            if device in (row.get("name"), row.get("asset_tag")):
                return _id(row.get("id"), "an asset")
        raise ActionFailedError(f"{self.name} has no asset named {device!r}")

    def _license(self, title: str) -> int:
        for row in self._rows("/licenses", search=title):
            if str(row.get("name", "")).lower() == title.lower():
                return _id(row.get("id"), "a license")
        raise ActionFailedError(f"{self.name} has no license for {title!r}")

    def _seats(self, license_id: int) -> list[dict[str, Any]]:
        return self._rows(f"/licenses/{license_id}/seats")

    @staticmethod
    def _holder(seat: dict[str, Any]) -> object:
        asset = seat.get("assigned_asset")
        return asset.get("id") if isinstance(asset, dict) else None

    def install(self, device: str, title: str) -> InstallResult:
        asset = self._asset(device)
        license_id = self._license(title)
        seats = self._seats(license_id)
        if any(self._holder(seat) == asset for seat in seats):
            return InstallResult(changed=False, detail=f"{title} was already on {device}")
        free = next(
            (s for s in seats if self._holder(s) is None and not s.get("assigned_user")), None
        )
        if free is None:
            raise ActionFailedError(f"{self.name}: no free seat of the {title} license")
        seat = _id(free.get("id"), "a seat")
        self._call(
            "PATCH",
            f"/licenses/{license_id}/seats/{seat}",
            json={"asset_id": asset, "note": self.settings.note},
        )
        return InstallResult(changed=True, detail=f"{title} installed on {device}")

    def uninstall(self, device: str, title: str) -> InstallResult:
        asset = self._asset(device)
        license_id = self._license(title)
        held = next((s for s in self._seats(license_id) if self._holder(s) == asset), None)
        if held is None:
            return InstallResult(changed=False, detail=f"{title} was not on {device}")
        seat = _id(held.get("id"), "a seat")
        self._call(
            "PATCH",
            f"/licenses/{license_id}/seats/{seat}",
            json={"asset_id": None, "assigned_to": None, "note": self.settings.note},
        )
        return InstallResult(changed=True, detail=f"{title} removed from {device}")

    def close(self) -> None:
        self._http.close()
