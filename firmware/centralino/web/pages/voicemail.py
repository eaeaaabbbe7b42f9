"""Segreteria: each office's messages, played in the browser, marked heard, deleted.

The recording comes through the control socket (``voicemail audio``) and is served as the WAV
file it is; playing it marks it heard by the account listening (``voicemail mark``), as an
office phone's *98 does. Office staff see their own offices' messages; read-only accounts see the
list but cannot play (playing is a change: it marks the message heard).
"""

from __future__ import annotations

import base64

from aiohttp import web

from ..app import allowed, audit, form, render, services


async def _message(request: web.Request) -> dict:
    number = int(request.match_info["number"])
    answer = await services(request).client.ask("voicemail")
    for message in answer["messages"]:
        if message["id"] == number:
            if not request["account"].sees_office(message["office"]):
                raise web.HTTPForbidden(text="Messaggio di un altro ufficio")
            return message
    raise web.HTTPNotFound(text=f"Nessun messaggio n. {number}")


@allowed("view")
async def voicemail_page(request: web.Request):
    account = request["account"]
    answer = await services(request).client.ask("voicemail")
    messages = [m for m in answer["messages"] if account.sees_office(m["office"])][::-1]
    offices = sorted({m["office"] for m in messages})
    chosen = request.query.get("ufficio", "")
    if chosen:
        messages = [m for m in messages if m["office"] == chosen]
    return render(request, "voicemail.html", title="Segreteria", messages=messages, offices=offices, chosen=chosen)


@allowed("change")
async def audio(request: web.Request):
    message = await _message(request)
    client = services(request).client
    data = await client.ask("voicemail", "audio", str(message["id"]))
    if message["heard_at"] is None:
        await client.ask("voicemail", "mark", str(message["id"]), request["account"].name)
        audit(request, "voicemail-heard", message["id"])
    return web.Response(body=base64.b64decode(data["wav_base64"]), content_type="audio/wav",
                        headers={"Content-Disposition": f'inline; filename="messaggio-{message["id"]}.wav"'})


@allowed("change")
async def mark_heard(request: web.Request):
    await form(request)
    message = await _message(request)
    await services(request).client.ask("voicemail", "mark", str(message["id"]), request["account"].name)
    audit(request, "voicemail-heard", message["id"])
    request["session"].note("success", f"Messaggio n. {message['id']} segnato come ascoltato.")
    raise web.HTTPSeeOther("/segreteria")


@allowed("change")
async def delete(request: web.Request):
    await form(request)
    message = await _message(request)
    await services(request).client.ask("voicemail", "delete", str(message["id"]))
    audit(request, "voicemail-delete", message["id"], detail=f"office {message['office']}")
    request["session"].note("success", f"Messaggio n. {message['id']} eliminato.")
    raise web.HTTPSeeOther("/segreteria")


def setup(app: web.Application) -> None:
    app.router.add_get("/segreteria", voicemail_page)
    app.router.add_get(r"/segreteria/{number:\d+}/audio", audio)
    app.router.add_post(r"/segreteria/{number:\d+}/ascoltato", mark_heard)
    app.router.add_post(r"/segreteria/{number:\d+}/elimina", delete)
