"""Configurazione (administrators): the file, a new one checked and diffed before it is applied,
the service mode, migrations to the mobile, and a backup to download.

A proposed file (uploaded, or edited in the page) is sent whole to the daemon, which checks it
(``config test``) and diffs it against the file on disk (``config diff``) without writing anything
(a planned migration window from its form is written into the text first, ``migration_window.py``);
an error is shown at its line in the numbered listing. Only then can it be applied (``config
apply``), which the daemon refuses again if the text has a problem.
"""

from __future__ import annotations

import re

from aiohttp import web

from ..app import allowed, audit, form, refuse_csrf, render, services
from ..control_client import DaemonRefused
from ..migration_window import WindowError, add_window
from ..sessions import csrf_ok
from .status import optional

UPLOAD_NAME = re.compile(r"[^A-Za-z0-9._-]+")
TEXT_MAX_BYTES = 48 * 1024


async def _common(request: web.Request) -> dict:
    client = services(request).client
    shown = await client.ask("config", "show")
    return {"shown": shown, "failover": await optional(client, "failover"), "service": await client.ask("service"),
            "backup": await client.ask("backup", "status"), "restore": await client.ask("restore", "status")}


@allowed("configure")
async def config_page(request: web.Request):
    return render(request, "config.html", title="Configurazione", result=None, proposed=None, diff=None,
                  **await _common(request))


def _proposed(data) -> tuple[str, str]:
    """The text and the name to call it by: the uploaded file if one was chosen, else the editor's."""
    upload = data.get("file")
    if upload is not None and getattr(upload, "filename", ""):
        raw = upload.file.read(TEXT_MAX_BYTES + 1)
        name = UPLOAD_NAME.sub("_", upload.filename)[:64] or "caricato.yaml"
        if len(raw) > TEXT_MAX_BYTES:
            raise ValueError(f"il file {name} supera {TEXT_MAX_BYTES // 1024} KB")
        try:
            return raw.decode("utf-8"), name
        except UnicodeDecodeError:
            raise ValueError(f"il file {name} non è testo UTF-8") from None
    text = str(data.get("testo", ""))
    if not text.strip():
        raise ValueError("scelga un file da caricare o scriva la configurazione nell'editor")
    return text.replace("\r\n", "\n"), "modificato.yaml"


@allowed("configure")
async def check(request: web.Request):
    data = await form(request)
    try:
        text, name = _proposed(data)
    except ValueError as err:
        request["session"].note("danger", str(err).capitalize() + ".")
        raise web.HTTPSeeOther("/configurazione")
    return await _verified(request, name, text)


@allowed("configure")
async def plan_window(request: web.Request):
    """A migration window from the form, written into the file's text, then checked and diffed."""
    data = await form(request)
    shown = await services(request).client.ask("config", "show")
    try:
        text = add_window(shown["text"], str(data.get("inizio", "")), str(data.get("fine", "")))
    except WindowError as err:
        request["session"].note("danger", f"Finestra non aggiunta: {err}.")
        raise web.HTTPSeeOther("/configurazione#t-migrazione")
    return await _verified(request, "finestra-migrazione.yaml", text)


async def _verified(request: web.Request, name: str, text: str) -> web.Response:
    client = services(request).client
    result = await client.ask("config", "test", name, text)
    diff = await client.ask("config", "diff", text)
    audit(request, "config-check", name, "ok" if result["ok"] else "refused", result.get("error", ""))
    return render(request, "config.html", code=200 if result["ok"] else 422, title="Configurazione",
                  result=result, proposed={"name": name, "text": text, "lines": text.split("\n")}, diff=diff,
                  **await _common(request))


@allowed("configure")
async def apply(request: web.Request):
    data = await form(request)
    text = str(data.get("testo", "")).replace("\r\n", "\n")
    try:
        answer = await services(request).client.ask("config", "apply", request["account"].name, text)
    except DaemonRefused as err:
        audit(request, "config-apply", "", "refused", str(err))
        request["session"].note("danger", f"Configurazione non applicata: {err}")
        raise web.HTTPSeeOther("/configurazione")
    audit(request, "config-apply", answer["file"], detail=answer["summary"])
    request["session"].note("success", f"Configurazione scritta in {answer['file']} ({answer['summary']}); "
                            "sarà attiva al prossimo riavvio del centralino. La precedente è in "
                            f"{answer['previous']}.")
    raise web.HTTPSeeOther("/configurazione")


@allowed("configure")
async def service_mode(request: web.Request):
    data = await form(request)
    mode = str(data.get("modo", ""))
    if mode not in ("day", "night", "auto"):
        raise web.HTTPBadRequest(text="modo sconosciuto")
    await services(request).client.ask("service", mode)
    audit(request, "service-mode", mode)
    request["session"].note("success", "Modalità di servizio aggiornata.")
    raise web.HTTPSeeOther("/configurazione")


@allowed("configure")
async def migration(request: web.Request):
    data = await form(request)
    action = str(data.get("azione", ""))
    if action not in ("start", "stop"):
        raise web.HTTPBadRequest(text="azione sconosciuta")
    await services(request).client.ask("migration", action)
    audit(request, f"migration-{action}")
    request["session"].note("success", "Migrazione avviata: le chiamate vanno al cellulare." if action == "start"
                            else "Migrazione terminata dal pannello.")
    raise web.HTTPSeeOther("/configurazione")


@allowed("configure")
async def backup_start(request: web.Request):
    await form(request)
    await services(request).client.ask("backup", "create")
    audit(request, "backup-create")
    request["session"].note("info", "Copia di sicurezza in preparazione: ricarichi la pagina tra qualche secondo.")
    raise web.HTTPSeeOther("/configurazione#copia")


@allowed("configure")
async def backup_download(request: web.Request):
    import base64

    client = services(request).client
    status = await client.ask("backup", "status")
    if status["state"] != "ready":
        raise web.HTTPConflict(text="Nessuna copia di sicurezza pronta")
    response = web.StreamResponse(headers={"Content-Type": "application/gzip", "Content-Length": str(status["bytes"]),
                                           "Content-Disposition": f'attachment; filename="{status["name"]}"'})
    await response.prepare(request)
    offset = 0
    while offset is not None:
        chunk = await client.ask("backup", "read", str(offset))
        await response.write(base64.b64decode(chunk["data"]))
        offset = chunk["next"]
    audit(request, "backup-download", status["name"], detail=f"{status['bytes']} bytes sha256 {status['sha256']}")
    await response.write_eof()
    return response


@allowed("configure")
async def restore_upload(request: web.Request):
    """A backup archive, streamed to the daemon in pieces and checked there; applied at its restart."""
    import base64
    import hashlib

    client = services(request).client
    reader = await request.multipart()
    first = await reader.next()
    if first is None or first.name != "csrf" or not csrf_ok(request["session"], (await first.text())[:200]):
        return refuse_csrf(request)
    upload = await reader.next()
    if upload is None or upload.name != "archivio" or not upload.filename:
        request["session"].note("danger", "Scelga l'archivio .tar.gz di una copia di sicurezza.")
        raise web.HTTPSeeOther("/configurazione#copia")
    size = (await client.ask("restore", "begin"))["chunk_bytes"]
    digest, offset, pending = hashlib.sha256(), 0, b""
    while True:
        data = await upload.read_chunk(size)
        pending += data
        while len(pending) >= size or (not data and pending):
            piece, pending = pending[:size], pending[size:]
            await client.ask("restore", "chunk", str(offset), base64.b64encode(piece).decode())
            digest.update(piece)
            offset += len(piece)
        if not data:
            break
    status = await client.ask("restore", "check", digest.hexdigest())
    audit(request, "restore-upload", upload.filename, detail=f"{offset} bytes sha256 {digest.hexdigest()}")
    request["session"].note("info", "Archivio ricevuto: il centralino lo sta verificando. Se è valido, il ripristino "
                            "avverrà al prossimo riavvio del centralino." if status["state"] != "failed"
                            else f"Archivio rifiutato: {status['error']}")
    raise web.HTTPSeeOther("/configurazione#ripristino")


@allowed("configure")
async def restore_cancel(request: web.Request):
    await form(request)
    await services(request).client.ask("restore", "cancel")
    audit(request, "restore-cancel")
    request["session"].note("success", "Ripristino annullato.")
    raise web.HTTPSeeOther("/configurazione#ripristino")


def setup(app: web.Application) -> None:
    app.router.add_get("/configurazione", config_page)
    app.router.add_post("/configurazione/verifica", check)
    app.router.add_post("/configurazione/applica", apply)
    app.router.add_post("/configurazione/servizio", service_mode)
    app.router.add_post("/configurazione/migrazione", migration)
    app.router.add_post("/configurazione/finestra", plan_window)
    app.router.add_post("/configurazione/copia", backup_start)
    app.router.add_get("/configurazione/copia.tar.gz", backup_download)
    app.router.add_post("/configurazione/ripristino", restore_upload)
    app.router.add_post("/configurazione/ripristino/annulla", restore_cancel)
