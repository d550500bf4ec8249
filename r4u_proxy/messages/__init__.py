"""Messages in one canonical shape per provider family, and their hashes (docs/sessions.md).

`canonical` defines the shape and `message_hash`'s input; `hashing` hashes a request's messages, with the
prefix chain, incrementally across the turns of a conversation.
"""
