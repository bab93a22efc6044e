"""Mail to readers: settings, messages, the transport, announcements and the outbox."""
