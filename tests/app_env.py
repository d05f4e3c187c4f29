"""The environment of a webhook App in the tests (a made-up key and secret)."""

from __future__ import annotations

SECRET = "webhook-test-secret"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----"


ENV = {
    "GITHUB_APP_ID": "31337",
    "GITHUB_APP_PRIVATE_KEY": PEM.replace("\n", "\\n"),
    "GITHUB_WEBHOOK_SECRET": SECRET,
    "MLFLOW_TRACKING_URI": "http://mlflow.internal:5000",
}
