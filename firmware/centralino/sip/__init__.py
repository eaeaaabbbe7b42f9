"""SIP: the trunk to the municipal PBX, the registrar for desk phones, and their channels.

Signalling is sippy's (RFC 3261 transactions and dialogs) running in its own thread; everything
the switchboard sees happens on the asyncio loop, through ``stack.SipStack``'s two bridges.
"""
