"""Sessions: which agent run or conversation each call belongs to (docs/sessions.md).

`explicit` reads the ids clients send, `tracker` infers the rest in the writer process by message-prefix
hashing (r4u_proxy/messages), `context` splits each call's input tokens, `query` reads sessions back for
`r4u sessions` and the UI, `schema` is the migration.
"""
