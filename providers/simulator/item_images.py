"""Images by name and of users: ``/Persons|Studios/{name}/Images/{imageType}`` (a placeholder for a person or
studio of the catalogue, else 404) and a user's avatar (``/Users/{userId}/Images/Primary``; Jellyfin 10.9+
``/UserImage?userId=``), 404 as for a user who never set one.

Image listing and upload: ``GET /Items/{itemId}/Images`` (``ImageInfo[]``) and
``POST /Items/{itemId}/Images/{imageType}[/{imageIndex}]``.

Jellyfin takes the upload as base64 text with an ``image/*`` content type (``ImageController.SetItemImage``
decodes the body from base64; ``[AcceptsImageFile]``) and answers 204; Emby takes the raw bytes. An uploaded
image is served in place of the placeholder and changes the item's ``ImageTags``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.responses import Response

from providers.simulator.dto import BACKDROP_TYPES
from providers.simulator.images import placeholder_png
from providers.simulator.state import SimError

if TYPE_CHECKING:
    from providers.simulator.app import Ctx, SimulatorApp

UPLOADABLE = ("primary", "backdrop", "thumb", "logo", "banner", "art", "disc", "box", "boxrear", "menu", "screenshot")


def routes(app: SimulatorApp) -> None:
    app.add("GET", "/Persons/{name}/Images/{imageType}", "anon", named_image("persons"))
    app.add("GET", "/Studios/{name}/Images/{imageType}", "anon", named_image("studios"))
    app.add("GET", "/Users/{userId}/Images/{imageType}", "anon", user_image)
    app.add("GET", "/UserImage", "anon", user_image, "jellyfin")
    app.add("GET", "/Items/{itemId}/Images", "user", list_images)
    app.add("POST", "/Items/{itemId}/Images/{imageType}", "admin", upload_image)
    app.add("POST", "/Items/{itemId}/Images/{imageType}/{imageIndex}", "admin", upload_image)


def _canonical(image_type: str) -> str:
    for name in ("Primary", "Backdrop", "Thumb", "Logo", "Banner", "Art", "Disc", "Box", "BoxRear", "Menu"):
        if name.lower() == image_type.lower():
            return name
    return image_type[:1].upper() + image_type[1:]


async def list_images(ctx: Ctx) -> Response:
    from providers.simulator.app import json_response

    item = ctx.sim.item(ctx.item_id(ctx.params["itemId"]))
    types = ["Primary", *(["Backdrop"] if item.type in BACKDROP_TYPES else [])]
    types += [_canonical(t) for (i, t) in ctx.sim.custom_images if i == item.id and _canonical(t) not in types]
    out: list[dict[str, Any]] = []
    for image_type in types:
        data, _content_type = ctx.sim.custom_images.get((item.id, image_type.lower()), (b"", ""))
        size = len(data) or len(placeholder_png(item.id, image_type))
        info: dict[str, Any] = {"ImageType": image_type, "ImageTag": image_tag(ctx, item.id, image_type)}
        if image_type == "Backdrop":
            info["ImageIndex"] = 0
        info.update(Path=f"/config/metadata/{item.id}/{image_type.lower()}.png", Height=300, Width=200, Size=size)
        out.append(info)
    return json_response(out)


def image_tag(ctx: Ctx, item_id: str, image_type: str) -> str:
    """The tag of an item's image: the placeholder's, or a hash of the uploaded bytes."""
    custom = ctx.sim.custom_images.get((item_id, image_type.lower()))
    if custom is None:
        return ctx.sim.items[item_id].image_tag
    return hashlib.md5(custom[0], usedforsecurity=False).hexdigest()


async def upload_image(ctx: Ctx) -> Response:
    from providers.simulator.app import no_content

    item = ctx.sim.item(ctx.item_id(ctx.params["itemId"]))
    image_type = ctx.params["imageType"]
    if image_type.lower() not in UPLOADABLE:
        raise SimError(400, f"Image type {image_type} cannot be uploaded")
    raw = await ctx.request.body()
    content_type = ctx.request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctx.sim.flavor == "jellyfin":
        if not content_type.startswith("image/"):
            raise SimError(415, "Unsupported Media Type")
        try:
            data = base64.b64decode(raw, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise SimError(400, "The image must be sent as base64") from exc
    else:
        data = raw
    if not data:
        raise SimError(400, "No image data")
    ctx.sim.custom_images[(item.id, image_type.lower())] = (data, content_type or "application/octet-stream")
    ctx.sim.bump()
    return no_content()


def named_image(kind: str) -> Callable[[Ctx], Awaitable[Response]]:
    """A person's photo or a studio's logo: a placeholder when the catalogue has that name."""

    async def handler(ctx: Ctx) -> Response:
        name = unquote(ctx.params["name"]).lower()
        for item in ctx.sim.items.values():
            names = [p.name for p in item.people] if kind == "persons" else item.studios
            if any(n.lower() == name for n in names):
                return Response(placeholder_png(f"{kind}:{name}", ctx.params["imageType"]), media_type="image/png")
        raise SimError(404, f"No image for {name}")

    return handler


async def user_image(ctx: Ctx) -> Response:
    user_id = ctx.params.get("userId") or ctx.arg("userId") or ""
    ctx.sim.user(user_id)  # 404 for an unknown user
    raise SimError(404, "The user has no image")
