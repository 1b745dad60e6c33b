"""The live rooms: each plugs one domain (orders, disputes) into the transport."""
