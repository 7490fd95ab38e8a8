"""What the pages and the API read, straight from the tables, as plain dicts (JSON-ready); one module per feature.

Every per-user function takes the user's id and returns only that user's rows; ``channels.channel_visible``
treats a channel that is neither owned by nor shared with the user as absent (NotFound).
"""
