"""The server itself and its users: identity, login, user lists and policies."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from providers.base import ServerInfo, User
from providers.errors import ProviderAuthError, ProviderResponseError
from providers.mediabrowser import dto as d
from providers.mediabrowser.connection import Connection


class ServerAndUsers(Connection):
    async def server_info(self) -> ServerInfo:
        body = await self._get("/System/Info")
        if not isinstance(body, dict) or "Id" not in body:
            raise ProviderResponseError(
                f"{self.label} answered /System/Info without a server id: is the URL right?",
                server=self.label,
            )
        self._remember_version(body.get("Version"))
        product_name = str(body.get("ProductName") or "")
        is_jellyfin = "jellyfin" in product_name.lower()
        if is_jellyfin != (self.kind == "jellyfin"):
            other = "Jellyfin" if is_jellyfin else "Emby"
            raise ProviderResponseError(
                f"The server at {self.base_url} is {other} {body.get('Version', '')}, not {self.product}: "
                f"set the media server type to {other.lower()}.",
                server=self.label,
            )
        return ServerInfo(
            id=d.normalise_id(str(body["Id"])),
            name=str(body.get("ServerName") or ""),
            version=str(body.get("Version") or ""),
            product=self.kind,
            local_address=body.get("LocalAddress"),
        )

    async def authenticate_user(self, name: str, password: str) -> tuple[User, str]:
        device = "marquee-login-" + hashlib.sha256(name.encode()).hexdigest()[:12]
        try:
            response = await self._http.request(
                "POST",
                self.p("/Users/AuthenticateByName"),
                json_body={"Username": name, "Pw": password},
                auth_headers=self.auth_headers(None, device),
            )
        except ProviderAuthError as exc:
            raise ProviderAuthError(
                f"{self.label} refused the login of {name!r}: wrong user name or password.",
                server=self.label,
                status_code=exc.status_code,
            ) from exc
        body = self._json_object(response, "/Users/AuthenticateByName")
        if not isinstance(body.get("User"), dict) or not body.get("AccessToken"):
            raise ProviderResponseError(f"{self.label} answered the login without a user or token", server=self.label)
        return d.user_from_dto(body["User"]), str(body["AccessToken"])

    async def list_users(self) -> list[User]:
        return [d.user_from_dto(u) for u in await self._list_resource("/Users")]

    async def get_user(self, user_id: str) -> User:
        return d.user_from_dto(await self._get(f"/Users/{user_id}", what=f"user {user_id}"))

    async def update_user_policy(self, user_id: str, policy: dict[str, Any]) -> None:
        await self._post(f"/Users/{user_id}/Policy", json_body=policy, what=f"user {user_id}", idempotent=True)

    async def set_user_folders(self, user_id: str, *, enable_all_folders: bool, enabled_folders: Sequence[str]) -> User:
        user = await self.get_user(user_id)
        policy = dict(user.policy)
        policy["EnableAllFolders"] = enable_all_folders
        policy["EnabledFolders"] = list(enabled_folders)
        await self.update_user_policy(user_id, policy)
        return await self.get_user(user_id)
