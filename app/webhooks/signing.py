"""Standard Webhooks signatures (https://www.standardwebhooks.com), by its own package: a
secret `whsec_<base64 of 24 random bytes>`; each message signed as
`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the secret's bytes."""

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook as Signer

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def headers(secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The headers that carry a message's id, time and signature, and its content type."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Signer(secret).sign(message_id, at, body),
    }
