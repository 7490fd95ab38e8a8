"""Parsing of real-shaped Jellyfin and Emby payloads (pure, no I/O)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sidecar.webhooks.parse import (
    WebhookParseError,
    decode_body,
    normalise_id,
    parse_event,
    parse_request,
)
from tests.conftest import shared_path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "webhooks"

EXPECTED = {
    "jellyfin/playback-start.json": ("playback.start", "user_data"),
    "jellyfin/playback-progress.json": ("playback.progress", "ignore"),
    "jellyfin/playback-stop.json": ("playback.stop", "user_data"),
    "jellyfin/playback-stop-episode.json": ("playback.stop", "user_data"),
    "jellyfin/userdata-saved-played.json": ("userdata.saved", "user_data"),
    "jellyfin/userdata-saved-favourite.json": ("userdata.saved", "user_data"),
    "jellyfin/userdata-saved-progress.json": ("userdata.saved", "ignore"),
    "jellyfin/item-added.json": ("item.added", "item_added"),
    "jellyfin/item-deleted.json": ("item.deleted", "item_deleted"),
    "jellyfin/user-created.json": ("user.created", "user_changed"),
    "emby/playback.start.json": ("playback.start", "user_data"),
    "emby/playback.pause.json": ("playback.pause", "ignore"),
    "emby/playback.unpause.json": ("playback.unpause", "ignore"),
    "emby/playback.stop.json": ("playback.stop", "user_data"),
    "emby/playback.stop-episode.json": ("playback.stop", "user_data"),
    "emby/item.markplayed.json": ("item.played", "user_data"),
    "emby/item.markunplayed.json": ("item.unplayed", "user_data"),
    "emby/item.rate.json": ("item.rated", "user_data"),
    "emby/library.new.json": ("item.added", "item_added"),
    "emby/library.deleted.json": ("item.deleted", "item_deleted"),
    "emby/user.created.json": ("user.created", "user_changed"),
    "emby/system.notificationtest.json": ("other", "ignore"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_example_parses(name: str) -> None:
    source = "jellyfin" if name.startswith("jellyfin") else "emby"
    _, event = parse_request(source, (EXAMPLES / name).read_bytes(), "text/plain; charset=utf-8")
    assert (event.event_type, event.action) == EXPECTED[name]
    if event.action in ("user_data", "item_added", "item_deleted"):
        assert event.item_id
    if event.action in ("user_data", "user_changed"):
        assert event.user_id


def test_examples_cover_the_folder() -> None:
    on_disk = {str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*.json")}
    assert on_disk == set(EXPECTED)


def test_stop_carries_position_and_completion() -> None:
    _, jf = parse_request("jellyfin", (EXAMPLES / "jellyfin/playback-stop.json").read_bytes(), None)
    assert jf.position_ticks == 63900000000 and jf.played_to_completion is True
    _, em = parse_request("emby", (EXAMPLES / "emby/playback.stop-episode.json").read_bytes(), None)
    assert em.position_ticks == 9000000000 and em.played_to_completion is False
    assert em.item_id == "3105" and em.item_type == "Episode"


def test_multipart_example_as_emby_sends_it() -> None:
    raw = (EXAMPLES / "emby/playback.stop.multipart.http").read_bytes()
    head, body = raw.split(b"\r\n\r\n", 1)
    ctype = next(line.split(b": ", 1)[1] for line in head.split(b"\r\n") if line.startswith(b"Content-Type"))
    _, event = parse_request("emby", body, ctype.decode())
    assert event.event_type == "playback.stop" and event.item_id == "2417"


def test_reference_payloads_parse() -> None:
    paths = sorted(shared_path("webhooks").glob("*.json"))
    assert paths
    for path in paths:
        source = "jellyfin" if path.name.startswith("jellyfin") else "emby"
        _, event = parse_request(source, path.read_bytes(), "application/json")
        assert event.event_type != "other", path.name


def test_urlencoded_data_field_and_generic_form() -> None:
    from urllib.parse import urlencode

    doc = json.loads((EXAMPLES / "emby/item.markplayed.json").read_text())
    body = urlencode({"data": json.dumps(doc)}).encode()
    _, event = parse_request("emby", body, "application/x-www-form-urlencoded")
    assert event.event_type == "item.played"
    form = urlencode({"NotificationType": "PlaybackStop", "UserId": "AB-not-a-guid", "ItemId": "1"}).encode()
    with pytest.raises(WebhookParseError, match="UserId"):
        parse_request("jellyfin", form, "application/x-www-form-urlencoded")
    ok = urlencode({"NotificationType": "PlaybackStop", "UserId": "abc123", "ItemId": "42"}).encode()
    assert parse_request("jellyfin", ok, "application/x-www-form-urlencoded")[1].item_id == "42"


def test_dashed_guids_are_normalised() -> None:
    assert normalise_id("5D0C7E2A-1B9F-4C8E-8A3D-6B4F2E1C0A97", "x") == "5d0c7e2a1b9f4c8e8a3d6b4f2e1c0a97"
    assert normalise_id("5D0C7E2A1B9F4C8E8A3D6B4F2E1C0A97", "x") == "5d0c7e2a1b9f4c8e8a3d6b4f2e1c0a97"
    assert normalise_id(2417, "x") == "2417"
    doc = json.loads((EXAMPLES / "jellyfin/playback-stop.json").read_text())
    doc["ItemId"] = "5d0c7e2a-1b9f-4c8e-8a3d-6b4f2e1c0a97"
    doc["PlaybackPositionTicks"] = "63900000000"  # a Handlebars template quotes numbers
    doc["PlayedToCompletion"] = "True"
    event = parse_event("jellyfin", doc)
    assert event.item_id == "5d0c7e2a1b9f4c8e8a3d6b4f2e1c0a97"
    assert event.position_ticks == 63900000000 and event.played_to_completion is True


@pytest.mark.parametrize(
    ("body", "ctype", "message"),
    [
        (b"", "application/json", "empty body"),
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "JSON object"),
        (b"\xff\xfe{}", "text/plain", "not JSON"),
        (b'{"a": "\xff"}', "application/json", "UTF-8"),
        (b"hello", "text/plain", "not JSON"),
        (b"--x\r\n\r\n--x--", "multipart/form-data", "boundary"),
        (
            b'--b\r\nContent-Disposition: form-data; name="other"\r\n\r\n{}\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
            "no 'data'",
        ),
        (b"[" * 5000 + b"]" * 5000, "application/json", "nested too deeply"),
    ],
)
def test_malformed_bodies_say_what_is_wrong(body: bytes, ctype: str, message: str) -> None:
    with pytest.raises(WebhookParseError, match=message):
        decode_body(body, ctype)


@pytest.mark.parametrize(
    ("source", "payload", "message"),
    [
        ("jellyfin", {}, "NotificationType"),
        ("jellyfin", {"NotificationType": 5}, "must be a string"),
        ("jellyfin", {"NotificationType": "PlaybackStop", "ItemId": "1"}, "no user id"),
        ("jellyfin", {"NotificationType": "PlaybackStop", "UserId": "a1"}, "no item id"),
        ("jellyfin", {"NotificationType": "PlaybackStop", "UserId": "a1", "ItemId": ["x"]}, "ItemId"),
        (
            "jellyfin",
            {"NotificationType": "PlaybackStop", "UserId": "a1", "ItemId": "1", "PlaybackPositionTicks": "x"},
            "ticks",
        ),
        ("emby", {"Title": "x"}, "no Event"),
        ("emby", {"Event": "playback.stop", "User": "maria", "Item": {"Id": "1"}}, "'User' must be an object"),
        ("emby", {"Event": "item.markplayed", "User": {"Id": "abc"}, "Item": {"Id": "../../Users"}}, "Item.Id"),
    ],
)
def test_wrong_payloads_say_what_is_wrong(source: str, payload: dict[str, object], message: str) -> None:
    with pytest.raises(WebhookParseError, match=message):
        parse_event(source, payload)  # type: ignore[arg-type]


def test_unknown_events_are_ignored_not_rejected() -> None:
    event = parse_event("jellyfin", {"NotificationType": "PluginInstalled"})
    assert event.action == "ignore" and event.event_type == "other"
    event = parse_event("emby", {"Event": "system.updateavailable"})
    assert event.action == "ignore"


HUGE = "9" * 5000  # beyond Python's 4300-digit int-conversion limit


def playback_stop(ticks: str) -> bytes:
    """A Jellyfin PlaybackStop whose PlaybackPositionTicks is the JSON text ``ticks``."""
    head = '{"NotificationType": "PlaybackStop", "UserId": "a1", "ItemId": "1", "PlaybackPositionTicks": '
    return (head + ticks + "}").encode()


@pytest.mark.parametrize(
    "body",
    [
        playback_stop(HUGE),
        playback_stop("-" + HUGE),
        ('{"NotificationType": "PluginInstalled", "Deep": {"List": [1, 2, ' + HUGE + "]}}").encode(),
    ],
)
def test_huge_integers_anywhere_are_refused_with_a_message(body: bytes) -> None:
    with pytest.raises(WebhookParseError, match=r"body has a number with 5000 digits; numbers of more than 4300"):
        decode_body(body, "application/json")


def test_huge_integer_in_a_multipart_data_field_is_refused() -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="data"\r\n\r\n' + playback_stop(HUGE) + b"\r\n--b--\r\n"
    with pytest.raises(WebhookParseError, match="multipart field 'data' has a number with 5000 digits"):
        decode_body(body, "multipart/form-data; boundary=b")


@pytest.mark.parametrize(
    "ticks",
    [
        str(2**63),
        str(2**63 + 12345),
        "9" * 4000,  # readable, but far beyond BIGINT
        "-1",
        str(-(2**63)),
        '"9223372036854775808"',
        '"-5"',
        "1e30",
        "-1.5",
    ],
)
def test_ticks_outside_bigint_or_negative_are_refused(ticks: str) -> None:
    payload = decode_body(playback_stop(ticks), "application/json")
    with pytest.raises(WebhookParseError, match=r"PlaybackPositionTicks must be between 0 and 9223372036854775807"):
        parse_event("jellyfin", payload)
    emby = {"Event": "playback.stop", "User": {"Id": "a1"}, "Item": {"Id": "1"}}
    emby["PlaybackInfo"] = {"PositionTicks": payload["PlaybackPositionTicks"]}
    with pytest.raises(WebhookParseError, match=r"PlaybackInfo.PositionTicks must be between 0 and"):
        parse_event("emby", emby)


@pytest.mark.parametrize("ticks", ["NaN", "Infinity", "true", '"12abc"', '"1 2"', "[1]", '{"t": 1}'])
def test_ticks_that_are_not_numbers_are_refused(ticks: str) -> None:
    payload = decode_body(playback_stop(ticks), "application/json")
    with pytest.raises(WebhookParseError, match="PlaybackPositionTicks must be a number of ticks"):
        parse_event("jellyfin", payload)


@pytest.mark.parametrize(
    ("ticks", "expected"),
    [("0", 0), (str(2**63 - 1), 2**63 - 1), ('"9223372036854775807"', 2**63 - 1), ("12.0", 12), ('" 42 "', 42)],
)
def test_ticks_at_the_edges_of_the_range_are_kept(ticks: str, expected: int) -> None:
    payload = decode_body(playback_stop(ticks), "application/json")
    assert parse_event("jellyfin", payload).position_ticks == expected
