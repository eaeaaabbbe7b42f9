"""``/eventi``: server-sent events for the live pages, from the hub's topics.

``?argomenti=wallboard,calls,events``. The first messages are the latest snapshots, so a page
that reconnects is right at once; a comment line every 15 s keeps proxies from closing an idle
stream. Office staff get the wallboard of their own offices only, and no call events.
"""

from __future__ import annotations

import json

from aiohttp import web

from ..app import allowed, services
from ..live import SNAPSHOTS, Subscriber
from .wallboard import visible

KEEPALIVE_S = 15.0
TOPICS = {"wallboard", "calls", "events"}


def _for(account, topic: str, data):
    if topic == "wallboard" and isinstance(data, dict):
        return {**data, "offices": visible(account, data.get("offices", []))}
    return data


@allowed("view")
async def event_stream(request: web.Request):
    account = request["account"]
    topics = {t for t in request.query.get("argomenti", "wallboard").split(",") if t in TOPICS}
    if not account.may("overview"):
        topics &= {"wallboard"}
    hub = services(request).hub
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    sub = Subscriber(topics)
    sub.put("daemon", {"up": hub.daemon_up})
    for topic in topics & set(SNAPSHOTS):
        if topic in hub.latest and hub.daemon_up:
            sub.put(topic, hub.latest[topic])
    hub.subscribe(sub)
    try:
        await response.write(b"retry: 3000\n\n")
        while True:
            messages = await sub.next(KEEPALIVE_S)
            if not messages:
                await response.write(b": keepalive\n\n")
                continue
            chunk = b""
            if sub.lost:
                chunk += b"event: lost\ndata: " + str(sub.lost).encode() + b"\n\n"
                sub.lost = 0
            for topic, data in messages:
                text = json.dumps(_for(account, topic, data), default=str, separators=(",", ":"))
                chunk += f"event: {topic}\ndata: {text}\n\n".encode()
            await response.write(chunk)
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
        hub.unsubscribe(sub)
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/eventi", event_stream)
