"""Event routing and the handlers: review a PR, close a PR, publish, state, record."""
