"""How an office, a menu, a menu option or a group is identified and how it is called.

Every such item has an identifier (``id``: lower-case, what destinations such as ``office:tributi``
and the records use) and a display name (``name``: "Ufficio Oggetti smarriti", what callers hear,
e-mails and tables show). Older files wrote only ``name: tributi``; that still works, the
identifier then doubling as the name, with the display name taken from the shipped recording's
text when there is one. A ``name`` that is not an identifier and comes without ``id`` gets an
identifier made from it ("Ufficio Oggetti smarriti" -> ``ufficio_oggetti_smarriti``).

``spoken`` is the name as said after "per" ("l'Ufficio Oggetti smarriti"); without it the article
is chosen from the name (``articled``).
"""

from __future__ import annotations

import re
import unicodedata

IDENT = r"[a-z0-9_-]+"
SPOKEN_NAME = r"[^\n\t]{1,80}"

# the article a common first word takes; a word not listed gets one by its ending
_ARTICLES = {
    "ufficio": "l'", "uffici": "gli", "servizio": "il", "servizi": "i", "sportello": "lo",
    "polizia": "la", "biblioteca": "la", "museo": "il", "musei": "i", "centro": "il",
    "segreteria": "la", "ragioneria": "la", "anagrafe": "l'", "protocollo": "il", "personale": "il",
    "economato": "l'", "patrimonio": "il", "ambiente": "l'", "edilizia": "l'", "viabilità": "la",
    "progettazione": "la", "scuola": "la", "tributi": "i", "comune": "il", "pronto": "il",
    "oggetti": "gli", "area": "l'", "settore": "il", "unione": "l'", "municipio": "il",
    "corpo": "il", "comando": "il", "stato": "lo", "sindaco": "il", "giunta": "la",
}
_VOWELS = "aeiouàèéìòù"


def slug(text: str) -> str:
    """An identifier made from a display name: accents dropped, other characters as '_'."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_") or "x"


def article(name: str) -> str:
    """The definite article for ``name`` ("l'", "il", "lo", "la", "i", "gli", "le")."""
    first = name.split()[0].lower() if name.split() else ""
    if first in _ARTICLES:
        return _ARTICLES[first]
    if not first:
        return ""
    if first[0] in _VOWELS:
        return "gli" if first.endswith("i") else "l'"
    s_impure = first[0] in "zxy" or first.startswith(("gn", "ps", "pn")) or (
        first[0] == "s" and len(first) > 1 and first[1] not in _VOWELS)
    if first.endswith("a"):
        return "la"
    if first.endswith("e") and first.endswith(("zione", "sione", "ione")):
        return "la"
    if first.endswith("i"):
        return "gli" if s_impure else "i"
    return "lo" if s_impure else "il"


def articled(name: str) -> str:
    """ "Ufficio Tributi" -> "l'Ufficio Tributi", "Musei" -> "i Musei", "Polizia" -> "la Polizia" """
    art = article(name)
    if not art:
        return name
    return f"{art}{name}" if art.endswith("'") else f"{art} {name}"


def strip_article(spoken: str) -> str:
    """ "l'Ufficio Anagrafe" -> "Ufficio Anagrafe": a display name from a spoken form."""
    match = re.match(r"(?i)(l'|lo |la |il |i |gli |le )(.+)", spoken.replace("\u2019", "'"))
    name = match.group(2) if match else spoken
    return name[:1].upper() + name[1:]


def identity(node, what: str):
    """(identifier, display name or None) of an office, menu or group node."""
    if node.has("id"):
        ident = node.get_str("id", pattern=IDENT, expected="lower-case letters, digits, _ or -")
        return ident, node.get_str("name", None, pattern=SPOKEN_NAME, expected=f"the {what}'s name, one line")
    name = node.get_str("name", pattern=SPOKEN_NAME, expected=f"the {what}'s name, one line")
    if re.fullmatch(IDENT, name):
        return name, None
    return slug(name), name


def display_names(settings) -> dict[str, str]:
    """``office:ID``, ``menu:ID`` and ``group:ID`` -> the display name, for the tables staff read
    (identifiers stay where something must be typed: a filter, a destination)."""
    names = {}
    for kind, items in (("office", settings.offices), ("menu", settings.menus), ("group", settings.groups)):
        for item in items:
            if getattr(item, "title", "") and item.title != item.name:
                names[f"{kind}:{item.name}"] = item.title
    return names


def office_shown(office: str, names: dict[str, str] | None) -> str:
    """An office identifier as a table shows it: its display name when there is one."""
    return (names or {}).get(f"office:{office}", office)


def route_shown(route: str, names: dict[str, str] | None) -> str:
    """A stored route (``line:fxo3>menu:polizia>office:pm_sinistri``) with display names."""
    if not names or not route:
        return route
    steps = []
    for step in route.split(">"):
        kind, colon, target = step.partition(":")
        if colon and kind == "voicemail":
            step = f"{kind}:{names.get(f'office:{target}', target)}"
        elif colon and f"{kind}:{target}" in names:
            step = f"{kind}:{names[f'{kind}:{target}']}"
        elif not colon and f"group:{step}" in names:
            step = names[f"group:{step}"]
        steps.append(step)
    return ">".join(steps)
