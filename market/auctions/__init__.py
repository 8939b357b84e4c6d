"""Auctions: bids in every pricing mode (fixed price, English, sealed, reverse), their rules
and the bid log. ``bidding`` has the operations (place, withdraw, activate), ``rules`` the pure
rules and the bid state machine, ``auction`` the lot's locked auction row and the deposit hook,
``query`` the reading side (leader, reserve, what a viewer may see). Closing a lot and making
the deal live above, in ``deals``, which may call this package, never the reverse — except
``requests`` (free transfer requests: accepting one makes the deal at once, so it calls
``deals``; nothing in ``deals`` imports it).
"""
