"""Payload encryption: the key ring, the AES-GCM payload codec and the codec server."""
