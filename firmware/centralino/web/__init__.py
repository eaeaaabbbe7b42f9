"""centralino's web interface: the staff's pages, the wallboard and the citizens' ticket page.

A separate service (``centralino web``, ``systemd/centralino-web.service``) that speaks to the
daemon only through its control socket and event stream; see ``server.py`` for how it starts and
``app.py`` for what every page shares.
"""
