"""Webhooks from the media server, in one place: receive → parse → store → apply.

``receive`` is the HTTP endpoint (authenticate, store raw, enqueue, answer 202); ``parse`` reads a
Jellyfin/Emby payload into a ``ParsedEvent``; ``store`` keeps events in ``webhook_event`` and queues
their processing; ``apply`` turns one stored event into watch state through the ``MediaServer``;
``sweeper`` re-queues events whose job was lost. The arq job wrappers live in ``sidecar.jobs.webhook_jobs``.
"""
