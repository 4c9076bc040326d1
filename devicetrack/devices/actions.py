"""POST /devices/{asset_tag}/actions/{action}: one registry of the actions a device takes.
Each handler changes the device and writes its event(s) in the request's transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.devices import service
from devicetrack.devices.models import Device
from devicetrack.devices.schemas import ActionBody, ActionResult
from devicetrack.errors import NotFound

Handler = Callable[[AsyncSession, Principal, Device, ActionBody], Awaitable[int]]

ACTIONS: dict[str, Handler] = {
    "install-sim": service.install_sim,
    "remove-sim": service.remove_sim,
}


def _ensure_can_pair(principal: Principal, device: Device) -> None:
    service.ensure_can_edit(principal, device)


async def perform(
    session: AsyncSession, principal: Principal, code: str, action: str, body: ActionBody
) -> ActionResult:
    handler = ACTIONS.get(action)
    if handler is None:
        raise NotFound(f"Unknown action {action!r}.", extra={"actions": sorted(ACTIONS)})
    device = await service.get_device(session, principal, code, for_update=True)
    if action in ("install-sim", "remove-sim"):
        _ensure_can_pair(principal, device)
    event_id = await handler(session, principal, device, body)
    return ActionResult(
        device=await service.read_device(session, principal, device.asset_tag),
        action=action,
        event_id=event_id,
    )
